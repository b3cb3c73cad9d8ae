"""An ``Answer`` as a Slack message: Block Kit blocks plus a fallback ``text``.

Layout (after onyx's Slack bot): the verdict in one section, the clarifying question when the rules
need one, the answer split into sections of at most 3,000 characters, the sources as context blocks,
a warning when nothing was cited, and the feedback buttons. A message never has more than 50 blocks:
when the answer would need more, its tail is cut with a note saying so. The blocks are built with
slack-sdk's Block Kit models, whose validators enforce Slack's per-block limits.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from assistant.models import Answer

MAX_BLOCKS = 50
SECTION_LIMIT = 3000  # characters of text in a section block
CONTEXT_LIMIT = 3000  # characters of text in one context element
CONTEXT_ELEMENTS = 10  # elements in a context block
FALLBACK_LIMIT = 3000  # the notification / fallback text
FEEDBACK_UP, FEEDBACK_DOWN = "coprod_feedback_up", "coprod_feedback_down"
FEEDBACK_ACTIONS = (FEEDBACK_UP, FEEDBACK_DOWN)
NO_CITATION_WARNING = (":warning: *No source was cited for this answer.* "
                       "Treat it as a pointer, not as advice you can rely on.")
TRUNCATED_NOTE = "_… the answer is too long for one Slack message; ask through the JSON API for the full text._"

LABELS = {
    "coproduction": {"yes": "yes", "no": "no", "unclear": "not decided yet"},
    "mode": {"obligatory": "obligatory", "optional": "optional"},
    "recommendation": {"recommend": "use it", "conditional": "use it under conditions",
                       "not_recommended": "not recommended"},
    "value": {"public": "public", "private": "private", "both": "public and private"},
}


# -- text ---------------------------------------------------------------------------------------------
def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves (``&``, ``<``, ``>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of message text (``&amp;``, ``&lt;``, ``&gt;``)."""
    return html.unescape(text)


_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*]\s+", re.MULTILINE)


