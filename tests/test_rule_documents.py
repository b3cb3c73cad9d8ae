"""The curated rule set in the vector store beside the sources (issue 9)."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.advisor import Advisor
from assistant.rules import RuleSetError
from assistant.services import build_index, open_retriever

CRITERION_QUESTIONS = [
    ("When is co-production unavoidable for an agency?", {"regulator_needs_compliance", "outcomes_need_clients",
                                                         "harness_unavoidable_coproduction"}),
    ("What makes co-production obligatory rather than a choice?", {"regulator_needs_compliance",
                                                                    "outcomes_need_clients",
                                                                    "harness_unavoidable_coproduction"}),
    ("What should we weigh before asking volunteers to do this?", {"volunteers_serve_others",
                                                                    "weigh_special_skills",
                                                                    "weigh_training_cost"}),
    ("Is it co-production if residents only sit on a panel that decides the budget?", {"citizens_only_decide",
                                                                                      "broad_definitions_include_design"}),
    ("Is saving money a good enough reason on its own?", {"saving_money_is_the_only_reason",
                                                          "weigh_more_than_savings"}),
]


@pytest.mark.parametrize(("question", "rules"), CRITERION_QUESTIONS)
def test_criterion_question_finds_its_rule_in_top3(retriever, question, rules):
    hits = retriever.search(question, k=3, kinds=["rule"])
    assert {h.id.removeprefix("rules#") for h in hits} & rules, [h.id for h in hits]


def test_every_rule_and_fact_is_a_document_with_its_evidence(retriever):
    rules = [c for c in retriever.chunks.values() if c.kind == "rule"]
    facts = [c for c in retriever.chunks.values() if c.kind == "fact"]
    assert len(rules) >= 20 and len(facts) >= 10
    for chunk in rules + facts:
        evidence = retriever.get(chunk.evidence_id)
        assert evidence is not None and evidence.kind == "source"
        quote = chunk.text.rsplit("“", 1)[1].rstrip("”")
        assert quote in evidence.text


def test_hybrid_mixes_kinds_and_filters(retriever):
    mixed = retriever.search("what makes co-production obligatory", k=10)
    assert {"source", "rule"} <= {h.kind for h in mixed}
    assert all(h.kind == "source" for h in retriever.search("obligatory", k=5, kinds=["source"]))


def test_search_json_shows_kind(built_settings, run_cli):
    result = run_cli(built_settings, "search", "--json", "-k", "8", "when is co-production unavoidable")
    rows = json.loads(result.stdout)
    assert all(r["kind"] in ("source", "rule", "fact") for r in rows) and {r["kind"] for r in rows} > {"source"}


def test_cited_rule_comes_with_its_evidence(built_settings):
    answer = Advisor(built_settings).ask("What makes co-production obligatory?")
    cited = {c.id for c in answer.citations}
    rules = [c for c in answer.citations if c.id.startswith("rules#")]
    assert rules, answer.answer
    retriever = open_retriever(built_settings)
    for citation in rules:
        assert citation.title.startswith("Rule ") and citation.text == retriever.get(citation.id).text
        assert retriever.get(citation.id).evidence_id in cited


@pytest.fixture
def own_knowledge(make_settings, tmp_path):
    """Settings over a private copy of knowledge/ that a test may edit."""
    from assistant.config import Settings

    knowledge = tmp_path / "knowledge"
    shutil.copytree(Settings().knowledge_dir, knowledge)
    return make_settings(knowledge_dir=knowledge)


def test_editing_a_rule_reembeds_only_that_rule(own_knowledge):
    build_index(own_knowledge, progress=False)
    before = dict(open_retriever(own_knowledge).chunks)
    mode = own_knowledge.rules_dir / "mode.yaml"
    text = mode.read_text()
    old = "so co-production is unavoidable."
    assert text.count(old) == 1
    mode.write_text(text.replace(old, "so co-production cannot be avoided."))
    report = build_index(own_knowledge, progress=False)
    assert report.changed and report.updated == ["rules/mode"] and report.embedded == 1
    after = open_retriever(own_knowledge).chunks
    changed = {i for i in after if after[i].text != before[i].text}
    assert changed == {"rules#regulator_needs_compliance"}
    assert "cannot be avoided" in after["rules#regulator_needs_compliance"].text


def test_rule_with_vanished_quote_stops_the_build(own_knowledge, run_cli, monkeypatch):
    build_index(own_knowledge, progress=False)
    generation = open_retriever(own_knowledge).generation
    mode = own_knowledge.rules_dir / "mode.yaml"
    mode.write_text(mode.read_text().replace(
        "quote: They need something from citizens or clients in order to do their jobs",
        "quote: Agencies can never work without citizens doing their bit"))
    with pytest.raises(RuleSetError) as error:
        build_index(own_knowledge, progress=False)
    assert any("mode.yaml:" in p and "quote" in p for p in error.value.problems), error.value.problems
    monkeypatch.setenv("COPROD_KNOWLEDGE_DIR", str(own_knowledge.knowledge_dir))
    result = run_cli(own_knowledge, "ingest", "-q")
    assert result.exit_code == 1 and "mode.yaml:" in result.stderr
    assert open_retriever(own_knowledge).generation == generation
