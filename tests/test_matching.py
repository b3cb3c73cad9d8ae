"""The fast matcher finds exactly what a plain scan of each pattern finds (assistant/rules/matching.py)."""

from __future__ import annotations

import re

import pytest
import yaml

from assistant.config import Settings
from assistant.index.lexical import normalise
from assistant.rules.matching import (LexicalPattern, TextMatcher, leading_vocabulary, split_vocabulary_patterns,
                                      vocabulary_alternation)
from assistant.rules.schema import VOCAB_REF
from tests.blind_cases import load_cases

CASES = load_cases("generalisation_cases.yaml")


def test_leading_vocabulary_is_read_through_lookbehinds():
    assert leading_vocabulary(r"\b{citizen}\s+do") == "citizen"
    assert leading_vocabulary(r"(?<!with )(?<!for the )\b{staff}(?:\s+\w+)") == "staff"
    assert leading_vocabulary(r"\b(?:{citizen}|they)\s+do") is None
    assert leading_vocabulary(r"\bwant\s+{citizen}") is None


def test_the_grouped_alternation_matches_what_the_plain_one_does():
    terms = ["citizens?", "clients?", "(?:service )?users?", "(?<!paid )carers?", "residents?", "r?iders"]
    grouped = re.compile(r"\b" + vocabulary_alternation(terms), re.IGNORECASE)
    plain = re.compile(r"\b(?:" + "|".join(f"(?:{t})\\b" for t in terms) + ")", re.IGNORECASE)
    text = "Clients and service users, paid carers and unpaid carers, riders, iders and Residents."
    assert [m.span() for m in grouped.finditer(text)] == [m.span() for m in plain.finditer(text)]


@pytest.mark.parametrize("chunk", range(4))
def test_every_pattern_matches_as_a_plain_scan_would(ruleset, chunk):
    """Neither the vocabulary anchors nor the required-string pre-check may change what a pattern finds."""
    texts = [normalise(c["question"]) for c in CASES[chunk::4][:40]]
    texts += ["Les résidents trient leurs déchets; the residents don't lodge anything at all.",
              "ENFORCEMENT: Residents WILL SORT their recycling unless the inspector visits."]
    anchored = [p for patterns in ruleset.patterns.values() for p in patterns if p.lead]
    assert len(anchored) > 20  # the measure matters: many patterns start with a vocabulary
    prechecked = [p for patterns in ruleset.patterns.values() for p in patterns if p.needs and not p.lead]
    assert len(prechecked) > 200  # and most of the others name a string every match contains
    for text in texts:
        matcher = TextMatcher(text, ruleset.scanners)
        for pattern in anchored + prechecked:
            expected = [m.span() for m in pattern.regex.finditer(text)]
            assert [m.span() for m in matcher.finditer(pattern)] == expected, (pattern.regex.pattern[:80], text)
        plain = LexicalPattern(anchored[0].regex)
        assert [m.span() for m in matcher.finditer(plain)] == [m.span() for m in anchored[0].regex.finditer(text)]


def test_patterns_are_split_where_a_vocabulary_can_lead():
    vocabularies = {"effort": [r"\b{citizen} must", r"\bit is (?:on|up to) them"]}
    split = split_vocabulary_patterns([r"\b(?:{citizen}|they)\s+do", r"\b(?:{citizen}|they)?\s+do", "{effort}",
                                       r"\bwant\s+{citizen}"], vocabularies)
    assert split == [(r"\b{citizen}\s+do", r"\b{citizen}\s+do"), (r"\b(?:they)\s+do", r"\b(?:they)\s+do"),
                     (r"\b(?:{citizen}|they)?\s+do", r"\b(?:{citizen}|they)?\s+do"),
                     (r"(?:\b{citizen} must)\b", r"\b{citizen} must"),
                     (r"(?:\bit is (?:on|up to) them)\b", r"\bit is (?:on|up to) them"),
                     (r"\bwant\s+{citizen}", r"\bwant\s+{citizen}")]
    assert [leading_vocabulary(lead) for _, lead in split] == ["citizen", None, None, "citizen", None, None]


def test_split_patterns_find_a_match_exactly_where_the_whole_pattern_does(ruleset):
    """A detector sets its value on its first match, so split parts must match the same texts as the whole."""
    def compiled(pattern: str) -> re.Pattern:
        return re.compile(VOCAB_REF.sub(lambda m: ruleset.vocabulary[m.group(1)], pattern), re.IGNORECASE)

    vocab_terms = yaml.safe_load((Settings().rules_dir / "facts.yaml").read_text(encoding="utf-8"))["vocabulary"]
    texts = [normalise(c["question"]) for c in CASES[::3]]
    checked = 0
    for fact in ruleset.facts.values():
        for det in fact.detectors.lexical:
            for pattern in det.patterns:
                parts = split_vocabulary_patterns([pattern], vocab_terms)
                if len(parts) == 1:
                    continue
                whole, pieces = compiled(pattern), [compiled(part) for part, _ in parts]
                for text in texts:
                    assert bool(whole.search(text)) == any(p.search(text) for p in pieces), (pattern[:60], text)
                checked += 1
    assert checked >= 5
