"""The OpenFisca-style rule cases of ``tests/rules/*.yaml``: input facts → verdict, deciding rules, notes, question."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.rules import FactState, evaluate

CASES_DIR = Path(__file__).parent / "rules"


def _cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            yield pytest.param(case, id=f"{path.stem}: {case['name']}")


@pytest.mark.parametrize("case", list(_cases()))
def test_rule_case(ruleset, case):
    state = FactState.from_values(case["input"], origin=case.get("origin", "stated"))
    state.asked = list(case.get("asked", []))
    decision = evaluate(ruleset, state)
    expected = case["output"]

    verdict = {k: v for k, v in decision.verdict.model_dump().items() if v is not None}
    assert verdict == expected["verdict"]
    deciding = [e.rule for e in decision.trace if e.fired and e.kind == "rule"]
    assert deciding == expected["fired"]
    notes = {e.rule for e in decision.trace if e.fired and e.kind == "note"}
    assert set(expected.get("notes", [])) <= notes
    assert not set(expected.get("not_notes", [])) & notes
    if "follow_up" in expected:
        asked = [q.fact for q in decision.follow_up]
        assert asked == ([expected["follow_up"]] if expected["follow_up"] else [])


def test_there_are_enough_cases():
    assert len(list(_cases())) >= 40
