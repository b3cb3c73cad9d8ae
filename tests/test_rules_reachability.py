"""Every conclusion and every clarifying question of the rule set can be reached from some facts.

The fact states are drawn at random (fixed seed) over each fact's values, leaving many unset, so the
coverage comes from the rules themselves, not from hand-picked cases.
"""

from __future__ import annotations

import random

from assistant.rules import FactState, evaluate


def _explore(ruleset, draws: int = 4000):
    rng = random.Random(4)
    facts = list(ruleset.facts.values())
    askable = ruleset.askable_facts()
    conclusions, questions = set(), set()
    for _ in range(draws):
        values = {f.id: rng.choice(f.domain) for f in facts if rng.random() < 0.3}
        state = FactState.from_values(values)
        state.asked = [f for f in askable if rng.random() < 0.4]
        decision = evaluate(ruleset, state)
        conclusions |= {e.conclusion for e in decision.trace if e.fired}
        questions |= {q.fact for q in decision.follow_up}
    return conclusions, questions


def test_every_conclusion_and_question_is_reachable(ruleset):
    conclusions, questions = _explore(ruleset)
    assert set(ruleset.conclusions()) - conclusions == set()
    assert set(ruleset.askable_facts()) - questions == set()
    assert questions  # there is at least one question to ask


def test_an_unclear_verdict_always_comes_with_exactly_one_question(ruleset):
    rng = random.Random(7)
    for _ in range(300):
        values = {f.id: rng.choice(f.domain) for f in ruleset.facts.values() if rng.random() < 0.2}
        decision = evaluate(ruleset, FactState.from_values(values))
        unclear = decision.verdict.coproduction == "unclear"
        assert len(decision.follow_up) == (1 if unclear else 0)
        if decision.verdict.coproduction != "yes":
            assert decision.verdict.mode is None and decision.verdict.recommendation is None
