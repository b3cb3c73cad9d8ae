"""The advisor: one question in, one checked answer out — the same for every face.

scope check → fact extraction → rule engine → hybrid retrieval → composer (or LLM draft) → checker.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.checker import CheckContext, RejectedClaim, load_verdict_phrases, run_checks
from assistant.composer import ComposeInput, Composer, Reason
from assistant.config import Settings, get_settings
from assistant.corpus.bibliography import BibEntry
from assistant.index.lexical import tokenize
from assistant.knowledge import bibliography
from assistant.models import Answer, Check, Citation, SearchHit, Verdict
from assistant.rules import FactExtractor, FactState, evaluate, load_ruleset
from assistant.rules.schema import Topic
from assistant.scope import ScopeChecker, ScopeDecision
from assistant.services import embeddings_for, open_retriever
from assistant.state import ConversationStore, FeedbackStore, StateStore

if TYPE_CHECKING:  # the LLM layer (LangChain chat models) is imported only when an LLM is used
    from langchain_core.language_models.chat_models import BaseChatModel

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
MARKER = re.compile(r"\[(\d+)\]")
READING_LIMIT = 3
COMMON_TITLE_WORD = 4  # a word in this many bibliography titles says nothing about a question
CHANGES_LIMIT = 4  # "what would change the advice": one line per outcome, at most this many


class AdvisorInputError(ValueError):
    """A question the advisor refuses; the message is meant for the user."""


@dataclass
class _Turn:
    """Intermediate results of one turn."""

    question: str
    conversation_id: str
    scope: ScopeDecision
    facts: FactState
    hits: list[SearchHit]
    pending: str | None
    topics: list[Topic]  # concept topics the question matches (topics.yaml)


class Advisor:
    """Orchestrates one turn; thread-safe for concurrent questions (state lives in SQLite)."""

    def __init__(self, settings: Settings | None = None, chat_model: BaseChatModel | None = None,
                 generator: str | None = None):
        self.settings = settings or get_settings()
        s = self.settings
        self.embeddings = embeddings_for(s)
        self.retriever = open_retriever(s)
        self.ruleset = load_ruleset(s.rules_dir, s.sources_dir, s.cache_dir)
        self.extractor = FactExtractor(self.ruleset, self.embeddings)
        self.scope = ScopeChecker(s.knowledge_dir / "scope.yaml")
        self.composer = Composer(s.prompts_dir)
        self.phrases = load_verdict_phrases(s.prompts_dir)
        self.claims = [RejectedClaim(c.id, tuple(self.ruleset.claim_patterns[c.id]), c.correction)
                       for c in self.ruleset.claims]
        self.reading: list[BibEntry] = bibliography(s)
        self._evidence: set[str] | None = None
        state = StateStore(s.state_db)
        self.conversations = ConversationStore(state)
        self.feedback = FeedbackStore(state)
        self.drafter = None
        if chat_model is not None or s.llm.strip().lower() != "none":
            from assistant.llm import Drafter, make_chat_model

            configured = (chat_model, generator or "llm:custom") if chat_model is not None else make_chat_model(s)
            if configured:
                self.drafter = Drafter(configured[0], configured[1], s.prompts_dir, s.llm_retries)

    # -- public API -----------------------------------------------------------------------------
    def ask(self, question: str, conversation_id: str | None = None) -> Answer:
        """Answer one question (a new conversation unless ``conversation_id`` is given)."""
        started = time.perf_counter()
        turn = self._understand(question, conversation_id)
        answer = self._answer(turn)
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        self.conversations.save_turn(turn.conversation_id, turn.question, answer.model_dump_json(),
                                     answer.facts, turn.pending)
        return answer

    def stream(self, question: str, conversation_id: str | None = None) -> Iterator[str | Answer]:
        """The checked answer's text in pieces (words), then the ``Answer`` itself."""
        answer = self.ask(question, conversation_id)
        for piece in re.findall(r"\S+\s*", answer.answer):
            yield piece
        yield answer

    # -- steps ----------------------------------------------------------------------------------
    def _understand(self, question: str, conversation_id: str | None) -> _Turn:
        text = clean_question(question, self.settings.max_question_chars)
        cid = conversation_id or ConversationStore.new_id()
        stored_facts, pending, _ = self.conversations.load(cid)
        previous = FactState.from_dict(stored_facts) if stored_facts else None
        self.retriever.refresh()
        vector = self.embeddings.query_vector(text)
        facts = self.extractor.extract(text, previous=previous, pending_fact=pending, query_vector=vector)
        hits = self.retriever.search(text, query_vector=vector)
        best = max((h.similarity for h in hits if h.similarity is not None), default=0.0)
        topics = self.ruleset.topics_for(text)
        scope = self.scope.classify(text, best, facts.stated_count, tuple(topic.id for topic in topics))
        if pending and scope.kind in ("general", "out_of_scope") and facts.stated_count:
            scope = ScopeDecision("situation", "a reply to the clarifying question")
        return _Turn(text, cid, scope, facts, hits, pending, topics)

    def _answer(self, turn: _Turn) -> Answer:
        if not turn.scope.in_scope:
            return self._out_of_scope(turn)
        verdict, data, trace = Verdict(), None, []
        if turn.scope.kind == "situation":
            decision = evaluate(self.ruleset, turn.facts)
            verdict, trace = decision.verdict, [entry.model_dump() for entry in decision.trace]
            data = ComposeInput(question=turn.question, kind="situation", verdict=verdict,
                                **reasons_from_decision(decision))
            turn.pending = decision.follow_up[0].fact if decision.follow_up else None
        else:
            anchors: dict[str, list[str]] = {}
            for topic in turn.topics:
                anchors.setdefault(topic.source.chunk_id, []).append(topic.source.quote)
            found = self.retriever.search(turn.question, kinds=["source"],
                                          query_vector=self.embeddings.query_vector(turn.question))
            sources = self.retriever.hits_for(list(anchors)) + [h for h in found if h.id not in anchors]
            rules = [h for h in turn.hits if h.kind == "rule"]
            turn.hits = sources + [h for h in rules if h.id not in {s.id for s in sources}]
            data = ComposeInput(question=turn.question, kind="general", verdict=verdict, passages=turn.hits,
                                anchors=anchors)
        data.reading = self._further_reading(turn.question, data)
        context = self._context(turn, verdict)
        text, cited = self.composer.compose(data)
        citations = self._citations(cited)
        checks = run_checks(text, citations, context)
        generator = "composer"
        if self.drafter is not None:
            text, citations, checks, generator = self._llm_answer(data, cited, turn, context, (text, citations, checks))
        if not all(c.passed for c in checks):
            text, citations, checks = self._fail_closed(verdict, data, checks, context)
        return Answer(question=turn.question, in_scope=True, verdict=verdict, answer=text, citations=citations,
                      follow_up=data.follow_up, facts=turn.facts.to_dict(), trace=trace, checks=checks,
                      generator=generator, conversation_id=turn.conversation_id)

    def _out_of_scope(self, turn: _Turn) -> Answer:
        text = self.scope.reply("other_language" if turn.scope.kind == "other_language" else "out_of_scope")
        checks = run_checks(text, [], self._context(turn, Verdict(), in_scope=False))
        checks.append(Check(name="scope", passed=True, detail=turn.scope.reason))
        return Answer(question=turn.question, in_scope=False, answer=text, facts=turn.facts.to_dict(),
                      checks=checks, conversation_id=turn.conversation_id)

    def _context(self, turn: _Turn, verdict: Verdict, in_scope: bool = True) -> CheckContext:
        allowed = {h.id for h in turn.hits} | {h.evidence_id for h in turn.hits if h.evidence_id}
        allowed |= self._rule_evidence()
        return CheckContext(verdict=verdict, in_scope=in_scope, kind=turn.scope.kind, allowed_ids=allowed,
                            lookup=self.retriever.get, phrases=self.phrases, claims=self.claims)

    def _rule_evidence(self) -> set[str]:
        """Passages the rule set quotes: always citable as the evidence of a reason."""
        if self._evidence is None:
            self._evidence = {rule.rule.source.chunk_id for spec in self.ruleset.decisions
                              for rule in spec.rules + spec.notes}
            self._evidence |= {fact.source.chunk_id for fact in self.ruleset.facts.values()}
        return self._evidence

    def _citations(self, chunk_ids: list[str]) -> list[Citation]:
        citations = []
        for marker, chunk_id in enumerate(chunk_ids, start=1):
            chunk = self.retriever.get(chunk_id)
            if chunk is not None:
                citations.append(Citation(marker=marker, id=chunk.id, source_id=chunk.source_id,
                                          title=chunk.title, locator=chunk.locator, text=chunk.text))
        return citations

    def _further_reading(self, question: str, data: ComposeInput) -> list[BibEntry]:
        """Bibliography entries whose titles share distinctive words with the question and the reasons."""
        titles = [set(tokenize(e.title)) for e in self.reading]
        common = {w for w in set().union(*titles) if sum(w in t for t in titles) >= COMMON_TITLE_WORD} if titles else set()
        words = set(tokenize(" ".join([question] + [r.text for r in data.reasons + data.considerations]))) - common
        scored = [(len(words & title), -e.number, e) for title, e in zip(titles, self.reading)]
        picked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], -s[1]))[:READING_LIMIT]
        return [entry for _, _, entry in picked]

    def _llm_answer(self, data, cited, turn, context, composed):
        """Draft with the LLM, check, re-ask once with the violations, else keep the composer's answer."""
        from assistant.llm import LLMUnavailable

        numbered = list(dict.fromkeys(cited + [h.id for h in turn.hits]))
        texts = {cid: self.retriever.get(cid).text for cid in numbered}
        verdict_lines = composed[0].split("\n\n", 1)[0] if data.kind == "situation" else ""
        messages = self.drafter.messages(data, verdict_lines, numbered, texts)
        try:
            draft = self.drafter.invoke(messages)
            citations = self._draft_citations(draft, numbered)
            checks = run_checks(draft, citations, context)
            if all(c.passed for c in checks):
                return draft, citations, checks + [Check(name="llm_draft", passed=True, detail="first draft passed")], self.drafter.generator
            violations = [f"{c.name}: {c.detail}" for c in checks if not c.passed]
            draft = self.drafter.invoke(self.drafter.repair_messages(messages, draft, violations))
            citations = self._draft_citations(draft, numbered)
            checks = run_checks(draft, citations, context)
            if all(c.passed for c in checks):
                return draft, citations, checks + [Check(name="llm_draft", passed=True, detail=f"repaired after: {'; '.join(violations)}")], self.drafter.generator
            reason = "repaired draft still failed: " + "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.passed)
        except LLMUnavailable as exc:
            reason = f"LLM unavailable ({exc})"
        text, citations, checks = composed
        return text, citations, checks + [Check(name="llm_draft", passed=True, detail=f"composer answer used: {reason}")], "composer"

    def _draft_citations(self, draft: str, numbered: list[str]) -> list[Citation]:
        """Citations for the markers a draft used; an unknown marker is left dangling for the checker."""
        used = sorted({int(n) for n in MARKER.findall(draft)})
        citations = []
        for n in used:
            if 1 <= n <= len(numbered):
                chunk = self.retriever.get(numbered[n - 1])
                citations.append(Citation(marker=n, id=chunk.id, source_id=chunk.source_id, title=chunk.title,
                                          locator=chunk.locator, text=chunk.text))
        return citations

    def _fail_closed(self, verdict: Verdict, data: ComposeInput, checks: list[Check], context: CheckContext):
        """No verified answer: give the verdict lines alone, uncited, and say so."""
        minimal = ComposeInput(question=data.question, kind=data.kind, verdict=verdict, follow_up=data.follow_up)
        text, _ = self.composer.compose(minimal)
        text += "\n\n_The full explanation could not be verified, so it is not shown._"
        final = run_checks(text, [], context)
        failed = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.passed)
        return text, [], final + [Check(name="fail_closed", passed=True, detail=f"answer withheld: {failed}")]


