"""Fact extraction from free text: the situations of ``tests/data/extraction_cases.yaml``, negation and
scope, multi-turn answers, determinism, serialisation and speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from assistant.rules import FactState, evaluate

CASES = yaml.safe_load((Path(__file__).parent / "data" / "extraction_cases.yaml").read_text(encoding="utf-8"))["cases"]
VERDICT_FIELDS = ("coproduction", "mode", "recommendation")


def test_cases_cover_the_sectors():
    assert len(CASES) >= 60
    assert {"health", "education", "justice", "tax", "environment", "transport", "welfare", "emergency",
            "local government"} <= {c["sector"] for c in CASES}


@pytest.fixture(scope="module")
def case_vectors(extractor):
    """The query embeddings of every case, computed in one batch (retrieval shares this vector)."""
    texts = [c["text"] for c in CASES]
    return dict(zip(texts, extractor.embeddings.encode(texts)))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_situation(ruleset, extractor, case_vectors, case):
    state = extractor.extract(case["text"], query_vector=case_vectors[case["text"]])
    read = {fact: state.value(fact) for fact in case["facts"]}
    assert read == case["facts"], {k: state.get(k) for k in case["facts"]}
    verdict = evaluate(ruleset, state).verdict.model_dump()
    assert {k: verdict[k] for k in VERDICT_FIELDS} == {k: case["verdict"].get(k) for k in VERDICT_FIELDS}


@pytest.mark.parametrize("text, fact, value", [
    ("Pensioners do nothing at all; the council's contractor delivers everything.", "citizens_passive", True),
    ("It is not our staff but residents who sort the recycling.", "who_does_work", "citizens"),
    ("Instead of our staff, households will sort their own recycling.", "who_does_work", "citizens"),
    ("Instead of our staff, households will sort their own recycling.", "substitution", True),
    ("Residents don't lack the skills for this; the training is simple.", "cost_capability_gap", True),
    ("There is no risk to the volunteers.", "cost_risk", False),
    ("The work is not dangerous at all and residents enjoy it.", "cost_risk", False),
    ("Volunteers would not need expensive training.", "cost_training", False),
    ("The neighbours run it themselves; the council is not involved at all.", "agency_involved", False),
    ("Residents sat on a citizens' jury about the budget.", "citizens_decide", True),
])
def test_negation_and_scope(extractor, text, fact, value):
    assert extractor.extract(text).value(fact) == value


def test_a_span_and_detector_are_recorded(extractor):
    reading = extractor.extract("We want households to sort recycling instead of depot staff.").get("who_does_work")
    assert reading.value == "citizens" and reading.origin == "stated"
    assert reading.span and reading.span in "We want households to sort recycling instead of depot staff."
    assert reading.detector == "citizen_does"


def test_multi_turn_unclear_then_answered(ruleset, extractor):
    first = extractor.extract("We'd like to try co-production in our waste service. Is it co-production?")
    decision = evaluate(ruleset, first)
    assert decision.verdict.coproduction == "unclear"
    [question] = decision.follow_up
    assert question.fact == "who_does_work"
    assert question.question == " ".join(ruleset.facts["who_does_work"].question.split())

    second = extractor.extract("Yes, the residents do the sorting themselves.", previous=first,
                               pending_fact=question.fact)
    reading = second.get("who_does_work")
    assert (reading.value, reading.origin) == ("citizens", "answered")
    assert evaluate(ruleset, second).verdict.coproduction == "yes"

    third = extractor.extract("No, only our staff.", previous=first, pending_fact=question.fact)
    assert (third.value("who_does_work"), third.get("who_does_work").origin) == ("staff", "answered")
    assert evaluate(ruleset, third).verdict.coproduction == "no"


def test_a_bare_yes_answers_the_pending_question(ruleset, extractor):
    first = extractor.extract("Is our library's new plan co-production?")
    second = extractor.extract("yes", previous=first, pending_fact="who_does_work")
    assert second.get("who_does_work").origin == "answered"
    assert second.value("who_does_work") == "citizens"


def test_an_unanswered_question_is_not_asked_again(ruleset, extractor):
    first = extractor.extract("Is our library's new plan co-production?")
    second = extractor.extract("I'm not sure, to be honest.", previous=first, pending_fact="who_does_work")
    assert second.asked == ["who_does_work"]
    assert evaluate(ruleset, second).follow_up[0].fact != "who_does_work"


def test_facts_persist_and_stated_outranks_inferred(extractor):
    first = extractor.extract("Volunteers would run the branch library on Saturdays.")
    assert first.value("who_does_work") == "citizens"
    second = extractor.extract("They know everyone in the village.", previous=first)
    assert second.value("who_does_work") == "citizens"
    assert second.get("who_does_work").turn == 1
    assert second.value("benefit_local_knowledge") is True
    assert second.stated_count == 1


def test_stated_count_tells_a_situation_from_a_general_question(extractor):
    assert extractor.extract("What does co-production mean?").stated_count == 0
    situation = extractor.extract("We want parents to tutor their children at home instead of paying tutors, "
                                  "but many parents lack the expertise.")
    assert situation.stated_count >= 3


def test_deterministic_and_json_round_trip(ruleset, extractor):
    text = "To cut costs, we'd let untrained residents clear asbestos from their sheds instead of contractors."
    one, two = extractor.extract(text), extractor.extract(text)
    assert one.to_dict() == two.to_dict()
    first, second = evaluate(ruleset, one), evaluate(ruleset, two)
    assert first.model_dump() == second.model_dump()
    restored = FactState.from_dict(json.loads(json.dumps(one.to_dict())))
    assert evaluate(ruleset, restored).model_dump() == first.model_dump()
    assert [e.rule for e in first.trace] == [e.rule for e in second.trace]
    assert first.verdict.recommendation == "not_recommended"


def test_trace_records_conditions_with_origin_and_span(ruleset, extractor):
    decision = evaluate(ruleset, extractor.extract("Households sort their recycling into three bins."))
    entry = next(e for e in decision.trace if e.rule == "citizens_do_delivery_work")
    assert entry.fired and entry.result == "true"
    [condition] = entry.conditions
    assert (condition.fact, condition.expected, condition.actual, condition.origin) == (
        "who_does_work", "citizens", "citizens", "stated")
    assert condition.span
    assert entry.source.chunk_id == "anzsog-2017#public-admin-explainer-what-is-co-production.p1"
    assert "‘" in entry.explanation  # the span, in single quotes (double quotes are for source quotations)
    assert decision.considerations and decision.changes


def test_engagement_gives_the_broad_definition_note(ruleset, extractor):
    decision = evaluate(ruleset, extractor.extract("Residents voted in a participatory budgeting process."))
    assert decision.verdict.coproduction == "no" and decision.broad_definition
    assert any("Nabatchi" in n.text for n in decision.definition_notes)


def test_a_later_question_about_the_classification_states_nothing(extractor):
    """"Are the families doing part of the work here?" asks; read alone it states who does the work."""
    question = "Are the families doing part of the work here?"
    assert extractor.extract(question).value("who_does_work") == "citizens"
    described = extractor.extract("Nurses at the clinic give the jab to children who come in; the children just "
                                  "get the injection and go home. " + question)
    assert described.value("who_does_work") != "citizens"
    assert described.value("citizens_passive") is True


def test_a_sentence_of_undecided_options_states_nothing(extractor):
    """Options still open ("whether it'll be paid drivers or locals volunteering") name who might do the work;
    the rest of the text is still read."""
    options = "Not decided yet whether it'll be paid drivers from a bus operator or locals volunteering to drive."
    assert extractor.extract(options.replace("Not decided yet whether it'll be", "It will be")
                             ).value("who_does_work") == "citizens"
    state = extractor.extract("We're setting up community transport for the hill towns. " + options)
    assert state.get("who_does_work") is None and state.get("volunteers_for_others").origin == "default"
    settled = extractor.extract(options + " Either way, residents will book their own trips online.")
    assert settled.value("who_does_work") == "citizens"
    assert settled.get("who_does_work").span.startswith("residents")


def test_a_sentence_about_an_ended_arrangement_states_nothing(extractor):
    """"used to be delivered by volunteers" says who did the work once; what happens now is still read."""
    before = "Meals on wheels in our region used to be delivered by Rotary volunteers."
    assert extractor.extract(before.replace("used to be", "is")).value("volunteers_for_others") is True
    state = extractor.extract(before + " Under the new contract a catering company cooks the meals and its "
                                       "paid drivers deliver them all; the clients just receive them at the door.")
    assert state.value("volunteers_for_others") is False and state.value("citizens_passive") is True
    still = extractor.extract("Meals on wheels used to be delivered by paid drivers, but now volunteers deliver them.")
    assert still.value("who_does_work") == "citizens"


def test_a_likeness_yields_to_a_stated_fact(ruleset, extractor):
    """The who-does-the-work likeness is not inferred when the text states the citizens only decide."""
    from dataclasses import replace

    from assistant.rules import FactExtractor

    text = ("We plan to convene a panel of twenty randomly chosen residents to decide the priorities in the new "
            "town plan. Would that mean residents are helping to deliver the plan?")
    vector = extractor.embeddings.query_vector(text)
    state = extractor.extract(text, query_vector=vector)
    assert state.value("citizens_decide") is True and state.get("who_does_work") is None
    who = ruleset.facts["who_does_work"]
    eager = who.model_copy(update={"detectors": who.detectors.model_copy(update={
        "semantic": who.detectors.semantic.model_copy(update={"yields_to": []})})})
    unyielding = FactExtractor(replace(ruleset, facts={**ruleset.facts, "who_does_work": eager}), extractor.embeddings)
    assert unyielding.extract(text, query_vector=vector).get("who_does_work").origin == "inferred"
