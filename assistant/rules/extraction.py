"""Deterministic fact extraction: the detectors declared in ``facts.yaml`` read a situation into facts.

Lexical detectors are regular expressions; a match is cancelled by a negation cue shortly before it in the
same clause ("not our staff but residents", "instead of our staff"). Semantic detectors compare the
question's one embedding (shared with retrieval) with prototype sentences embedded once, at construction.
Facts persist across turns: answered ≥ stated > inferred > default, and a later turn wins among equals.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import numpy as np

from assistant.index.lexical import normalise
from assistant.rules.matching import TextMatcher
from assistant.rules.schema import Fact, FactValue, RuleSet, SemanticDetector

LATER_QUESTION = re.compile(r"(?<=[.!?])(\s+)([^.!?]*\?)")  # a question after the first sentence
SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")

Origin = Literal["stated", "inferred", "answered", "default"]
RANK: dict[str, int] = {"default": 0, "inferred": 1, "stated": 2, "answered": 2}


@dataclass(frozen=True)
class FactReading:
    """A fact's value and where it came from."""

    value: FactValue
    origin: Origin
    span: str | None = None  # the text that set it
    detector: str | None = None
    turn: int = 0
    score: float | None = None  # similarity, for semantic detectors


@dataclass
class FactState:
    """What is known about the situation so far (JSON-able through ``to_dict``/``from_dict``)."""

    facts: dict[str, FactReading] = field(default_factory=dict)
    turn: int = 0
    asked: list[str] = field(default_factory=list)  # questions asked and not answered

    def get(self, fact_id: str) -> FactReading | None:
        return self.facts.get(fact_id)

    def value(self, fact_id: str) -> FactValue | None:
        reading = self.facts.get(fact_id)
        return reading.value if reading else None

    topic_cues: frozenset[str] = frozenset()  # facts read from topic words, not counted as statements

    @property
    def stated_count(self) -> int:
        """How many facts the latest turn's text stated or answered (not inferred, defaults or topic cues)."""
        return sum(1 for k, r in self.facts.items()
                   if r.origin in ("stated", "answered") and r.turn == self.turn and k not in self.topic_cues)

    def to_dict(self) -> dict:
        return {"turn": self.turn, "stated_count": self.stated_count, "asked": list(self.asked),
                "topic_cues": sorted(self.topic_cues), "facts": {k: asdict(v) for k, v in self.facts.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> FactState:
        return cls(facts={k: FactReading(**v) for k, v in data.get("facts", {}).items()},
                   turn=data.get("turn", 0), asked=list(data.get("asked", [])),
                   topic_cues=frozenset(data.get("topic_cues", [])))

    @classmethod
    def from_values(cls, values: dict[str, FactValue], origin: Origin = "stated") -> FactState:
        """A state from plain values (rule tests, replays)."""
        return cls(facts={k: FactReading(v, origin) for k, v in values.items()})


class FactExtractor:
    """Reads facts from a user's text with the rule set's detectors (deterministic)."""

    def __init__(self, ruleset: RuleSet, embeddings=None):
        self.ruleset = ruleset
        self.embeddings = embeddings
        negation = ruleset.negation
        self._cues = re.compile(r"\b(?:" + "|".join(negation.cues) + r")\b", re.IGNORECASE)
        self._breaks = re.compile(negation.clause_breaks, re.IGNORECASE)
        self._window = negation.window
        self._answers = {reply: [re.compile(p, re.IGNORECASE) for p in pats]
                         for reply, pats in ruleset.answers.items()}
        self._topic_cues = frozenset(f.id for f in ruleset.facts.values() if f.topic_cue)
        self._semantic: list[tuple[Fact, SemanticDetector, list[FactValue], np.ndarray]] = []
        if embeddings is not None:
            self._embed_prototypes()

    def _embed_prototypes(self) -> None:
        """Embed every prototype sentence once, in one batch."""
        specs, texts = [], []
        for fact in self.ruleset.facts.values():
            sem = fact.detectors.semantic
            if sem is None:
                continue
            labels = [label for label, sentences in sem.prototypes.items() for _ in sentences]
            specs.append((fact, sem, labels, len(texts)))
            texts += [s for sentences in sem.prototypes.values() for s in sentences]
        vectors = getattr(self.embeddings, "encode_cached", self.embeddings.encode)(texts)
        for fact, sem, labels, start in specs:
            matrix = vectors[start:start + len(labels)]
            self._semantic.append((fact, sem, labels, matrix))

    # -- reading one text ---------------------------------------------------------------------------
    def _negated(self, text: str, start: int, breaks: list[int]) -> bool:
        """A negation cue within ``window`` words before ``start``, in the same clause."""
        clause_start = breaks[bisect.bisect_right(breaks, start) - 1] if breaks else 0
        words = text[clause_start:start].split()[-self._window:]
        return bool(self._cues.search(" ".join(words)))

    def _without_classification_questions(self, text: str) -> str:
        """``text`` with later questions that only ask how to classify it ("Does that count?") blanked out.

        Such a question restates the manager's doubt ("Are the families doing part of the work here?"), not
        the situation: it must not set facts that the description before it does not.
        """
        def blank(match: re.Match) -> str:
            asked = match.group(2)
            if any(p.match(asked) for p in self.ruleset.classification_questions):
                return match.group(1) + " " * len(asked)
            return match.group(0)

        return LATER_QUESTION.sub(blank, text) if self.ruleset.classification_questions else text

    def _without_set_aside_sentences(self, text: str) -> str:
        """``text`` with the sentences that do not describe the situation asked about blanked out.

        "Not decided yet whether it'll be paid drivers or locals volunteering to drive" names who might do the
        work; "Meals on wheels used to be delivered by volunteers" names who did it once. Neither is who does
        it: such sentences must not read as the situation's facts (``undecided_options`` and
        ``former_arrangements`` in the facts file).
        """
        def blank(match: re.Match) -> str:
            sentence = match.group(0)
            if any(p.search(sentence) for p in self.ruleset.set_aside_sentences):
                return " " * len(sentence)
            return sentence

        return SENTENCE.sub(blank, text) if self.ruleset.set_aside_sentences else text

    def _lexical(self, text: str, turn: int) -> dict[str, FactReading]:
        text = self._without_set_aside_sentences(self._without_classification_questions(text))
        breaks = [0] + [m.end() for m in self._breaks.finditer(text)]
        matcher = TextMatcher(text, self.ruleset.scanners)
        found: dict[str, FactReading] = {}
        for fact in self.ruleset.facts.values():
            for det in fact.detectors.lexical:  # in priority order: the first detector that matches sets the fact
                match = next((m for pattern in self.ruleset.patterns[(fact.id, det.id)]
                              for m in matcher.finditer(pattern)
                              if det.negation == "ignore" or not self._negated(text, m.start(), breaks)), None)
                if match:
                    found[fact.id] = FactReading(det.value, "stated", match.group(0).strip(), det.id, turn)
                    break
        return found

    def _semantic_readings(self, vector: np.ndarray, turn: int,
                           stated: dict[str, FactReading]) -> dict[str, FactReading]:
        """Inferences for the facts the text did not state; one yields to a stated fact it names."""
        found = {}
        for fact, sem, labels, matrix in self._semantic:
            if fact.id in stated or any(stated.get(f) and stated[f].value is True for f in sem.yields_to):
                continue
            sims = matrix @ vector
            best: dict[FactValue, float] = {}
            for label, sim in zip(labels, sims.tolist()):
                best[label] = max(best.get(label, -1.0), sim)
            ranked = sorted(best.items(), key=lambda kv: -kv[1])
            (label, top), runner_up = ranked[0], (ranked[1][1] if len(ranked) > 1 else -1.0)
            if label != "none" and top >= sem.threshold and top - runner_up >= sem.margin:
                found[fact.id] = FactReading(label, "inferred", None, f"{sem.id}:{label}", turn, round(top, 3))
        return found

    def _reply(self, text: str, fact: Fact, turn: int) -> FactReading | None:
        """A bare yes/no answer to the question asked about ``fact``."""
        for reply, patterns in self._answers.items():
            match = next((m for p in patterns if (m := p.search(text))), None)
            if match:
                value = fact.answer_value(reply)
                if value is not None:
                    return FactReading(value, "answered", match.group(0).strip(" ,.!"), f"reply:{reply}", turn)
        return None

    def extract(self, text: str, previous: FactState | None = None, pending_fact: str | None = None,
                query_vector: np.ndarray | None = None) -> FactState:
        """Facts of ``text`` merged over ``previous``; ``pending_fact`` is the fact asked about last turn."""
        turn = previous.turn + 1 if previous else 1
        norm = normalise(text)
        readings = self._lexical(norm, turn)
        if self._semantic and len(readings) < len(self.ruleset.facts):
            vector = query_vector if query_vector is not None else self.embeddings.query_vector(text)
            readings = {**self._semantic_readings(np.asarray(vector, dtype=np.float32), turn, readings),
                        **readings}
        asked = list(previous.asked) if previous else []
        if pending_fact in self.ruleset.facts:
            reading = readings.get(pending_fact)
            if reading is None or reading.origin != "stated":
                reading = self._reply(norm, self.ruleset.facts[pending_fact], turn) or reading
            if reading is not None and reading.origin != "inferred":
                readings[pending_fact] = replace(reading, origin="answered")
            elif pending_fact not in asked:
                asked.append(pending_fact)
        merged = dict(previous.facts) if previous else {}
        for fact_id, reading in readings.items():
            old = merged.get(fact_id)
            if old is None or RANK[reading.origin] >= RANK[old.origin]:
                merged[fact_id] = reading
        for fact in self.ruleset.facts.values():
            if fact.id not in merged and fact.default is not None:
                merged[fact.id] = FactReading(fact.default, "default", None, None, turn)
        ordered = {f: merged[f] for f in self.ruleset.facts if f in merged}
        settled = {f for f, r in readings.items() if r.origin in ("stated", "answered")}
        return FactState(facts=ordered, turn=turn, asked=[f for f in asked if f not in settled],
                         topic_cues=self._topic_cues)
