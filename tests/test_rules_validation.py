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


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def problems_of(rules_dir: Path) -> list[str]:
    with pytest.raises(RuleSetError) as info:
        load_ruleset(rules_dir, SETTINGS.sources_dir)
    assert info.value.problems == check_rules(rules_dir, SETTINGS.sources_dir)
    return info.value.problems


def test_the_shipped_rule_set_is_valid():
    assert check_rules(SETTINGS.rules_dir, SETTINGS.sources_dir) == []


def test_yaml_syntax_error(rules_copy):
    path = rules_copy / "mode.yaml"
    edit(path, "decision: mode\n", "decision: mode\nrules: [unclosed\n")
    problems = problems_of(rules_copy)
    assert any(p.startswith(f"{path}:") and "YAML syntax error" in p for p in problems)


def test_schema_error_names_the_line(rules_copy):
    path = rules_copy / "value.yaml"
    edit(path, "    explanation: The value is consumed personally", "    explain: The value is consumed personally")
    problems = problems_of(rules_copy)
    line = line_of(path, "explain: The value")
    assert any(p.startswith(f"{path}:{line}:") and "schema error" in p for p in problems), problems


def test_unknown_fact(rules_copy):
    path = rules_copy / "mode.yaml"
    edit(path, "        - regulatory: true", "        - regulatorish: true")
    problems = problems_of(rules_copy)
    assert any(p.startswith(f"{path}:") and "unknown fact 'regulatorish'" in p for p in problems), problems


def test_semantic_detector_yielding_to_an_unknown_fact(rules_copy):
    path = rules_copy / "facts.yaml"
    edit(path, "yields_to: [citizens_decide, citizens_passive]", "yields_to: [citizens_decide, citizens_asleep]")
    problems = problems_of(rules_copy)
    line = line_of(path, "id: who_semantic")
    assert any(p.startswith(f"{path}:{line}:") and "'citizens_asleep'" in p for p in problems), problems


def test_classification_question_pattern_that_does_not_compile(rules_copy):
    path = rules_copy / "facts.yaml"
    edit(path, "classification_questions:\n  - '", "classification_questions:\n  - '(unclosed")
    problems = problems_of(rules_copy)
    line = line_of(path, "classification_questions:") + 1
    assert any(p.startswith(f"{path}:{line}:") and "invalid pattern" in p for p in problems), problems


def test_vocabulary_using_one_defined_below_it(rules_copy):
    path = rules_copy / "facts.yaml"
    edit(path, "  citizen:\n", "  citizen:\n    - '{own_effort} people'\n")
    problems = problems_of(rules_copy)
    line = line_of(path, "{own_effort} people")
    assert any(p.startswith(f"{path}:{line}:") and "['own_effort']" in p for p in problems), problems


def test_unknown_enum_value(rules_copy):
    path = rules_copy / "coproduction.yaml"
    edit(path, "        - who_does_work: staff", "        - who_does_work: robots")
    problems = problems_of(rules_copy)
    assert any(p.startswith(f"{path}:") and "unknown value 'robots'" in p for p in problems), problems


def test_duplicate_rule_id(rules_copy):
    path = rules_copy / "value.yaml"
    edit(path, "  - id: public_value_only", "  - id: private_value_only")
    problems = problems_of(rules_copy)
    lines = [i for i, text in enumerate(path.read_text().splitlines(), 1) if "- id: private_value_only" in text]
    assert any(p.startswith(f"{path}:{lines[1]}:") and "duplicate rule id 'private_value_only'" in p
               for p in problems), problems


def test_conclusion_defined_twice(rules_copy):
    path = rules_copy / "value.yaml"
    edit(path, "conclusion: value_public_named", "conclusion: value_private_named")
    problems = problems_of(rules_copy)
    assert any(p.startswith(f"{path}:") and "conclusion 'value_private_named' defined twice" in p
               for p in problems), problems


def test_quote_not_verbatim(rules_copy):
    path = rules_copy / "coproduction.yaml"
    edit(path, "quote: co-production is a reciprocal process", "quote: co-production is a transactional process")
    problems = problems_of(rules_copy)
    line = line_of(path, "quote: co-production is a transactional process")
    assert any(p.startswith(f"{path}:{line - 2}:") and "quote not verbatim" in p for p in problems), problems


def test_unknown_source_passage(rules_copy):
    path = rules_copy / "claims.yaml"
    edit(path, "locator: why-do-people-co-produce.p1", "locator: why-do-people-co-produce.p9")
    problems = problems_of(rules_copy)
    assert any(p.startswith(f"{path}:") and "unknown source passage" in p for p in problems), problems


def test_contradictory_rule_never_fires(rules_copy):
    path = rules_copy / "value.yaml"
    edit(path, "        - value_private: true\n        - value_public: false",
         "        - value_private: true\n        - value_private: false")
    problems = problems_of(rules_copy)
    line = line_of(path, "- id: private_value_only")
    assert any(p.startswith(f"{path}:{line}:") and "can never fire" in p for p in problems), problems


def test_rule_pre_empted_by_an_earlier_rule_never_fires(rules_copy):
    path = rules_copy / "mode.yaml"
    edit(path, "        - substitution: true\n    then: {conclusion: optional_substitute",
         "        - regulatory: true\n    then: {conclusion: optional_substitute")
    problems = problems_of(rules_copy)
    line = line_of(path, "- id: substitutes_for_staff")
    assert any(p.startswith(f"{path}:{line}:") and "can never fire" in p for p in problems), problems


def test_check_exits_non_zero_and_names_the_file(rules_copy):
    edit(rules_copy / "mode.yaml", "        - regulatory: true", "        - regulatorish: true")
    bad = subprocess.run([sys.executable, "-m", "assistant.rules", str(rules_copy), str(SETTINGS.sources_dir)],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "mode.yaml:" in bad.stderr and "unknown fact" in bad.stderr