def clean_question(question: str, limit: int) -> str:
    """Normalise and validate a question; raise ``AdvisorInputError`` with a message for the user."""
    if not isinstance(question, str):
        raise AdvisorInputError("The question must be text.")
    text = unicodedata.normalize("NFC", question)
    text = CONTROL.sub(" ", text.replace("\r\n", "\n")).strip()
    text = re.sub(r"[ \t]+", " ", text)
    if not text:
        raise AdvisorInputError("The question is empty. Describe a public service situation or ask about co-production.")
    if len(text) > limit:
        raise AdvisorInputError(f"The question is {len(text):,} characters long; the limit is {limit:,}. "
                                "Please shorten it to the situation and what you want to know.")
    return text


def reasons_from_decision(decision) -> dict:
    """Map the engine's decision to the composer's reasons, each with the passage its rule quotes."""
    def reasons(notes) -> list[Reason]:
        return [Reason(note.text, [note.evidence]) for note in notes]

    return {
        "reasons": reasons(decision.reasons),
        "considerations": reasons(decision.considerations),
        "changes": reasons(distinct_changes(decision.changes)),
        "definition_notes": reasons(decision.definition_notes),
        "follow_up": [q.question for q in decision.follow_up],
    }


def distinct_changes(changes) -> list:
    """One change per (decision, new outcome), verdict-level ones first, at most ``CHANGES_LIMIT``."""
    seen, picked = set(), []
    for change in changes:
        if (change.decision, change.becomes) not in seen:
            seen.add((change.decision, change.becomes))
            picked.append(change)
    return picked[:CHANGES_LIMIT]
