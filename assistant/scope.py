"""Deterministic scope check and question type (out of scope / general concept / a situation)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
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

    def __init__(self, path: Path):
        self.config = yaml.safe_load(path.read_text(encoding="utf-8"))

    def _compiled(self, key: str) -> list[re.Pattern]:
        return [re.compile(p, re.IGNORECASE) for p in self.config[key]]

    @cached_property
    def domain(self) -> list[re.Pattern]:
        return self._compiled("domain_terms")

    @cached_property
    def off_topic(self) -> list[re.Pattern]:
        return self._compiled("out_of_scope_patterns")

    @cached_property
    def other_requests(self) -> list[re.Pattern]:
        return self._compiled("other_requests")

    @cached_property
    def coproduction_terms(self) -> list[re.Pattern]:
        return self._compiled("coproduction_terms")

    @cached_property
    def concept(self) -> list[re.Pattern]:
        return self._compiled("concept_questions")

    @cached_property
    def situation(self) -> list[re.Pattern]:
        return self._compiled("situation_markers")

    @cached_property
    def general(self) -> list[re.Pattern]:
        return self._compiled("general_patterns")

    def reply(self, kind: str) -> str:
        return " ".join(self.config["replies"][kind].split())

    def is_foreign(self, text: str) -> bool:
        words = WORD.findall(text.lower())
        foreign = sum(w in self.config["foreign_stopwords"] for w in words)
        english = sum(w in self.config["english_stopwords"] for w in words)
        return len(words) >= 4 and foreign >= 2 and foreign > 2 * english

    def classify(self, question: str, best_similarity: float, stated_facts: int) -> ScopeDecision:
        """Decide the kind of question from patterns, the best passage similarity and the facts stated."""
        text = normalise(question)
        if self.is_foreign(text):
            return ScopeDecision("other_language", "the question is not in English")
        if not any(p.search(text) for p in self.coproduction_terms):
            other = next((p.pattern for p in self.other_requests if p.search(text)), None)
            if other is not None:
                return ScopeDecision("out_of_scope", f"a request for something else ({other})")
        domain = next((p.pattern for p in self.coproduction_terms + self.domain if p.search(text)), None)
        if domain is None:
            off = next((p.pattern for p in self.off_topic if p.search(text)), None)
            if off is not None:
                return ScopeDecision("out_of_scope", f"off-topic request ({off})")
            if best_similarity < self.config["min_similarity"] and stated_facts == 0:
                return ScopeDecision("out_of_scope",
                                     f"no domain term and best passage similarity {best_similarity:.2f}")
        if stated_facts <= 1 and any(p.search(text) for p in self.concept):
            return ScopeDecision("general", "a question about the concept or the sources")
        describes = any(p.search(text) for p in self.situation)
        asks_concept = any(p.search(text) for p in self.general)
        if describes or (stated_facts >= 2 and not asks_concept) or (stated_facts >= 3):
            return ScopeDecision("situation", f"describes a situation ({stated_facts} facts stated)")
        return ScopeDecision("general", "a question about the concept")
