"""Concept topics (``knowledge/rules/topics.yaml``): a general question is answered from the passage of its topic."""

from __future__ import annotations

import pytest

from assistant.composer import best_sentences
from assistant.evaluation.scoring import cite_hit


def test_every_topic_recognises_its_own_question(ruleset):
    assert ruleset.topics, "topics.yaml has no topics"
    for topic in ruleset.topics:
        assert topic in ruleset.topics_for(topic.question), topic.id


def test_topics_are_matched_with_curly_quotes_folded(ruleset):
    matched = {t.id for t in ruleset.topics_for("What\u2019s in it for them if they\u2019re not paid?")}
    assert "motivations" in matched


def test_a_question_about_nothing_in_particular_matches_no_topic(ruleset):
    assert ruleset.topics_for("Hmm?") == []


def test_anchored_sentences_are_quoted_whatever_their_overlap():
    text = "Bees make honey in hives. Rivers run to the sea every day. Foxes hunt at night in the woods."
    assert best_sentences("honey bees", text, limit=1, min_overlap=1) == ["Bees make honey in hives."]
    anchored = best_sentences("honey bees", text, limit=2, min_overlap=1, anchors=["run to the sea"])
    assert anchored == ["Bees make honey in hives.", "Rivers run to the sea every day."]
    # the anchor always stays, even past the limit; sentences keep their order in the text
    assert best_sentences("honey bees", text, limit=1, min_overlap=1, anchors=["Foxes hunt"]) == [
        "Foxes hunt at night in the woods."]


@pytest.mark.parametrize("question, topic", [
    ("Why would anyone give up their Saturday for a council service when nobody pays them?", "motivations"),
    ("My finance director says co-production is really about trimming the budget. Fair?", "not_for_saving_money"),
    ("Can an agency ever just avoid relying on the public, or is it sometimes stuck with it?", "unavoidable"),
])
def test_a_general_question_cites_and_quotes_its_topic_passage(advisor, ruleset, question, topic):
    source = next(t for t in ruleset.topics if t.id == topic).source
    answer = advisor.ask(question)
    assert answer.in_scope and answer.verdict.coproduction is None
    assert answer.citations[0].id == source.chunk_id, [c.id for c in answer.citations]
    assert source.quote in answer.answer
    assert cite_hit([source.quote], answer)[0]


def test_a_topic_question_with_no_case_of_the_askers_is_general(advisor):
    answer = advisor.ask("Before the board argues about pros and cons, "
                         "what's the first question to settle about involving clients?")
    assert answer.in_scope and answer.verdict.coproduction is None
    assert answer.citations[0].id.endswith("sometimes-it-s-unavoidable.p1")


def test_a_topic_question_about_a_case_of_the_askers_stays_a_situation(advisor):
    answer = advisor.ask("We want to use co-production in our library. Is it worth it?")
    assert answer.verdict.coproduction == "unclear" and answer.follow_up


def test_a_leading_topic_passage_is_quoted_at_length_even_without_shared_words(advisor):
    answer = advisor.ask("Why would anyone give up a Saturday for a council library?")
    quote = next(line for line in answer.answer.splitlines() if line.startswith("> "))
    passage = answer.citations[0].text
    quoted = [s for s in best_sentences("", passage, limit=10, min_overlap=0) if s in quote]
    assert answer.citations[0].id.endswith("why-do-people-co-produce.p1") and len(quoted) == 3, quote
