"""The rule engine: facts → verdict, with a trace of every rule and condition, in three-valued logic.

Decisions are taken in verdict order (co-production, mode, recommendation, value); each decision's rules
are tried in order and the first whose conditions are true decides (the last rule is the outcome when none
is). Notes that hold add definitions and considerations. When a decision stays undecided, the one question
asked is the one whose possible answers would settle the most, found by replaying the rules.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, Field

from assistant.models import Verdict
from assistant.rules.extraction import FactReading, FactState
from assistant.rules.schema import (CompiledRule, Condition, DecisionSpec, FactValue, Leaf, RuleSet,
                                    condition_facts, truth)

Truth = Literal["true", "false", "unknown"]
WORDS: dict[bool | None, Truth] = {True: "true", False: "false", None: "unknown"}
BROAD_DEFINITION_NOTE = "note_broad_definitions"


class ConditionTrace(BaseModel):
    fact: str
    expected: FactValue
    actual: FactValue | None
    origin: str | None  # stated | inferred | answered | default | derived (a decision taken earlier)
    span: str | None = None
    detector: str | None = None
    result: Truth
    path: str  # where the condition sits, e.g. "all/any"


class Evidence(BaseModel):
    document: str
    locator: str
    quote: str
    chunk_id: str


class TraceEntry(BaseModel):
    rule: str
    decision: str
    kind: Literal["rule", "note"]
    result: Truth
    fired: bool  # decided the verdict (rules) or holds (notes)
    conclusion: str
    value: str | None
    conditions: list[ConditionTrace]
    source: Evidence
    explanation: str


class Note(BaseModel):
    """A line for the answer: why, what to weigh, or a definition, with the passage it rests on."""

    rule: str
    conclusion: str
    kind: str
    text: str
    evidence: str  # chunk id


class Change(BaseModel):
    """A fact not stated that would change the advice if it held."""

    fact: str
    value: FactValue
    decision: str
    becomes: str
    text: str
    evidence: str


class ClarifyingQuestion(BaseModel):
    fact: str
    question: str
    evidence: str


class Decision(BaseModel):
    verdict: Verdict
    trace: list[TraceEntry]
    fired: list[str]
    reasons: list[Note] = Field(default_factory=list)
    considerations: list[Note] = Field(default_factory=list)
    definition_notes: list[Note] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list)
    follow_up: list[ClarifyingQuestion] = Field(default_factory=list)
    broad_definition: bool = False  # citizens decide or design: broad definitions would call it co-production


def _readings(ruleset: RuleSet, facts: FactState) -> dict[str, FactReading]:
    """Every fact's reading, the rule set's defaults filling what the state lacks."""
    readings = dict(facts.facts)
    for fact in ruleset.facts.values():
        if fact.id not in readings and fact.default is not None:
            readings[fact.id] = FactReading(fact.default, "default")
    return readings


def _decide(ruleset: RuleSet, values: dict[str, FactValue | None]) -> dict[str, tuple[str | None, str | None]]:
    """The verdict alone, fast: decision → (value, deciding rule id); ``values`` gains the decisions."""
    outcome = {}
    for spec in ruleset.decisions:
        if truth(spec.applies_when, values) is not True:
            outcome[spec.name] = (None, None)
            values[spec.name] = None
            continue
        rule = next(r for r in spec.rules if truth(r.condition, values) is True)
        outcome[spec.name] = (rule.rule.then.value, rule.id)
        values[spec.name] = rule.rule.then.value
    return outcome


def _conditions(node: Condition | None, readings: dict[str, FactReading], values: dict, path: str = "") -> list:
    if node is None:
        return []
    if isinstance(node, Leaf):
        reading = readings.get(node.fact)
        actual = values.get(node.fact)
        origin = reading.origin if reading else ("derived" if node.fact in values and actual is not None else None)
        return [ConditionTrace(fact=node.fact, expected=node.value, actual=actual, origin=origin,
                               span=reading.span if reading else None, detector=reading.detector if reading else None,
                               result=WORDS[truth(node, values)], path=path.strip("/"))]
    return [c for item in node.items for c in _conditions(item, readings, values, f"{path}/{node.op}")]


def _render(rule: CompiledRule, readings: dict[str, FactReading]) -> str:
    """The explanation with each ``{fact}`` shown as the words that set it."""
    def shown(fact_id: str) -> str:
        reading = readings.get(fact_id)
        if reading is None:
            return "not known"
        if reading.span:
            return f"‘{reading.span}’"
        return {"answered": "your answer", "inferred": "inferred from the description",
                "default": "not mentioned"}.get(reading.origin, str(reading.value))
    fields = [f for _, f, _, _ in string.Formatter().parse(rule.rule.explanation) if f]
    return rule.rule.explanation.strip().format_map({f: shown(f) for f in fields})


def _entry(rule: CompiledRule, result: bool | None, fired: bool, readings, values) -> TraceEntry:
    src = rule.rule.source
    return TraceEntry(
        rule=rule.id, decision=rule.decision, kind=rule.kind, result=WORDS[result], fired=fired,
        conclusion=rule.rule.then.conclusion, value=rule.rule.then.value,
        conditions=_conditions(rule.condition, readings, values),
        source=Evidence(document=src.document, locator=src.locator, quote=src.quote, chunk_id=src.chunk_id),
        explanation=_render(rule, readings))


def _note(rule: CompiledRule, kind: str, readings) -> Note:
    return Note(rule=rule.id, conclusion=rule.rule.then.conclusion, kind=kind,
                text=_render(rule, readings), evidence=rule.rule.source.chunk_id)


def _question(ruleset: RuleSet, spec: DecisionSpec, readings: dict,
              asked: list[str]) -> ClarifyingQuestion | None:
    """The question whose answers would settle ``spec`` most often, by replaying the rules."""
    best, best_score = None, None
    for position, fact_id in enumerate(ruleset.askable_facts()):
        reading = readings.get(fact_id)
        if reading is not None and reading.origin != "default":
            continue
        fact = ruleset.facts[fact_id]
        outcomes = set()
        for value in fact.domain:
            if reading is not None and value == reading.value:
                continue
            trial = {**{k: r.value for k, r in readings.items()}, fact_id: value}
            decided = _decide(ruleset, trial)[spec.name][0]
            if decided != spec.undecided:
                outcomes.add(decided)
        score = (fact_id not in asked, len(outcomes) > 0, len(outcomes), -position)
        if best_score is None or score > best_score:
            best, best_score = fact, score
    if best is None:
        return None
    return ClarifyingQuestion(fact=best.id, question=" ".join(best.question.split()), evidence=best.source.chunk_id)


def _changes(ruleset: RuleSet, readings: dict, verdict: dict) -> list[Change]:
    """Facts left at their default that would change the mode or the recommendation."""
    changes = []
    for spec in ruleset.decisions[1:]:
        if verdict.get(spec.name) is None or spec.name == "value":
            continue
        facts = [f for r in spec.rules for f in condition_facts(r.condition) if f in ruleset.facts]
        for fact_id in dict.fromkeys(facts):
            reading = readings.get(fact_id)
            if reading is not None and reading.origin != "default":
                continue
            for value in ruleset.facts[fact_id].domain:
                if reading is not None and value == reading.value:
                    continue
                trial = {**{k: r.value for k, r in readings.items()}, fact_id: value}
                becomes = _decide(ruleset, trial)[spec.name][0]
                if becomes != verdict[spec.name]:
                    fact = ruleset.facts[fact_id]
                    label = becomes.replace("_", " ")
                    changes.append(Change(fact=fact_id, value=value, decision=spec.name, becomes=becomes,
                                          text=f"If {fact.meaning}, the {spec.name} would be: {label}.",
                                          evidence=fact.source.chunk_id))
    return changes


def evaluate(ruleset: RuleSet, facts: FactState) -> Decision:
    """Run every decision over the facts; same input, same output, same order."""
    readings = _readings(ruleset, facts)
    values: dict[str, FactValue | None] = {k: r.value for k, r in readings.items()}
    verdict: dict[str, str | None] = {}
    trace, fired, reasons, considerations, definitions = [], [], [], [], []
    for spec in ruleset.decisions:
        if truth(spec.applies_when, values) is not True:
            verdict[spec.name] = values[spec.name] = None
            continue
        decided = None
        for rule in spec.rules:
            result = truth(rule.condition, values)
            fires = decided is None and result is True
            if fires:
                decided = rule
                fired.append(rule.id)
                reasons.append(_note(rule, "reason", readings))
            trace.append(_entry(rule, result, fires, readings, values))
        verdict[spec.name] = values[spec.name] = decided.rule.then.value
        for note in spec.notes:
            result = truth(note.condition, values)
            trace.append(_entry(note, result, result is True, readings, values))
            if result is True:
                fired.append(note.id)
                (definitions if note.rule.kind == "definition" else considerations).append(
                    _note(note, note.rule.kind, readings))
    follow_up = []
    for spec in ruleset.decisions:
        if spec.undecided is not None and verdict.get(spec.name) == spec.undecided:
            question = _question(ruleset, spec, readings, facts.asked)
            follow_up = [question] if question else []
            break
    return Decision(
        verdict=Verdict(**verdict), trace=trace, fired=fired, reasons=reasons, considerations=considerations,
        definition_notes=definitions, changes=_changes(ruleset, readings, verdict), follow_up=follow_up,
        broad_definition=any(n.conclusion == BROAD_DEFINITION_NOTE for n in definitions))
