"""The claims an answer must never make: each is detected in its own wording, and the engine's own texts
(explanations, considerations, changes, questions) never make one."""

from __future__ import annotations

import random

import pytest

from assistant.index.lexical import normalise
from assistant.rules import FactState, evaluate


def _made(ruleset, text: str) -> list[str]:
    text = normalise(text)
    return [cid for cid, patterns in ruleset.claim_patterns.items() if any(p.search(text) for p in patterns)]


@pytest.mark.parametrize("sentence, claim", [
    ("Co-production is mainly a way to cut costs.", "coproduction_is_cost_cutting"),
    ("Co-production is just a cost-saving measure.", "coproduction_is_cost_cutting"),
    ("Co-production requires citizens and staff to work at the same time.", "coproduction_requires_simultaneity"),
    ("Outsourcing is a form of co-production.", "contractors_are_coproducers"),
    ("Passive recipients are co-producing the service.", "passive_recipients_coproduce"),
    ("Co-production is always optional.", "coproduction_always_optional"),
    ("People only co-produce for money.", "coproducers_only_motivated_by_money"),
])
def test_claims_are_detected(ruleset, sentence, claim):
    assert claim in _made(ruleset, sentence)


def test_every_claim_detects_its_own_statement_and_not_its_correction(ruleset):
    for claim in ruleset.claims:
        assert claim.id in _made(ruleset, claim.claim), claim.id
        assert _made(ruleset, claim.correction) == [], claim.id


def test_the_engine_never_makes_a_rejected_claim(ruleset):
    rng = random.Random(11)
    texts = set()
    for _ in range(300):
        values = {f.id: rng.choice(f.domain) for f in ruleset.facts.values() if rng.random() < 0.3}
        decision = evaluate(ruleset, FactState.from_values(values))
        texts |= {e.explanation for e in decision.trace} | {c.text for c in decision.changes}
        texts |= {q.question for q in decision.follow_up}
    assert texts
    assert [t for t in texts if _made(ruleset, t)] == []
