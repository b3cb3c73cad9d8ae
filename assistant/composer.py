"""The offline composer: a deterministic, cited answer for a manager, from templates in ``prompts/``.

It never invents content: reasons come from the rules that fired (each with the passage it rests on),
general answers quote sentences verbatim from retrieved passages, and every ``[n]`` is allocated here,
so each marker points at a stored passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.corpus.bibliography import BibEntry
from assistant.index.lexical import tokenize
from assistant.models import SearchHit, Verdict

SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+[’”\"']?|$)")
GENERAL_PASSAGES = 3  # passages quoted for a general question
TOP_SENTENCES = 3  # sentences quoted from the best passage
GENERAL_RULES = 2  # rules of the rule set shown for a general question


@dataclass
class Reason:
    """One line of the answer and the passages (chunk ids) it rests on."""

    text: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class ComposeInput:
    """Everything the composer (or an LLM draft) may use."""

    question: str
    kind: str  # "situation" or "general"
    verdict: Verdict
    reasons: list[Reason] = field(default_factory=list)
    considerations: list[Reason] = field(default_factory=list)
    changes: list[Reason] = field(default_factory=list)
    definition_notes: list[Reason] = field(default_factory=list)
    follow_up: list[str] = field(default_factory=list)
    passages: list[SearchHit] = field(default_factory=list)
    anchors: dict[str, list[str]] = field(default_factory=dict)  # passage id → quotes its answer must include
    reading: list[BibEntry] = field(default_factory=list)


class Markers:
    """Allocates ``[n]`` markers to chunk ids in order of first use."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def __call__(self, chunk_ids: list[str]) -> str:
        marks = []
        for chunk_id in chunk_ids:
            if chunk_id not in self.order:
                self.order.append(chunk_id)
            marks.append(f"[{self.order.index(chunk_id) + 1}]")
        return "".join(marks)


class Composer:
    """Builds the Markdown answer and the ordered list of cited chunk ids."""

    def __init__(self, prompts_dir: Path):
        self.templates = yaml.safe_load((prompts_dir / "composer.yaml").read_text(encoding="utf-8"))

    def compose(self, data: ComposeInput) -> tuple[str, list[str]]:
        marks = Markers()
        if data.kind == "general":
            blocks = self._general(data, marks)
        else:
            blocks = self._situation(data, marks)
        if data.reading:
            blocks.append(self.templates["sections"]["reading"] + "\n"
                          + "\n".join(f"- {entry.formatted()}" for entry in data.reading))
        return "\n\n".join(b for b in blocks if b).strip(), marks.order

    # -- situations -----------------------------------------------------------------------------
    def _situation(self, data: ComposeInput, marks: Markers) -> list[str]:
        t, v = self.templates, data.verdict
        opening = [t["verdict"]["coproduction"][v.coproduction]]
        if v.mode:
            opening.append(t["verdict"]["mode"][v.mode])
        if v.recommendation:
            opening.append(t["verdict"]["recommendation"][v.recommendation])
        blocks = [" ".join(opening)]
        if data.reasons:
            lines = [f"- {_sentence(r.text)} {marks(r.evidence)}".rstrip() for r in data.reasons]
            if v.value:
                lines.append(f"- {t['verdict']['value'][v.value]}")
            blocks.append(t["sections"]["why"] + "\n" + "\n".join(lines))
        blocks.append(self._bullets(t["sections"]["weigh"], data.considerations, marks))
        blocks.append(self._bullets(t["sections"]["change"], data.changes, marks))
        if data.definition_notes:
            notes = " ".join(f"{_sentence(n.text)} {marks(n.evidence)}".rstrip() for n in data.definition_notes)
            blocks.append(f"{t['sections']['definitions']}\n{notes}")
        if data.follow_up:
            blocks.append(t["sections"]["clarify"].format(question=data.follow_up[0]))
        return blocks

    @staticmethod
    def _bullets(title: str, items: list[Reason], marks: Markers) -> str:
        if not items:
            return ""
        return title + "\n" + "\n".join(f"- {_sentence(i.text)} {marks(i.evidence)}".rstrip() for i in items)

    # -- general questions ----------------------------------------------------------------------
    def _general(self, data: ComposeInput, marks: Markers) -> list[str]:
        """Quote the best sentences of the best passages verbatim (more from the best one).

        A passage the rule set's topics chose for this question always shows the sentences of its quotes; when it
        leads the answer, its other sentences fill the quote even if they share no word with the question (the
        topic, not the wording, says the passage answers it).
        """
        t = self.templates["sections"]
        lines, sources = [], [h for h in data.passages if h.kind == "source"]
        for rank, hit in enumerate(sources[:GENERAL_PASSAGES]):
            anchors = data.anchors.get(hit.id, [])
            min_overlap = (0 if anchors else 1) if rank == 0 else 2
            sentences = best_sentences(data.question, hit.text, TOP_SENTENCES if rank == 0 else 1,
                                       min_overlap=min_overlap, anchors=anchors)
            if sentences:
                lines.append(f"> {' '.join(sentences)} {marks([hit.id])}")
        rules = []
        for hit in data.passages:
            if hit.kind == "rule" and hit.evidence_id and len(rules) < GENERAL_RULES:
                conclusion, explanation = (hit.text.split("\n") + [""])[:2]
                rule = t["rule_cited"].format(rule_id=hit.id.split("#", 1)[-1], conclusion=conclusion.rstrip("."),
                                              explanation=explanation)
                rules.append(f"- {rule} {marks([hit.id, hit.evidence_id])}")
        if rules:
            lines.append(t["general_rules"] + "\n" + "\n".join(rules))
        if not lines:
            return [t["general_none"]]
        return [t["general_intro"]] + lines


def best_sentences(question: str, text: str, limit: int, min_overlap: int, anchors: Sequence[str] = ()) -> list[str]:
    """Up to ``limit`` sentences of ``text`` sharing most words with the question, verbatim, in text order.

    Sentences that hold part of an ``anchors`` quote come first, whatever their overlap and the limit.
    """
    wanted = set(tokenize(question))
    spans = [(start, start + len(quote)) for quote in anchors if (start := text.find(quote)) >= 0]
    forced, scored = [], []
    for position, match in enumerate(SENTENCE.finditer(text)):
        sentence = match.group(0).strip()
        if any(match.start() < end and start < match.end() for start, end in spans):
            forced.append((position, sentence))
            continue
        overlap = len(wanted & set(tokenize(sentence)))
        if overlap >= min_overlap and len(sentence.split()) >= 5:
            scored.append((overlap, position, sentence))
    chosen = forced + [(p, s) for _, p, s in sorted(scored, key=lambda item: (-item[0], item[1]))[:limit - len(forced)]]
    return [sentence for _, sentence in sorted(chosen)]


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "?", "!", ":")) else text + "."
