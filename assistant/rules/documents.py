"""The rule set as retrievable documents: one per rule (``rules#<id>``) and one per fact (``facts#<id>``).

Each document states the conclusion in plain words, the explanation, when it applies and the exact
source quote it rests on; ``evidence_id`` names the source passage, so a cited rule always comes with
its evidence. Texts are deterministic, so the index's freshness logic re-embeds only edited rules.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from assistant.models import Chunk
from assistant.rules.schema import CompiledRule, Fact, RuleSet

PLACEHOLDER = re.compile(r"\s*\(\{(\w+)\}\)|\{(\w+)\}")


def _plain(name: str) -> str:
    return name.replace("_", " ")


def _condition_text(node: Any, facts: dict[str, Fact]) -> str:
    """'all/any/not' trees in words: 'A and (B or C)'."""
    if node is None:
        return "in every other case"
    if isinstance(node, dict) and len(node) == 1:
        (key, value), = node.items()
        if key in ("all", "any"):
            parts = [_condition_text(child, facts) for child in value]
            joined = (" and " if key == "all" else " or ").join(parts)
            return f"({joined})" if len(parts) > 1 else joined
        if key == "not":
            return f"not {_condition_text(value, facts)}"
        fact = facts.get(key)
        label = fact.id if fact else key
        shown = "yes" if value is True else "no" if value is False else str(value)
        return f"{label} = {shown}"
    return str(node)


def _explanation(template: str, facts: dict[str, Fact]) -> str:
    """The explanation without per-case placeholders."""
    def swap(match: re.Match) -> str:
        if match.group(1):
            return ""
        fact = facts.get(match.group(2))
        return fact.meaning if fact else _plain(match.group(2))

    return " ".join(PLACEHOLDER.sub(swap, template).split())


def rule_chunk(rule: CompiledRule, ruleset: RuleSet) -> Chunk:
    spec = rule.rule
    value = f": {_plain(spec.then.value)}" if spec.then.value else ""
    text = (f"{_plain(rule.decision).capitalize()}{value} ({_plain(spec.then.conclusion)}).\n"
            f"{_explanation(spec.explanation, ruleset.facts)}\n"
            f"Applies when: {_condition_text(spec.when, ruleset.facts)}.\n"
            f"Source ({spec.source.document}, {spec.source.locator}): “{spec.source.quote}”")
    return Chunk(id=f"rules#{spec.id}", source_id="rules", title=f"Rule {spec.id}", locator=spec.id,
                 heading=f"{_plain(rule.decision)} ({rule.kind})", start=0, end=len(text), text=text,
                 kind="rule", evidence_id=spec.source.chunk_id)


def fact_chunk(fact: Fact) -> Chunk:
    values = "yes / no" if fact.type == "boolean" else " / ".join(_plain(v) for v in fact.values or [])
    text = (f"{fact.meaning[:1].upper()}{fact.meaning[1:]} ({values}).\n"
            f"Question asked when it is not known: {' '.join(fact.question.split())}\n"
            f"Source ({fact.source.document}, {fact.source.locator}): “{fact.source.quote}”")
    return Chunk(id=f"facts#{fact.id}", source_id="facts", title=f"Fact {fact.id}", locator=fact.id,
                 heading="facts", start=0, end=len(text), text=text, kind="fact",
                 evidence_id=fact.source.chunk_id)


def ruleset_chunks(ruleset: RuleSet) -> dict[str, list[Chunk]]:
    """Chunks grouped by rule-set document: one group per decision, and one for the facts."""
    groups = {f"rules/{spec.name}": [rule_chunk(r, ruleset) for r in spec.rules + spec.notes]
              for spec in ruleset.decisions}
    groups["rules/facts"] = [fact_chunk(f) for f in ruleset.facts.values()]
    return groups


def group_hash(chunks: list[Chunk]) -> str:
    return hashlib.sha256("\n\x00".join(c.id + "\n" + c.text for c in chunks).encode("utf-8")).hexdigest()
