"""Generalisation: unseen manager-style situations (tests/data/generalisation_cases.yaml), each batch written
before the engine was run on it, answered through the real advisor with the verdict docs/verdicts.md gives."""

from __future__ import annotations

import pytest

from tests.blind_cases import case_params, load_cases

CASES = load_cases("generalisation_cases.yaml")
FIELDS = ("coproduction", "mode", "recommendation")


def test_cases_are_well_formed():
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        expect = case["expect"]
        assert expect["coproduction"] in ("yes", "no", "unclear"), case["id"]
        if expect["coproduction"] != "yes":
            assert expect.get("mode") is None and expect.get("recommendation") is None, case["id"]


@pytest.mark.parametrize("case", case_params(CASES))
def test_unseen_situation(advisor, case):
    answer = advisor.ask(case["question"])
    verdict = answer.verdict.model_dump()
    assert {f: verdict[f] for f in FIELDS} == {f: case["expect"].get(f) for f in FIELDS}, answer.facts
