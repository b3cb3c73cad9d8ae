"""The deterministic scope check: questions worded far from the sources stay in scope, others do not."""

from __future__ import annotations

import pytest

from assistant.evaluation.scoring import cite_hit
from tests.blind_cases import case_params, load_cases

IN_SCOPE_FAR_FROM_THE_SOURCES = [
    "Our bin collection crews are stretched; could we get streets to look after their own kerbside sorting?",
    "Would asking pensioners to run the seniors' lunch club themselves be a sensible move for the shire?",
    "We're piloting an app where drivers report potholes. What's the thinking on that?",
    "Is it smart to let tenants do minor repairs in social housing flats instead of our maintenance team?",
    "The fire authority wants households to check their own smoke alarms each month. Good idea?",
    "Should the library let volunteers staff the Saturday opening?",
    "What does the literature say about people pitching in to help run services?",
    "Is there any point in getting offenders to do the garden upkeep at the courthouse?",
    "Can a charity that gets no government money be said to co-produce anything?",
    "How do I know if my programme relies on clients changing their behaviour?",
]
OUT_OF_SCOPE = [
    "What is the capital of France?",
    "Write a poem about autumn leaves.",
    "What's the weather forecast for Melbourne tomorrow?",
    "Give me a recipe for banana bread.",
    "Translate 'good morning' into Spanish.",
    "Who won the football last night?",
    "Write a Python function that sorts a list.",
    "hello",
    "What's the bitcoin price today?",
    "Tell me a joke about cats.",
]


@pytest.mark.parametrize("question", IN_SCOPE_FAR_FROM_THE_SOURCES)
def test_in_scope_even_when_worded_far_from_the_sources(advisor, question):
    answer = advisor.ask(question)
    assert answer.in_scope, [c for c in answer.checks if c.name == "scope"]


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope(advisor, question):
    answer = advisor.ask(question)
    assert not answer.in_scope and not answer.citations and answer.verdict.coproduction is None


@pytest.mark.parametrize("case", case_params(load_cases("scope_cases.yaml")))
def test_general_questions_and_other_requests_are_told_apart_from_situations(advisor, case):
    answer = advisor.ask(case["question"])
    scope = [c.detail for c in answer.checks if c.name == "scope"]
    if case["kind"] == "general":
        assert answer.in_scope and answer.verdict.coproduction is None, scope
        if case.get("cite"):  # the writer's phrase from the passage that answers it
            assert cite_hit([case["cite"]], answer)[0], [c.id for c in answer.citations]
    else:
        assert not answer.in_scope and not answer.citations, scope
