"""The fast matcher finds exactly what a plain scan of each pattern finds (assistant/rules/matching.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from assistant.index.lexical import normalise
from assistant.rules.matching import LexicalPattern, TextMatcher, leading_vocabulary, vocabulary_alternation

CASES = yaml.safe_load((Path(__file__).parent / "data" / "generalisation_cases.yaml").read_text(encoding="utf-8"))["cases"]


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
    texts = [normalise(c["question"]) for c in CASES[chunk::4][:40]]
    anchored = [p for patterns in ruleset.patterns.values() for p in patterns if p.lead]
    assert len(anchored) > 20  # the measure matters: many patterns start with a vocabulary
    for text in texts:
        matcher = TextMatcher(text, ruleset.scanners)
        for pattern in anchored:
            expected = [m.span() for m in pattern.regex.finditer(text)]
            assert [m.span() for m in matcher.finditer(pattern)] == expected, (pattern.regex.pattern[:80], text)
        plain = LexicalPattern(anchored[0].regex)
        assert [m.span() for m in matcher.finditer(plain)] == [m.span() for m in anchored[0].regex.finditer(text)]
