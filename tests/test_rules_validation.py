"""Loading the rule set validates it: each broken rule file gives ``path:line: message`` and a non-zero exit."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.rules import RuleSetError, check_rules, load_ruleset

SETTINGS = Settings()


@pytest.fixture
def rules_copy(tmp_path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(SETTINGS.rules_dir, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(rules_dir: Path) -> list[str]:
    with pytest.raises(RuleSetError) as info:
        load_ruleset(rules_dir, SETTINGS.sources_dir)
    assert info.value.problems == check_rules(rules_dir, SETTINGS.sources_dir)
    return info.value.problems


def test_the_shipped_rule_set_is_valid():
    assert check_rules(SETTINGS.rules_dir, SETTINGS.sources_dir) == []


# A broken edit of one rule file, and the problem it must give: (file, text, replacement, the line the problem
# names as (a text on it, which of the lines with that text, lines to add) or None for any line, message).
BROKEN_EDITS = [
    pytest.param("mode.yaml", "decision: mode\n", "decision: mode\nrules: [unclosed\n", None, "YAML syntax error",
                 id="yaml syntax error"),
    pytest.param("value.yaml", "    explanation: The value is consumed personally",
                 "    explain: The value is consumed personally", ("explain: The value", 0, 0), "schema error",
                 id="schema error names the line"),
    pytest.param("mode.yaml", "        - regulatory: true", "        - regulatorish: true", None,
                 "unknown fact 'regulatorish'", id="unknown fact"),
    pytest.param("facts.yaml", "yields_to: [citizens_decide, citizens_passive]",
                 "yields_to: [citizens_decide, citizens_asleep]", ("id: who_semantic", 0, 0), "'citizens_asleep'",
                 id="semantic detector yielding to an unknown fact"),
    pytest.param("facts.yaml", "classification_questions:\n  - '", "classification_questions:\n  - '(unclosed",
                 ("classification_questions:", 0, 1), "invalid pattern",
                 id="classification question pattern that does not compile"),
    pytest.param("facts.yaml", "undecided_options:\n  - '", "undecided_options:\n  - '(unclosed",
                 ("undecided_options:", 0, 1), "invalid pattern", id="undecided-options pattern that does not compile"),
    pytest.param("facts.yaml", "former_arrangements:\n  - '", "former_arrangements:\n  - '(unclosed",
                 ("former_arrangements:", 0, 1), "invalid pattern",
                 id="former-arrangement pattern that does not compile"),
    pytest.param("facts.yaml", "  citizen:\n", "  citizen:\n    - '{own_effort} people'\n",
                 ("{own_effort} people", 0, 0), "['own_effort']", id="vocabulary using one defined below it"),
    pytest.param("coproduction.yaml", "        - who_does_work: staff", "        - who_does_work: robots", None,
                 "unknown value 'robots'", id="unknown enum value"),
    pytest.param("value.yaml", "  - id: public_value_only", "  - id: private_value_only",
                 ("- id: private_value_only", 1, 0), "duplicate rule id 'private_value_only'",
                 id="duplicate rule id"),
    pytest.param("value.yaml", "conclusion: value_public_named", "conclusion: value_private_named", None,
                 "conclusion 'value_private_named' defined twice", id="conclusion defined twice"),
    pytest.param("coproduction.yaml", "quote: co-production is a reciprocal process",
                 "quote: co-production is a transactional process",
                 ("quote: co-production is a transactional process", 0, -2), "quote not verbatim",
                 id="quote not verbatim"),
    pytest.param("claims.yaml", "locator: why-do-people-co-produce.p1", "locator: why-do-people-co-produce.p9",
                 None, "unknown source passage", id="unknown source passage"),
    pytest.param("topics.yaml", "quote: co-production is a reciprocal process", "quote: co-production is a one-way process",
                 ("quote: co-production is a one-way process", 0, -2), "quote not verbatim",
                 id="topic quote not verbatim"),
    pytest.param("topics.yaml", "  - id: reciprocity", "  - id: delivery_definition", ("- id: delivery_definition", 0, 0),
                 "duplicate id 'delivery_definition'", id="topic id used by a rule"),
    pytest.param("topics.yaml", "      - '\\bmotiv\\w*'", "      - '(\\bmotiv'", ("- id: motivations", 0, 0),
                 "invalid pattern", id="topic pattern that does not compile"),
    pytest.param("value.yaml", "        - value_private: true\n        - value_public: false",
                 "        - value_private: true\n        - value_private: false", ("- id: private_value_only", 0, 0),
                 "can never fire", id="contradictory rule never fires"),
    pytest.param("mode.yaml", "        - substitution: true\n    then: {conclusion: optional_substitute",
                 "        - regulatory: true\n    then: {conclusion: optional_substitute",
                 ("- id: substitutes_for_staff", 0, 0), "can never fire",
                 id="rule pre-empted by an earlier rule never fires"),
]


@pytest.mark.parametrize("file_name, old, new, named_line, message", BROKEN_EDITS)
def test_a_broken_rule_file_is_reported_with_file_and_line(rules_copy, file_name, old, new, named_line, message):
    path = rules_copy / file_name
    edit(path, old, new)
    problems = problems_of(rules_copy)
    where = f"{path}:"
    if named_line is not None:
        needle, nth, offset = named_line
        lines = [i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in text]
        where = f"{path}:{lines[nth] + offset}:"
    assert any(p.startswith(where) and message in p for p in problems), problems


def test_check_exits_non_zero_and_names_the_file(rules_copy):
    edit(rules_copy / "mode.yaml", "        - regulatory: true", "        - regulatorish: true")
    bad = subprocess.run([sys.executable, "-m", "assistant.rules", str(rules_copy), str(SETTINGS.sources_dir)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "mode.yaml:" in bad.stderr and "unknown fact" in bad.stderr
