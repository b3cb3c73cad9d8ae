"""The deterministic rule engine: the rule set as data, fact extraction, and traceable verdicts."""

from assistant.rules.engine import ClarifyingQuestion, Decision, TraceEntry, evaluate
from assistant.rules.extraction import FactExtractor, FactReading, FactState
from assistant.rules.schema import RuleSet, RuleSetError, check_rules, load_ruleset

__all__ = ["ClarifyingQuestion", "Decision", "FactExtractor", "FactReading", "FactState", "RuleSet",
           "RuleSetError", "TraceEntry", "check_rules", "evaluate", "load_ruleset"]
