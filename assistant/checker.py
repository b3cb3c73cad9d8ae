"""The answer checker: small named validators, each recorded on the answer. It fails closed.

A validator returns (passed, detail). One that raises counts as failed, with the error as detail,
so a broken check can never let an answer through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.index.lexical import normalise
from assistant.models import Check, Chunk, Citation, Verdict

MARKER = re.compile(r"\[(\d+)\]")
QUOTED = re.compile(r"“([^”]{10,}?)”|\"([^\"]{10,}?)\"")


@dataclass(frozen=True)
class RejectedClaim:
    """A claim an answer must never make, with the patterns that detect it."""

    id: str
    patterns: tuple[re.Pattern, ...]
    correction: str


@dataclass
class CheckContext:
    """What an answer is checked against."""

    verdict: Verdict
    in_scope: bool
    kind: str
    allowed_ids: set[str]
    lookup: Callable[[str], Chunk | None]
    phrases: dict
    claims: list[RejectedClaim] = field(default_factory=list)
    max_chars: int = 6000


def load_verdict_phrases(prompts_dir: Path) -> dict:
    raw = yaml.safe_load((prompts_dir / "verdict_phrases.yaml").read_text(encoding="utf-8"))
    return {
        field_name: {value: {key: [re.compile(p, re.IGNORECASE) for p in pats] for key, pats in spec.items()}
                     for value, spec in values.items()}
        for field_name, values in raw.items()
    }


def states_verdict(answer: str, citations: list[Citation], ctx: CheckContext) -> tuple[bool, str]:
    """The answer states each verdict field the engine set, and nothing contradicting it."""
    if ctx.kind != "situation":
        return True, "no verdict to state"
    text = normalise(answer)
    problems = []
    for field_name, value in ctx.verdict.model_dump().items():
        if value is None or field_name not in ctx.phrases:
            continue
        spec = ctx.phrases[field_name][value]
        if not any(p.search(text) for p in spec["states"]):
            problems.append(f"does not state {field_name}={value}")
        bad = next((p.pattern for p in spec.get("contradicts", []) if p.search(text)), None)
        if bad:
            problems.append(f"contradicts {field_name}={value} (matches {bad!r})")
    return not problems, "; ".join(problems) or "states the engine's verdict"


def markers_resolve(answer: str, citations: list[Citation], ctx: CheckContext) -> tuple[bool, str]:
    """Every [n] has a citation and every citation is used."""
    used = {int(n) for n in MARKER.findall(answer)}
    cited = {c.marker for c in citations}
    problems = []
    if used - cited:
        problems.append(f"markers without a citation: {sorted(used - cited)}")
    if cited - used:
        problems.append(f"citations never used: {sorted(cited - used)}")
    if len(cited) != len(citations):
        problems.append("two citations share a marker")
    return not problems, "; ".join(problems) or f"{len(used)} markers, all resolved"


def citations_exist(answer: str, citations: list[Citation], ctx: CheckContext) -> tuple[bool, str]:
    """Every citation names a stored passage and carries its exact text."""
    problems = []
    for c in citations:
        stored = ctx.lookup(c.id)
        if stored is None:
            problems.append(f"[{c.marker}] {c.id}: no such passage")
        elif stored.text != c.text:
            problems.append(f"[{c.marker}] {c.id}: text differs from the stored passage")
    return not problems, "; ".join(problems) or f"{len(citations)} citations verified"


def citations_retrieved(answer: str, citations: list[Citation], ctx: CheckContext) -> tuple[bool, str]:
    """Only passages retrieved for this question (or the evidence of its rules) are cited."""
    outside = [c.id for c in citations if c.id not in ctx.allowed_ids]
    return not outside, f"not retrieved: {outside}" if outside else "all cited passages were retrieved"


def quotes_verbatim(answer: str, citations: list[Citation], ctx: CheckContext) -> tuple[bool, str]:
    """Anything in double quotation marks stands verbatim in a cited passage."""
    corpus = [" ".join(normalise(c.text).split()) for c in citations]
    bad = []
    for match in QUOTED.finditer(answer):
        quote = " ".join(normalise(match.group(1) or match.group(2)).split()).strip(" .,;:")
        if len(quote.split()) >= 3 and not any(quote in text for text in corpus):
            bad.append(quote[:60])
    return not bad, f"not found in cited passages: {bad}" if bad else "quotations verbatim"


def no_rejected_claims(answer: str, citations: list[Citation], ctx: CheckContext) -> tuple[bool, str]:
    """The answer makes none of the claims the rule set rejects."""
    text = normalise(answer)
    made = [claim.id for claim in ctx.claims if any(p.search(text) for p in claim.patterns)]
    return not made, f"rejected claims made: {made}" if made else "no rejected claim"


def length_ok(answer: str, citations: list[Citation], ctx: CheckContext) -> tuple[bool, str]:
    size = len(answer)
    return 0 < size <= ctx.max_chars, f"{size} characters (limit {ctx.max_chars})"


def scope_respected(answer: str, citations: list[Citation], ctx: CheckContext) -> tuple[bool, str]:
    """An out-of-scope reply carries no citations and no verdict."""
    if ctx.in_scope:
        return True, "in scope"
    has_verdict = any(v is not None for v in ctx.verdict.model_dump().values())
    ok = not citations and not has_verdict and not MARKER.search(answer)
    return ok, "out of scope: no citations, no verdict" if ok else "out-of-scope reply cites or decides"


VALIDATORS = (states_verdict, markers_resolve, citations_exist, citations_retrieved,
              quotes_verbatim, no_rejected_claims, length_ok, scope_respected)


def run_checks(answer: str, citations: list[Citation], ctx: CheckContext) -> list[Check]:
    """Run every validator; an exception fails that check (fail closed)."""
    checks = []
    for validator in VALIDATORS:
        try:
            passed, detail = validator(answer, citations, ctx)
        except Exception as exc:  # noqa: BLE001 - fail closed, and say why
            passed, detail = False, f"validator error: {exc.__class__.__name__}: {exc}"
        checks.append(Check(name=validator.__name__, passed=bool(passed), detail=detail))
    return checks
