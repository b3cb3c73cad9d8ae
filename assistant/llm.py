"""Optional LLM drafting through LangChain chat models, selected by one setting (``COPROD_LLM``).

``none`` (default) keeps everything offline. ``ollama:<model>`` uses langchain-ollama; ``openai:<model>``
uses langchain-openai with an optional base URL (vLLM, llama.cpp server, LM Studio, hosted endpoints).
The model only drafts wording: the verdict, the passages and the checks stay deterministic.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from assistant.composer import ComposeInput, Markers
from assistant.config import Settings


class LLMConfigError(ValueError):
    """The LLM setting cannot be understood."""


class LLMUnavailable(RuntimeError):
    """The endpoint failed, timed out or answered nothing usable."""


def parse_llm_setting(value: str) -> tuple[str, str] | None:
    """``none`` → None; ``provider:model`` → (provider, model)."""
    value = (value or "none").strip()
    if value.lower() == "none":
        return None
    provider, _, model = value.partition(":")
    if provider not in ("ollama", "openai") or not model:
        raise LLMConfigError(f"COPROD_LLM={value!r}: use 'none', 'ollama:<model>' or 'openai:<model>'")
    return provider, model


def make_chat_model(settings: Settings) -> tuple[BaseChatModel, str] | None:
    """The configured chat model and its generator name (``llm:<provider>:<model>``), or None."""
    parsed = parse_llm_setting(settings.llm)
    if parsed is None:
        return None
    provider, model = parsed
    if provider == "ollama":
        from langchain_ollama import ChatOllama

        chat = ChatOllama(model=model, base_url=settings.llm_base_url, temperature=0,
                          client_kwargs={"timeout": settings.llm_timeout_s})
    else:
        from langchain_openai import ChatOpenAI

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        chat = ChatOpenAI(model=model, base_url=settings.llm_base_url, api_key=key, temperature=0,
                          timeout=settings.llm_timeout_s, max_retries=settings.llm_retries)
    return chat, f"llm:{provider}:{model}"


class Drafter:
    """Asks a chat model for a draft (and once for a repair), from the templates in ``prompts/``."""

    def __init__(self, chat: BaseChatModel, generator: str, prompts_dir: Path, retries: int = 1):
        self.chat, self.generator, self.retries = chat, generator, retries
        self.system = (prompts_dir / "system.md").read_text(encoding="utf-8")
        self.draft_template = (prompts_dir / "draft.md").read_text(encoding="utf-8")
        self.repair_template = (prompts_dir / "repair.md").read_text(encoding="utf-8")

    def messages(self, data: ComposeInput, verdict_lines: str, numbered: list[str], texts: dict[str, str]):
        """The draft request: verdict, reasons and numbered passages (markers fixed in advance)."""
        marks = Markers()
        marks(numbered)
        reasons = "\n".join(f"- {r.text} {marks(r.evidence)}" for r in data.reasons + data.considerations
                            + data.definition_notes) or "- (a general question: answer from the passages)"
        passages = "\n\n".join(f"[{i}] {texts[cid]}" for i, cid in enumerate(numbered, start=1))
        follow_up = f"Clarifying question to end with: {data.follow_up[0]}\n" if data.follow_up else ""
        prompt = self.draft_template.format_map({
            "question": data.question, "verdict_lines": verdict_lines or "(no verdict: general question)",
            "reasons": reasons, "follow_up": follow_up, "passages": passages})
        return [SystemMessage(self.system), HumanMessage(prompt)]

    def repair_messages(self, messages, draft: str, violations: list[str]):
        prompt = self.repair_template.format_map({"violations": "\n".join(f"- {v}" for v in violations),
                                                  "draft": draft})
        return [*messages, AIMessage(draft), HumanMessage(prompt)]

    def invoke(self, messages) -> str:
        """One completion, retried on failure; raises ``LLMUnavailable`` with the reason."""
        last: Exception | None = None
        for _ in range(self.retries + 1):
            try:
                reply = self.chat.invoke(messages)
                text = reply.content if isinstance(reply.content, str) else "".join(
                    part.get("text", "") if isinstance(part, dict) else str(part) for part in reply.content)
                if text.strip():
                    return text.strip()
                last = LLMUnavailable("empty reply")
            except Exception as exc:  # noqa: BLE001 - any client error means: fall back
                last = exc
        raise LLMUnavailable(f"{last.__class__.__name__}: {last}" if last else "no reply")
