"""Deterministic scope check and question type (out of scope / general concept / a situation)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from assistant.index.lexical import normalise

QuestionKind = Literal["out_of_scope", "other_language", "general", "situation"]
WORD = re.compile(r"[a-zà-ÿ']+")


@dataclass(frozen=True)
class ScopeDecision:
    kind: QuestionKind
    reason: str

    @property
    def in_scope(self) -> bool:
        return self.kind in ("general", "situation")


class ScopeChecker:
    """Patterns and thresholds from ``knowledge/scope.yaml``."""

    PATTERN_LISTS = ("domain_terms", "out_of_scope_patterns", "other_requests", "coproduction_terms",
                     "concept_questions", "own_case_markers", "own_verdict_questions", "situation_markers",
                     "general_patterns")

    def __init__(self, path: Path):
        self.config = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.patterns = {key: [re.compile(p, re.IGNORECASE) for p in self.config[key]] for key in self.PATTERN_LISTS}

    def _first(self, key: str, text: str) -> str | None:
        """The first pattern of a list that the text matches, or None."""
        return next((p.pattern for p in self.patterns[key] if p.search(text)), None)

    def reply(self, kind: str) -> str:
        return " ".join(self.config["replies"][kind].split())

    def is_foreign(self, text: str) -> bool:
        words = WORD.findall(text.lower())
        foreign = sum(w in self.config["foreign_stopwords"] for w in words)
        english = sum(w in self.config["english_stopwords"] for w in words)
        return len(words) >= 4 and foreign >= 2 and foreign > 2 * english

    def classify(self, question: str, best_similarity: float, stated_facts: int,
                 topics: tuple[str, ...] = ()) -> ScopeDecision:
        """Decide the kind of question from patterns, the best passage similarity, the facts stated and the
        concept topics (``knowledge/rules/topics.yaml``) the question matches."""
        text = normalise(question)
        if self.is_foreign(text):
            return ScopeDecision("other_language", "the question is not in English")
        names_coproduction = self._first("coproduction_terms", text)
        if names_coproduction is None:
            other = self._first("other_requests", text)
            if other is not None:
                return ScopeDecision("out_of_scope", f"a request for something else ({other})")
        domain = names_coproduction or self._first("domain_terms", text)
        if domain is None:
            off = self._first("out_of_scope_patterns", text)
            if off is not None:
                return ScopeDecision("out_of_scope", f"off-topic request ({off})")
            if best_similarity < self.config["min_similarity"] and stated_facts == 0:
                return ScopeDecision("out_of_scope",
                                     f"no domain term and best passage similarity {best_similarity:.2f}")
        concept_question = self._first("concept_questions", text) is not None
        asks_verdict = self._first("own_verdict_questions", text) is not None
        if (concept_question and stated_facts <= self.config["concept_question_max_facts"]
                and not (asks_verdict and stated_facts >= self.config["own_verdict_min_facts"])):
            return ScopeDecision("general", "a question about the concept or the sources")
        own_case = self._first("own_case_markers", text) is not None
        if names_coproduction and stated_facts == 0 and not own_case:
            return ScopeDecision("general", "names co-production but no situation or case of the asker's")
        if topics and stated_facts <= self.config["topic_question_max_facts"] and not own_case:
            return ScopeDecision("general", f"asks about a topic of the sources ({topics[0]}), no case of the asker's")
        describes = self._first("situation_markers", text) is not None
        general_wording = self._first("general_patterns", text) is not None
        if topics and general_wording and not describes and not own_case:
            return ScopeDecision("general", f"a general question on a topic of the sources ({topics[0]})")
        if describes or (stated_facts >= 2 and not general_wording) or (stated_facts >= 3):
            return ScopeDecision("situation", f"describes a situation ({stated_facts} facts stated)")
        return ScopeDecision("general", "a question about the concept")
