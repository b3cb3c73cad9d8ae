"""The command line: help everywhere, exit codes, and the feedback loop back to the evaluation format."""

from __future__ import annotations

import json

import pytest

from assistant.advisor import Advisor
from assistant.evaluation.dataset import load_datasets

COMMANDS = ["ingest", "sources", "remove", "search", "ask", "chat", "schema", "web", "serve-webhook", "eval",
            "rules check", "feedback export"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(built_settings, run_cli, command):
    result = run_cli(built_settings, *command.split(), "--help")
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_ask_without_an_index_says_so(make_settings, run_cli):
    result = run_cli(make_settings(), "ask", "Is recycling by households co-production?")
    assert result.exit_code == 3 and "coprod ingest" in result.stderr


def test_ask_refuses_a_huge_question(built_settings, run_cli):
    result = run_cli(built_settings, "ask", "x" * 5000)
    assert result.exit_code == 2 and "limit" in result.stderr


def test_conversation_continues_from_the_command_line(built_settings, run_cli):
    first = json.loads(run_cli(built_settings, "ask", "--json",
                               "We're reorganising our public library service. Is this co-production?").stdout)
    assert first["verdict"]["coproduction"] == "unclear"
    second = json.loads(run_cli(built_settings, "ask", "--json", "--conversation", first["conversation_id"],
                                "Yes, local volunteers would run the branch themselves.").stdout)
    assert second["conversation_id"] == first["conversation_id"]
    assert second["verdict"]["coproduction"] == "yes"


def test_feedback_export_writes_evaluation_cases(make_settings, run_cli, tmp_path):
    from assistant.services import build_index

    settings = make_settings()
    build_index(settings, progress=False)
    advisor = Advisor(settings)
    first = advisor.ask("We're reorganising our public library service. Is this co-production?")
    second = advisor.ask("Yes, local volunteers would run the branch themselves.", first.conversation_id)
    outside = advisor.ask("What is the capital of France?")
    for answer, rating in ((second, 1), (outside, -1)):
        advisor.feedback.add(question=answer.question, answer=answer.answer, verdict=answer.verdict.model_dump(),
                             rating=rating, comment="checked by hand", channel="web",
                             conversation_id=answer.conversation_id, in_scope=answer.in_scope)
    out = tmp_path / "cases.jsonl"
    result = run_cli(settings, "feedback", "export", "--out", str(out))
    assert result.exit_code == 0 and "2 case(s)" in result.stdout
    (dataset,) = load_datasets([out])
    cases = {case.question: case for case in dataset.cases}
    refined = cases[second.question]
    assert refined.history == [first.question]
    assert refined.expect.coproduction == "yes" and refined.expect.in_scope
    assert cases[outside.question].expect.in_scope is False
