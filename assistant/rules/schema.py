"""The rule set as data: pydantic models for ``knowledge/rules/*.yaml`` and the loader that validates them.

``load_ruleset`` reads ``facts.yaml`` (facts, their questions and detectors), ``claims.yaml`` (claims an answer
must never make), ``topics.yaml`` (concept questions and the passage that answers each) and one file per
decision (rules tried in order; the last, without ``when``, is the outcome when none holds; ``notes`` add
considerations and definitions). Every problem found is reported as ``path:line: message``.
"""

from __future__ import annotations

import itertools
import re
import string
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.corpus.chunking import chunk_document
from assistant.corpus.documents import DocumentError, load_knowledge_sources
from assistant.index.lexical import normalise
from assistant.models import Verdict
from assistant.rules.matching import (LexicalPattern, leading_vocabulary, split_vocabulary_patterns, vocabulary_alternation,
                                      vocabulary_scanners)
from assistant.rules.pattern_cache import PatternCache

FactValue = bool | str
OPERATORS = ("all", "any", "not")
VOCAB_REF = re.compile(r"\{([a-z_]+)\}")
FACTS_FILE, CLAIMS_FILE, TOPICS_FILE = "facts.yaml", "claims.yaml", "topics.yaml"


class RuleSetError(ValueError):
    """The rule set does not validate; ``problems`` lists each as ``path:line: message``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid rule set:\n" + "\n".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(_Model):
    """The sentence of a source a fact, rule or claim rests on: it must stand verbatim in that chunk."""

    document: str
    locator: str
    quote: str = Field(min_length=8)

    @property
    def chunk_id(self) -> str:
        return f"{self.document}#{self.locator}"


class LexicalDetector(_Model):
    id: str
    value: FactValue
    patterns: list[str] = Field(min_length=1)
    negation: Literal["cancel", "ignore"] = "cancel"


class SemanticDetector(_Model):
    id: str
    threshold: float = Field(gt=0, lt=1)
    margin: float = Field(default=0.0, ge=0, lt=1)
    prototypes: dict[FactValue, list[str]]
    yields_to: list[str] = Field(default_factory=list)  # boolean facts whose stated `true` blocks the inference


class Detectors(_Model):
    lexical: list[LexicalDetector] = Field(default_factory=list)
    semantic: SemanticDetector | None = None


class Fact(_Model):
    """One fact: its meaning, its values, the question that asks for it, how to read it, and its source."""

    id: str
    meaning: str
    type: Literal["boolean", "enum"]
    values: list[str] | None = None
    default: FactValue | None = None
    question: str
    answers: dict[str, FactValue] | None = None  # reply "yes"/"no" → value
    topic_cue: bool = False  # read from topic words alone: not counted as a statement about the situation
    source: SourceRef
    detectors: Detectors = Field(default_factory=Detectors)

    @property
    def domain(self) -> list[FactValue]:
        return [True, False] if self.type == "boolean" else list(self.values or [])

    def answer_value(self, reply: str) -> FactValue | None:
        """The value a bare "yes"/"no" reply gives this fact."""
        if self.answers and reply in self.answers:
            return self.answers[reply]
        if self.type == "boolean":
            return reply == "yes"
        return None


class Negation(_Model):
    window: int = Field(ge=1, le=12)
    cues: list[str]
    clause_breaks: str


class FactsFile(_Model):
    negation: Negation
    answers: dict[Literal["yes", "no"], list[str]]
    classification_questions: list[str] = Field(default_factory=list)
    undecided_options: list[str] = Field(default_factory=list)
    former_arrangements: list[str] = Field(default_factory=list)
    vocabulary: dict[str, list[str]] = Field(default_factory=dict)
    facts: list[Fact]


class Then(_Model):
    conclusion: str
    value: str | None = None


class Rule(_Model):
    """``when`` (all/any/not over facts) → ``then`` (a conclusion), explained and sourced."""

    id: str
    when: dict[str, Any] | None = None
    then: Then
    explanation: str
    source: SourceRef
    kind: Literal["definition", "consideration"] | None = None


class DecisionFile(_Model):
    decision: str
    undecided: str | None = None  # the value that means "ask a question"
    applies_when: dict[str, Any] | None = None
    rules: list[Rule] = Field(min_length=1)
    notes: list[Rule] = Field(default_factory=list)


class Claim(_Model):
    id: str
    claim: str
    patterns: list[str] = Field(min_length=1)
    correction: str
    source: SourceRef


class ClaimsFile(_Model):
    claims: list[Claim]


class Topic(_Model):
    """A concept question the sources answer in one passage; its patterns recognise it in a general question."""

    id: str
    question: str
    patterns: list[str] = Field(min_length=1)
    source: SourceRef


class TopicsFile(_Model):
    topics: list[Topic]


# -- conditions ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Leaf:
    """``fact: value``: true when the fact has that value, unknown when the fact is unknown."""

    fact: str
    value: FactValue


@dataclass(frozen=True)
class Group:
    op: Literal["all", "any", "not"]
    items: tuple[Leaf | Group, ...]


Condition = Leaf | Group


def condition_facts(node: Condition | None) -> list[str]:
    """Fact ids a condition reads, in order of appearance, without repeats."""
    if node is None:
        return []
    if isinstance(node, Leaf):
        return [node.fact]
    return list(dict.fromkeys(f for item in node.items for f in condition_facts(item)))


def truth(node: Condition | None, values: dict[str, FactValue | None]) -> bool | None:
    """Kleene three-valued truth of a condition (None = unknown); no condition is always true."""
    if node is None:
        return True
    if isinstance(node, Leaf):
        actual = values.get(node.fact)
        return None if actual is None else actual == node.value
    results = [truth(item, values) for item in node.items]
    if node.op == "not":
        return None if results[0] is None else not results[0]
    if node.op == "all":
        return False if False in results else (None if None in results else True)
    return True if True in results else (None if None in results else False)


# -- the loaded rule set ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    decision: str
    condition: Condition | None
    kind: Literal["rule", "note"]

    @property
    def id(self) -> str:
        return self.rule.id


@dataclass(frozen=True)
class DecisionSpec:
    name: str
    domain: list[str]
    undecided: str | None
    applies_when: Condition | None
    rules: list[CompiledRule]
    notes: list[CompiledRule]
    path: str


@dataclass
class RuleSet:
    """Facts, decisions (in verdict order), claims and the compiled patterns the extractor uses."""

    facts: dict[str, Fact]
    decisions: list[DecisionSpec]
    claims: list[Claim]
    negation: Negation
    answers: dict[str, list[str]]
    classification_questions: list[re.Pattern] = field(default_factory=list)  # a closing "does that count?"
    set_aside_sentences: list[re.Pattern] = field(default_factory=list)  # options still open, arrangements ended
    patterns: dict[tuple[str, str], list[LexicalPattern]] = field(default_factory=dict)  # (fact, detector) → compiled
    vocabulary: dict[str, str] = field(default_factory=dict)  # vocabulary → its expanded alternation
    scanners: dict[str, re.Pattern] = field(default_factory=dict)  # vocabulary → where its terms can start
    claim_patterns: dict[str, list[re.Pattern]] = field(default_factory=dict)
    topics: list[Topic] = field(default_factory=list)
    topic_patterns: dict[str, list[re.Pattern]] = field(default_factory=dict)

    def topics_for(self, question: str) -> list[Topic]:
        """The topics whose patterns match the question (typography folded), in file order."""
        text = normalise(question)
        return [t for t in self.topics if any(p.search(text) for p in self.topic_patterns[t.id])]

    def decision(self, name: str) -> DecisionSpec:
        return next(d for d in self.decisions if d.name == name)

    def rule(self, rule_id: str) -> CompiledRule:
        return next(r for d in self.decisions for r in d.rules + d.notes if r.id == rule_id)

    def conclusions(self) -> dict[str, CompiledRule]:
        """Every conclusion id and the one rule that defines it."""
        return {r.rule.then.conclusion: r for d in self.decisions for r in d.rules + d.notes}

    def askable_facts(self) -> list[str]:
        """Facts whose question the engine may ask: those read by decisions that can stay undecided."""
        found = [f for d in self.decisions if d.undecided for r in d.rules for f in condition_facts(r.condition)]
        return [f for f in self.facts if f in found]


def decision_domains() -> dict[str, list[str]]:
    """The verdict fields, in order, with their allowed values (from ``assistant.models.Verdict``)."""
    domains = {}
    for name, info in Verdict.model_fields.items():
        literal = next(a for a in typing.get_args(info.annotation) if typing.get_origin(a) is Literal)
        domains[name] = list(typing.get_args(literal))
    return domains


# -- loading ------------------------------------------------------------------------------------------
class _Lines:
    """Line numbers of a YAML document's nodes, addressed by a pydantic-style location tuple."""

    def __init__(self, root: yaml.Node | None):
        self.root = root

    def __call__(self, *loc: Any) -> int:
        node = self.root
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                child = next((v for k, v in node.value if k.value == str(key) or
                              (isinstance(key, bool) and k.value.lower() == str(key).lower())), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                child = node.value[key]
            else:
                child = None
            if child is None:
                break
            node = child
        return node.start_mark.line + 1 if node is not None else 1


class _Loader:
    """Collects every problem while building the rule set."""

    def __init__(self, rules_dir: Path, sources_dir: Path, patterns: PatternCache):
        self.rules_dir = rules_dir
        self.sources_dir = sources_dir
        self.patterns = patterns
        self.problems: list[str] = []
        self.chunks: dict[str, str] | None = None

    def report(self, path: Path, line: int, message: str) -> None:
        self.problems.append(f"{path}:{line}: {message}")

    def read(self, path: Path, model: type[BaseModel]) -> tuple[BaseModel | None, _Lines]:
        text = path.read_text(encoding="utf-8")
        try:
            root = yaml.compose(text)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            self.report(path, mark.line + 1 if mark else 1, f"YAML syntax error: {getattr(exc, 'problem', exc)}")
            return None, _Lines(None)
        lines = _Lines(root)
        try:
            return model.model_validate(data if data is not None else {}), lines
        except ValidationError as exc:
            for err in exc.errors():
                loc = err["loc"]
                where = ".".join(str(p) for p in loc)
                self.report(path, lines(*loc), f"schema error at {where or 'top'}: {err['msg']}")
            return None, lines

    def check_source(self, path: Path, line: int, source: SourceRef) -> None:
        if self.chunks is None:
            try:
                self.chunks = {c.id: c.text for d in load_knowledge_sources(self.sources_dir)
                               for c in chunk_document(d)}
            except DocumentError as exc:
                self.report(path, line, f"cannot read the sources: {exc}")
                self.chunks = {}
        text = self.chunks.get(source.chunk_id)
        if text is None:
            self.report(path, line, f"unknown source passage {source.chunk_id!r}")
        elif source.quote not in text:
            self.report(path, line, f"quote not verbatim in {source.chunk_id}: {source.quote[:60]!r}")

    def compile_patterns(self, path: Path, line: int, patterns: list[str],
                         vocabulary: dict[str, str]) -> list[re.Pattern]:
        compiled = []
        for pattern in patterns:
            unknown = [n for n in VOCAB_REF.findall(pattern) if n not in vocabulary]
            if unknown:
                self.report(path, line, f"unknown vocabulary {unknown} in pattern {pattern[:50]!r}")
                continue
            expanded = VOCAB_REF.sub(lambda m: vocabulary[m.group(1)], pattern)
            try:
                compiled.append(self.patterns.compile(expanded))
            except re.error as exc:
                self.report(path, line, f"invalid pattern {pattern[:50]!r}: {exc}")
        return compiled

    def parse_condition(self, raw: Any, path: Path, line: int, known: dict[str, list[FactValue]]) -> Condition | None:
        if not isinstance(raw, dict) or len(raw) != 1:
            self.report(path, line, f"a condition is a one-key mapping (all/any/not or fact: value), got {raw!r}")
            return None
        (key, value), = raw.items()
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                self.report(path, line, f"'{key}' needs a non-empty list")
                return None
            items = [self.parse_condition(v, path, line, known) for v in value]
            return Group(key, tuple(items)) if None not in items else None
        if key == "not":
            item = self.parse_condition(value, path, line, known)
            return Group("not", (item,)) if item is not None else None
        if key not in known:
            self.report(path, line, f"unknown fact {key!r}")
            return None
        if value not in known[key] or isinstance(value, bool) != isinstance(known[key][0], bool):
            self.report(path, line, f"unknown value {value!r} for {key!r} (allowed: {known[key]})")
            return None
        return Leaf(key, value)


def _never_fires(rule: Condition | None, earlier: list[Condition | None], domains: dict[str, list]) -> bool:
    """True when no assignment makes the condition true while every earlier rule is not true.

    Facts outside the rule are left unknown (that can only make earlier rules less true); the rule's own
    facts range over their values, then also over unknown when there are few of them.
    """
    facts = condition_facts(rule)
    for with_unknown in (False, True):
        if with_unknown and len(facts) > 7:
            break
        spaces = [domains[f] + ([None] if with_unknown else []) for f in facts]
        for combo in itertools.product(*spaces):
            values = dict(zip(facts, combo))
            if truth(rule, values) is True and all(truth(e, values) is not True for e in earlier):
                return False
    return True


def load_ruleset(rules_dir: Path, sources_dir: Path, cache_dir: Path | None = None) -> RuleSet:
    """Read and validate the rule set; raise ``RuleSetError`` listing every problem found.

    ``cache_dir`` keeps the compiled patterns between processes (see ``pattern_cache``); without it they are
    compiled once per process.
    """
    pattern_cache = PatternCache(cache_dir)
    loader = _Loader(Path(rules_dir), Path(sources_dir), pattern_cache)
    facts_path = loader.rules_dir / FACTS_FILE
    if not facts_path.is_file():
        raise RuleSetError([f"{facts_path}:1: missing facts file"])
    facts_file, flines = loader.read(facts_path, FactsFile)
    decision_files = []
    for path in sorted(loader.rules_dir.glob("*.yaml")):
        if path.name not in (FACTS_FILE, CLAIMS_FILE, TOPICS_FILE):
            parsed, lines = loader.read(path, DecisionFile)
            decision_files.append((path, parsed, lines))
    if facts_file is None:
        raise RuleSetError(loader.problems)

    # facts
    vocabulary: dict[str, str] = {}
    for name, terms in facts_file.vocabulary.items():  # a term may use the vocabularies defined above it
        unknown = sorted({ref for term in terms for ref in VOCAB_REF.findall(term)} - vocabulary.keys())
        if unknown:
            loader.report(facts_path, flines("vocabulary", name), f"vocabulary {name!r} uses {unknown}, "
                                                                  "which are not defined above it")
            continue
        vocabulary[name] = vocabulary_alternation([VOCAB_REF.sub(lambda m: vocabulary[m.group(1)], term)
                                                   for term in terms])
    facts: dict[str, Fact] = {}
    patterns: dict[tuple[str, str], list[LexicalPattern]] = {}
    for i, fact in enumerate(facts_file.facts):
        line = flines("facts", i)
        if fact.id in facts:
            loader.report(facts_path, line, f"duplicate fact id {fact.id!r}")
            continue
        if fact.type == "enum" and not fact.values:
            loader.report(facts_path, line, f"enum fact {fact.id!r} needs values")
            continue
        facts[fact.id] = fact
        domain = fact.domain
        typed = [v for v in [fact.default, *(fact.answers or {}).values()] if v is not None]
        typed += [d.value for d in fact.detectors.lexical]
        if fact.detectors.semantic:
            typed += [k for k in fact.detectors.semantic.prototypes if k != "none"]
        for value in typed:
            if value not in domain or isinstance(value, bool) != (fact.type == "boolean"):
                loader.report(facts_path, line, f"unknown value {value!r} for fact {fact.id!r} (allowed: {domain})")
        loader.check_source(facts_path, flines("facts", i, "source"), fact.source)
        for j, det in enumerate(fact.detectors.lexical):
            det_line = flines("facts", i, "detectors", "lexical", j)
            sources = split_vocabulary_patterns(det.patterns, facts_file.vocabulary)
            compiled = loader.compile_patterns(facts_path, det_line, [regex for regex, _ in sources], vocabulary)
            patterns[(fact.id, det.id)] = [
                LexicalPattern(regex, leading_vocabulary(lead), pattern_cache.needs(regex))
                for regex, (_, lead) in zip(compiled, sources)]
    for i, fact in enumerate(facts_file.facts):
        semantic = fact.detectors.semantic
        for other in semantic.yields_to if semantic else []:
            if other not in facts or facts[other].type != "boolean":
                loader.report(facts_path, flines("facts", i, "detectors", "semantic"),
                              f"semantic detector of {fact.id!r} yields to {other!r}, which is not a boolean fact")
    for key, regexes in facts_file.answers.items():
        loader.compile_patterns(facts_path, flines("answers", key), regexes, vocabulary)

    def compiled_one_by_one(key: str) -> list[re.Pattern]:
        """A list of patterns of the facts file, compiled one by one so that an error names its line."""
        return [compiled for i, pattern in enumerate(getattr(facts_file, key))
                for compiled in loader.compile_patterns(facts_path, flines(key, i), [pattern], vocabulary)]

    classification_questions = compiled_one_by_one("classification_questions")
    set_aside_sentences = compiled_one_by_one("undecided_options") + compiled_one_by_one("former_arrangements")
    loader.compile_patterns(facts_path, flines("negation"), facts_file.negation.cues + [facts_file.negation.clause_breaks], {})

    # decisions
    domains = decision_domains()
    known: dict[str, list[FactValue]] = {f.id: f.domain for f in facts.values()}
    by_name = {parsed.decision: (path, parsed, lines) for path, parsed, lines in decision_files if parsed}
    for path, parsed, lines in decision_files:
        if parsed and parsed.decision not in domains:
            loader.report(path, lines("decision"), f"unknown decision {parsed.decision!r} (allowed: {list(domains)})")
    for name in domains:
        if name not in by_name and not loader.problems:
            loader.report(loader.rules_dir, 1, f"no rules file for decision {name!r}")
    seen_ids: dict[str, str] = {}
    seen_conclusions: dict[str, str] = {}
    decisions: list[DecisionSpec] = []
    for name, domain in domains.items():
        if name not in by_name:
            continue
        path, spec, lines = by_name[name]
        before = {d.name: d.domain for d in decisions}
        if spec.undecided is not None and spec.undecided not in domain:
            loader.report(path, lines("undecided"), f"unknown value {spec.undecided!r} for {name}")
        applies = (loader.parse_condition(spec.applies_when, path, lines("applies_when"), {**known, **before})
                   if spec.applies_when else None)
        compiled: dict[str, list[CompiledRule]] = {"rules": [], "notes": []}
        for section in ("rules", "notes"):
            scope = {**known, **before, **({name: domain} if section == "notes" else {})}
            for i, rule in enumerate(getattr(spec, section)):
                line = lines(section, i)
                where = f"{path}:{line}"
                if rule.id in seen_ids:
                    loader.report(path, line, f"duplicate rule id {rule.id!r} (first at {seen_ids[rule.id]})")
                seen_ids.setdefault(rule.id, where)
                conclusion = rule.then.conclusion
                if conclusion in seen_conclusions:
                    loader.report(path, line, f"conclusion {conclusion!r} defined twice (first at "
                                              f"{seen_conclusions[conclusion]})")
                seen_conclusions.setdefault(conclusion, where)
                if section == "rules" and rule.then.value not in domain:
                    loader.report(path, lines(section, i, "then"),
                                  f"rule {rule.id!r} must conclude a value of {name}: {domain}")
                if section == "notes" and (rule.then.value is not None or rule.kind is None):
                    loader.report(path, line, f"note {rule.id!r} needs a kind and no value")
                if section == "rules" and rule.when is None and i != len(spec.rules) - 1:
                    loader.report(path, line, f"only the last rule may have no 'when' ({rule.id!r})")
                if section == "rules" and i == len(spec.rules) - 1 and rule.when is not None:
                    loader.report(path, line, f"the last rule of {name} must have no 'when' (the outcome otherwise)")
                condition = (loader.parse_condition(rule.when, path, lines(section, i, "when"), scope)
                             if rule.when is not None else None)
                fields = {f for _, f, _, _ in string.Formatter().parse(rule.explanation) if f}
                for unknown in sorted(fields - set(facts)):
                    loader.report(path, lines(section, i, "explanation"), f"unknown fact {{{unknown}}} in explanation")
                loader.check_source(path, lines(section, i, "source"), rule.source)
                item = CompiledRule(rule, name, condition, "rule" if section == "rules" else "note")
                if rule.when is not None and condition is not None:
                    earlier = [r.condition for r in compiled["rules"]] if section == "rules" else []
                    if _never_fires(condition, earlier, {**known, **before, name: domain}):
                        loader.report(path, line, f"rule {rule.id!r} can never fire (contradictory conditions "
                                                  f"or always pre-empted by an earlier rule)")
                compiled[section].append(item)
        decisions.append(DecisionSpec(name, domain, spec.undecided, applies, compiled["rules"],
                                      compiled["notes"], str(path)))

    claims, claim_patterns = _load_patterned(loader, CLAIMS_FILE, ClaimsFile, "claims", {}, seen_ids)
    topics, topic_patterns = _load_patterned(loader, TOPICS_FILE, TopicsFile, "topics", vocabulary, seen_ids)

    if loader.problems:
        raise RuleSetError(loader.problems)
    pattern_cache.save()
    return RuleSet(facts=facts, decisions=decisions, claims=claims, negation=facts_file.negation,
                   answers=dict(facts_file.answers), classification_questions=classification_questions,
                   set_aside_sentences=set_aside_sentences,
                   patterns=patterns, claim_patterns=claim_patterns, topics=topics, topic_patterns=topic_patterns,
                   vocabulary=vocabulary, scanners=vocabulary_scanners(vocabulary))


def _load_patterned(loader: _Loader, name: str, model: type[BaseModel], key: str, vocabulary: dict[str, str],
                    seen_ids: dict[str, str]) -> tuple[list, dict[str, list[re.Pattern]]]:
    """Entries with patterns and a source (claims, topics) from an optional file: checked, patterns compiled."""
    path = loader.rules_dir / name
    if not path.is_file():
        return [], {}
    parsed, lines = loader.read(path, model)
    entries, compiled = [], {}
    for i, entry in enumerate(getattr(parsed, key) if parsed is not None else []):
        line = lines(key, i)
        if entry.id in seen_ids:
            loader.report(path, line, f"duplicate id {entry.id!r}")
        seen_ids.setdefault(entry.id, f"{path}:{line}")
        loader.check_source(path, lines(key, i, "source"), entry.source)
        compiled[entry.id] = loader.compile_patterns(path, line, entry.patterns, vocabulary)
        entries.append(entry)
    return entries, compiled


def check_rules(rules_dir: Path, sources_dir: Path) -> list[str]:
    """Every problem of the rule set as ``path:line: message`` (empty when it is valid)."""
    try:
        load_ruleset(rules_dir, sources_dir)
    except RuleSetError as exc:
        return exc.problems
    return []