def to_mrkdwn(markdown: str) -> str:
    """Markdown (as the composer writes it) to Slack mrkdwn, escaped."""
    text = escape(markdown)
    text = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    text = _HEADING.sub(lambda m: f"*{m.group(1).strip()}*", text)
    text = _BOLD.sub(lambda m: f"*{m.group(1)}*", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    return text


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at paragraph, then line, then word boundaries."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), 0)
        if cut < limit // 3:
            cut = window.rfind("\n")
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# -- the pieces -----------------------------------------------------------------------------------------
def verdict_line(answer: Answer) -> str:
    """One line naming the verdict (or why there is none), in mrkdwn."""
    if not answer.in_scope:
        return "*Outside what I can advise on* (co-production of public services)."
    v = answer.verdict
    if v.coproduction is None:
        return "*General question* — no verdict on a situation."
    parts = [f"*Co-production:* {LABELS['coproduction'][v.coproduction]}"]
    if v.mode:
        parts.append(f"*Mode:* {LABELS['mode'][v.mode]}")
    if v.recommendation:
        parts.append(f"*Advice:* {LABELS['recommendation'][v.recommendation]}")
    if v.value:
        parts.append(f"*Value:* {LABELS['value'][v.value]}")
    return " · ".join(parts)


def source_line(citation) -> str:
    return clip(f"[{citation.marker}] {escape(citation.title)} — {escape(citation.locator)}", CONTEXT_LIMIT)


def fallback_text(answer: Answer) -> str:
    """The plain message text: notifications, and clients that cannot show blocks."""
    plain = re.sub(r"[*_`]", "", verdict_line(answer))
    body = answer.answer.replace("**", "")
    return clip(f"{plain}\n\n{body}", FALLBACK_LIMIT)


def feedback_value(conversation_id: str, turn: int | None, rating: int) -> str:
    """The button value: which answer (conversation and turn) and which rating."""
    return json.dumps({"c": conversation_id, "n": turn, "r": rating}, separators=(",", ":"))


def parse_feedback_value(value: str) -> tuple[str, int | None, int]:
    data = json.loads(value)
    rating = int(data["r"])
    if rating not in (-1, 1):
        raise ValueError("rating must be 1 or -1")
    turn = data.get("n")
    return str(data["c"]), (int(turn) if turn is not None else None), rating


def feedback_block(conversation_id: str, turn: int | None) -> ActionsBlock:
    return ActionsBlock(block_id="coprod_feedback", elements=[
        ButtonElement(text=PlainTextObject(text=":thumbsup: Helpful", emoji=True), action_id=FEEDBACK_UP,
                      value=feedback_value(conversation_id, turn, 1), style="primary"),
        ButtonElement(text=PlainTextObject(text=":thumbsdown: Not helpful", emoji=True), action_id=FEEDBACK_DOWN,
                      value=feedback_value(conversation_id, turn, -1)),
    ])


def source_blocks(answer: Answer) -> list[ContextBlock]:
    lines = [source_line(c) for c in answer.citations]
    blocks = []
    for start in range(0, len(lines), CONTEXT_ELEMENTS):
        elements = [MarkdownTextObject(text=line) for line in lines[start:start + CONTEXT_ELEMENTS]]
        blocks.append(ContextBlock(elements=elements))
    return blocks


# -- the message -----------------------------------------------------------------------------------------
def answer_message(answer: Answer, *, turn: int | None = None, follow_up_hint: str | None = None,
                   feedback: bool = True) -> dict[str, Any]:
    """``{"text": ..., "blocks": [...]}`` for ``chat.postMessage`` or a ``response_url``.

    ``turn`` is the answer's turn number in its conversation (for the feedback buttons);
    ``follow_up_hint`` tells the user how to answer a clarifying question on this surface.
    """
    head: list = [SectionBlock(text=MarkdownTextObject(text=clip(verdict_line(answer), SECTION_LIMIT)))]
    if answer.follow_up:
        question = f":question: *To decide, I need to know:* {escape(answer.follow_up[0])}"
        if follow_up_hint:
            question += f"\n_{escape(follow_up_hint)}_"
        head.append(SectionBlock(text=MarkdownTextObject(text=clip(question, SECTION_LIMIT))))

    tail: list = []
    sources = source_blocks(answer)
    if sources:
        tail.append(DividerBlock())
        tail.extend(sources)
    else:
        tail.append(ContextBlock(elements=[MarkdownTextObject(text=NO_CITATION_WARNING)]))
    if feedback:
        tail.append(feedback_block(answer.conversation_id, turn))
    if len(head) + len(tail) > MAX_BLOCKS - 1:  # a pathological number of sources: keep the first ones
        keep = MAX_BLOCKS - 1 - len(head) - (1 if feedback else 0)
        tail = tail[:keep] + ([tail[-1]] if feedback else [])

    room = MAX_BLOCKS - len(head) - len(tail)
    pieces = split_text(to_mrkdwn(answer.answer)) or ["_(no text)_"]
    if len(pieces) > room:
        pieces = pieces[: room - 1] + [TRUNCATED_NOTE]
    body = [SectionBlock(text=MarkdownTextObject(text=piece)) for piece in pieces]

    blocks = [block.to_dict() for block in head + body + tail]  # to_dict() validates Slack's limits
    assert len(blocks) <= MAX_BLOCKS
    return {"text": fallback_text(answer), "blocks": blocks}


def check_message(message: dict[str, Any]) -> list[str]:
    """Slack's limits a message breaks (empty when it is fine); used by the tests and the bench."""
    problems = []
    blocks = message.get("blocks") or []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {MAX_BLOCKS}")
    if not (message.get("text") or "").strip():
        problems.append("no fallback text")
    for i, block in enumerate(blocks):
        if block.get("type") == "section" and len((block.get("text") or {}).get("text", "")) > SECTION_LIMIT:
            problems.append(f"block {i}: section text over {SECTION_LIMIT}")
        if block.get("type") == "context":
            if len(block.get("elements", [])) > CONTEXT_ELEMENTS:
                problems.append(f"block {i}: more than {CONTEXT_ELEMENTS} context elements")
            if any(len(e.get("text", "")) > CONTEXT_LIMIT for e in block.get("elements", [])):
                problems.append(f"block {i}: context text over {CONTEXT_LIMIT}")
    return problems
