"""The fixed scoring of issue 8.

- ``in_scope_accuracy`` over all cases;
- ``coproduction_accuracy`` over the cases expected in scope, where an expected ``null`` is met only by ``null``;
- ``mode_accuracy`` and ``recommendation_accuracy`` over the cases whose expectation is not null;
- ``cite_hit_rate`` over the cases with phrases: every phrase found (case-insensitive; whitespace and curly quotes
  normalised) in the text of some citation;
- ``citation_validity`` over all citations of all answers: the id exists, the text equals the stored passage, the
  marker appears in the answer; a marker in the answer without a citation counts as one invalid citation;
- ``latency_ms_p50`` / ``latency_ms_p95`` of the advisor per question (the case's own question).

A metric whose denominator is empty is ``None`` (not measured).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.evaluation.dataset import Case
from assistant.models import Answer, Chunk

MARKER = re.compile(r"\[(\d+)\]")
ACCURACY_METRICS = ("in_scope_accuracy", "coproduction_accuracy", "mode_accuracy", "recommendation_accuracy",
                    "cite_hit_rate", "citation_validity")
LATENCY_METRICS = ("latency_ms_p50", "latency_ms_p95")
METRICS = ACCURACY_METRICS + LATENCY_METRICS
VERDICT_FIELDS = ("in_scope", "coproduction", "mode", "recommendation")
FIELD_METRIC = {"in_scope": "in_scope_accuracy", "coproduction": "coproduction_accuracy",
                "mode": "mode_accuracy", "recommendation": "recommendation_accuracy"}

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
                         "\u00ab": '"', "\u00bb": '"'})
_SPACE = re.compile(r"\s+")

Lookup = Callable[[str], Chunk | None]


def normalise(text: str) -> str:
    """Case-folded, curly quotes made straight, runs of whitespace (incl. non-breaking) made one space."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _SPACE.sub(" ", text).strip().casefold()


@dataclass
class CitationCheck:
    marker: int | None
    id: str | None
    valid: bool
    problem: str = ""


def check_citations(answer: Answer, lookup: Lookup) -> list[CitationCheck]:
    """One entry per citation, plus one invalid entry per marker in the text that no citation carries."""
    used = {int(n) for n in MARKER.findall(answer.answer)}
    results = []
    for citation in answer.citations:
        stored = lookup(citation.id)
        if stored is None:
            problem = "no such passage"
        elif citation.text != stored.text:
            problem = "text differs from the stored passage"
        elif citation.marker not in used:
            problem = f"marker [{citation.marker}] not in the answer"
        else:
            problem = ""
        results.append(CitationCheck(citation.marker, citation.id, not problem, problem))
    for marker in sorted(used - {c.marker for c in answer.citations}):
        results.append(CitationCheck(marker, None, False, f"marker [{marker}] without a citation"))
    return results


def cite_hit(phrases: Iterable[str], answer: Answer) -> tuple[bool, list[str]]:
    """(every phrase stands in some citation's text, the phrases that were not found)."""
    texts = [normalise(c.text) for c in answer.citations]
    missing = [p for p in phrases if not any(normalise(p) in t for t in texts)]
    return not missing, missing


def verdict_of(answer: Answer | dict | None) -> dict[str, Any]:
    """The four scored fields of an answer (all None when there is no answer)."""
    if answer is None:
        return dict.fromkeys(VERDICT_FIELDS)
    if isinstance(answer, dict):
        verdict = answer.get("verdict") or {}
        return {"in_scope": answer.get("in_scope"), **{f: verdict.get(f) for f in VERDICT_FIELDS[1:]}}
    return {"in_scope": answer.in_scope, "coproduction": answer.verdict.coproduction,
            "mode": answer.verdict.mode, "recommendation": answer.verdict.recommendation}


def applicable(case: Case) -> list[str]:
    """The accuracy metrics this case counts towards."""
    e = case.expect
    names = ["in_scope_accuracy"]
    if e.in_scope:
        names.append("coproduction_accuracy")
    if e.mode is not None:
        names.append("mode_accuracy")
    if e.recommendation is not None:
        names.append("recommendation_accuracy")
    if e.cite_contains:
        names.append("cite_hit_rate")
    names.append("citation_validity")
    return names


@dataclass
class CaseScore:
    """The scoring of one case: ``passed`` per applicable metric, plus what the aggregates need."""

    case_id: str
    split: str
    passed: dict[str, bool]
    citations: list[CitationCheck] = field(default_factory=list)
    missing_phrases: list[str] = field(default_factory=list)
    latency_ms: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(self.passed.values())


def score_case(case: Case, answer: Answer | None, lookup: Lookup, error: str | None = None) -> CaseScore:
    """Score one case; ``answer`` None (with ``error``) when the advisor failed on it: every metric fails."""
    names = applicable(case)
    if answer is None:
        return CaseScore(case.id, case.split, dict.fromkeys(names, False), error=error or "no answer")
    e, got = case.expect, verdict_of(answer)
    passed: dict[str, bool] = {"in_scope_accuracy": got["in_scope"] == e.in_scope}
    for name in ("coproduction", "mode", "recommendation"):
        if FIELD_METRIC[name] in names:
            passed[FIELD_METRIC[name]] = got[name] == getattr(e, name)
    missing: list[str] = []
    if "cite_hit_rate" in names:
        passed["cite_hit_rate"], missing = cite_hit(e.cite_contains, answer)
    checks = check_citations(answer, lookup)
    passed["citation_validity"] = all(c.valid for c in checks)
    return CaseScore(case.id, case.split, passed, checks, missing, answer.latency_ms, error)


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def aggregate(scores: list[CaseScore]) -> tuple[dict[str, float | None], dict[str, dict[str, int]]]:
    """(metrics, counts): each accuracy metric as passed / total (None when total is 0), the latencies."""
    metrics: dict[str, float | None] = {}
    counts: dict[str, dict[str, int]] = {}
    for name in ACCURACY_METRICS:
        if name == "citation_validity":
            checks = [c for s in scores for c in s.citations]
            total, good = len(checks), sum(c.valid for c in checks)
        else:
            results = [s.passed[name] for s in scores if name in s.passed]
            total, good = len(results), sum(results)
        counts[name] = {"passed": good, "total": total}
        metrics[name] = round(good / total, 4) if total else None
    latencies = [s.latency_ms for s in scores if s.latency_ms is not None]
    metrics["latency_ms_p50"] = percentile(latencies, 50)
    metrics["latency_ms_p95"] = percentile(latencies, 95)
    counts["cases"] = {"passed": sum(s.ok for s in scores), "total": len(scores)}
    return metrics, counts


def missed_thresholds(metrics: dict[str, float | None], thresholds: dict[str, float]) -> list[str]:
    """One line per threshold not met (a metric that could not be measured misses its threshold)."""
    lines = []
    for name, minimum in thresholds.items():
        value = metrics.get(name)
        if value is None:
            lines.append(f"{name}: not measured (no case counts towards it), minimum {minimum:g}")
        elif value < minimum:
            lines.append(f"{name}: {value:.4f} < minimum {minimum:g}")
    return lines
