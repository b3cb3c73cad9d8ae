"""The web chat (Gradio): a thin face over the advisor, for managers.

Everything shown comes from the advisor's ``Answer`` (see ``assistant.web_render``); the only state kept
here is per browser session: the advisor's conversation id and, for feedback, which chat message holds
which answer. ``build_app(advisor)`` gives the Blocks; ``launch(advisor)`` serves it and prints the URL.

API (for ``gradio_client``): ``/chat`` takes ``message`` (and the chat ``history``, default empty) and
streams the chat; the conversation id is kept in the session, so one client is one conversation.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.advisor import AdvisorInputError
from assistant.models import Answer
from assistant.web_render import answer_markdown, error_markdown, follow_up_prompt

log = logging.getLogger(__name__)

TITLE = "Co-production advisor"
EXAMPLES = [
    "We want households to sort their recycling instead of our depot staff. Is that co-production, and should we do it?",
    "Parents of pupils are asked to read with their children every evening to improve literacy. Is this co-production?",
    "Our city held a citizens' panel to decide the budget priorities for parks. Is that co-production?",
    "We are thinking of involving residents in our service. Should we?",
    "What is the difference between co-production and citizen engagement?",
]
QUICK_REPLIES = ("Yes", "No", "Not sure")
CHAT_CONCURRENCY = 16

CSS = """
.gradio-container { max-width: 980px !important; margin: 0 auto !important; }
#cp-header h1 { font-size: 1.5rem; margin: 0.2rem 0; }
#cp-header p { margin: 0.2rem 0 0.6rem; }
.cp-card { border: 1px solid var(--border-color-primary); border-left-width: 6px; border-radius: 8px;
           padding: 0.5rem 0.8rem; margin: 0 0 0.6rem; background: var(--background-fill-secondary); }
.cp-card.cp-yes { border-left-color: #1a7f37; }
.cp-card.cp-no { border-left-color: #b42318; }
.cp-card.cp-unclear { border-left-color: #b54708; }
.cp-card.cp-general, .cp-card.cp-out { border-left-color: #475467; }
.cp-card-title { font-size: 1rem; margin: 0 0 0.3rem; }
.cp-card dl { margin: 0; display: grid; grid-template-columns: minmax(9rem, max-content) 1fr; gap: 0.2rem 0.8rem; }
.cp-card dt { font-weight: 600; }
.cp-card dd { margin: 0; }
.cp-sources, .cp-why { margin-top: 0.6rem; }
.cp-source-list, .cp-rules { padding-left: 1.2rem; margin: 0.3rem 0; }
.cp-source summary, .cp-sources > summary, .cp-why > summary, .cp-other-rules > summary { cursor: pointer; }
.cp-passage, .cp-quote { margin: 0.3rem 0 0.5rem; padding-left: 0.6rem; border-left: 3px solid var(--border-color-primary);
                         white-space: pre-wrap; }
.cp-hint, .cp-locator, .cp-rule-src, .cp-rule-id { color: var(--body-text-color-subdued); font-size: 0.9em; }
.cp-rule-status { font-weight: 600; padding: 0 0.3rem; border-radius: 4px; }
.cp-fired { background: #d1fadf; color: #054f31; }
.cp-idle { background: #f2f4f7; color: #344054; }
.cp-error { border-left: 6px solid #b42318; padding: 0.4rem 0.7rem; background: #fef3f2; color: #7a271a; border-radius: 6px; }
#cp-followup { padding: 0.5rem 0.8rem; }
#cp-followup .cp-reply button, #cp-followup button { min-width: 6rem; }
:focus-visible { outline: 3px solid #2e90fa !important; outline-offset: 2px; }
@media (max-width: 600px) {
  .gradio-container { padding: 0 6px !important; }
  #cp-header h1 { font-size: 1.2rem; }
  #cp-header p { font-size: 0.9rem; line-height: 1.35; }
  #cp-chat { height: 70vh !important; }
  .cp-card dl { grid-template-columns: 1fr; }
  .cp-card dt { margin-top: 0.3rem; }
  #cp-composer { flex-wrap: wrap; }
  #cp-composer > * { min-width: 100% !important; }
}
"""

HEADER = f"""<div id="cp-header">
<h1>{TITLE}</h1>
<p>Describe a public service situation: I tell you whether it is <strong>co-production</strong> (citizens or clients
doing part of the work of delivering the service), whether it is unavoidable or a choice, and whether to use it, with
the sources and the rules behind the verdict. Nothing leaves this machine.</p>
</div>"""


def _text(content: Any) -> str:
    """The text of a message: a string, or a list of ``{"type": "text", "text": ...}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    if isinstance(content, (list, tuple)):
        return " ".join(_text(part) for part in content)
    return "" if content is None else str(content)


def _history(history: Any) -> list[dict[str, Any]]:
    """The chat history as a list of plain ``{"role", "content"}`` dicts (Gradio may pass message objects)."""
    messages = []
    for item in history or []:
        if isinstance(item, dict):
            messages.append({"role": item.get("role", "assistant"), "content": item.get("content", "")})
        elif hasattr(item, "role"):
            messages.append({"role": item.role, "content": item.content})
    return messages


def feedback_record(answer: Answer) -> dict[str, Any]:
    """What the feedback store needs to know about an answer."""
    return {"question": answer.question, "answer": answer.answer, "verdict": answer.verdict.model_dump(),
            "in_scope": answer.in_scope, "conversation_id": answer.conversation_id}


class ChatHandlers:
    """The event handlers, as plain functions over plain values (testable without a browser)."""

    def __init__(self, advisor):
        self.advisor = advisor

    # -- chat -----------------------------------------------------------------------------------
    def chat(self, message: Any, history: Any, conversation_id: str | None,
             records: dict[str, Any] | None) -> Iterator[tuple]:
        """Stream one turn. Yields (textbox, history, conversation id, records, follow-up box, follow-up text,
        feedback status); ``gr.skip()`` where nothing changed."""
        skip = gr.skip()
        history = _history(history)
        records = dict(records or {})
        text = _text(message)
        history.append({"role": "user", "content": text})
        history.append({"role": "assistant", "content": ""})
        yield "", history, conversation_id, records, gr.update(visible=False), skip, ""
        answer: Answer | None = None
        try:
            for piece in self.advisor.stream(text, conversation_id or None):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    history[-1]["content"] += piece
                    yield skip, history, skip, skip, skip, skip, skip
        except AdvisorInputError as exc:
            history[-1]["content"] = error_markdown(str(exc))
            yield skip, history, conversation_id, records, skip, skip, skip
            return
        except Exception:  # never a traceback in the chat: log it, show a clear message with a reference
            ref = uuid.uuid4().hex[:8]
            log.exception("web chat: the advisor failed (ref %s)", ref)
            history[-1]["content"] = error_markdown(
                f"Something went wrong while answering. Please try again or rephrase; if it keeps happening, "
                f"tell the maintainers (reference {ref}).")
            yield skip, history, conversation_id, records, skip, skip, skip
            return
        if answer is None:
            history[-1]["content"] = error_markdown("The advisor returned no answer. Please try again.")
            yield skip, history, conversation_id, records, skip, skip, skip
            return
        history[-1]["content"] = answer_markdown(answer)
        records[str(len(history) - 1)] = feedback_record(answer)
        prompt = follow_up_prompt(answer)
        yield (skip, history, answer.conversation_id, records, gr.update(visible=bool(prompt)), prompt, skip)

    def quick_reply(self, reply: str):
        """A handler that sends ``reply`` (one click on a clarifying-question button)."""
        def handler(history, conversation_id, records):
            yield from self.chat(reply, history, conversation_id, records)
        handler.__name__ = f"reply_{reply.lower().replace(' ', '_')}"
        return handler

    def send_example(self, records, history, conversation_id, evt: gr.SelectData):
        """An example question clicked in the empty chat."""
        value = evt.value
        yield from self.chat(_text(value.get("text") if isinstance(value, dict) else value), history,
                             conversation_id, records)

    @staticmethod
    def new_conversation():
        """Forget the conversation id and the chat (the advisor keeps the old conversation stored)."""
        return "", [], None, {}, gr.update(visible=False), "", ""

    # -- feedback -------------------------------------------------------------------------------
    def rate(self, records: dict[str, Any] | None, index: Any, rating: int,
             comment: str | None) -> tuple[str, Any, Any]:
        """Store a rating (and comment) on the answer at chat message ``index``.

        Returns (status, comment box, the rating just stored): a comment typed afterwards is added to that rating.
        """
        records = records or {}
        if isinstance(index, (list, tuple)):
            index = index[0]
        record = records.get(str(index))
        if record is None:
            return "There is no answer to rate there yet.", gr.skip(), gr.skip()
        comment = (comment or "").strip()
        feedback_id = self.advisor.feedback.add(
            question=record["question"], answer=record["answer"], verdict=record["verdict"], rating=rating,
            comment=comment or None, channel="web", conversation_id=record["conversation_id"],
            in_scope=record["in_scope"])
        number = sorted(records, key=int).index(str(index)) + 1
        thumb = "helpful" if rating > 0 else "not helpful"
        note = " with your comment" if comment else "; you can still add a comment below"
        rated = {"id": feedback_id, "number": number}
        return f"Thank you: answer {number} marked {thumb}{note}. It helps the maintainers improve the advisor.", "", rated

    def rate_latest(self, rating: int):
        def handler(records, comment):
            records = records or {}
            if not records:
                return "Ask a question first; then rate the answer.", gr.skip(), gr.skip()
            return self.rate(records, max(records, key=int), rating, comment)
        handler.__name__ = "rate_latest_up" if rating > 0 else "rate_latest_down"
        return handler

    def on_like(self, records, comment, data: gr.LikeData):
        """The thumbs shown on each answer in the chat."""
        if data.liked is True or data.liked == "Like":
            rating = 1
        elif data.liked is False or data.liked == "Dislike":
            rating = -1
        else:
            return gr.skip(), gr.skip(), gr.skip()
        return self.rate(records, data.index, rating, comment)

    def add_comment(self, rated: dict[str, Any] | None, comment: str | None) -> tuple[str, Any]:
        """A comment typed after rating: added to this session's latest rating; kept in the box otherwise."""
        if not (comment or "").strip():
            return "Type a comment first.", gr.skip()
        if not rated or not self.advisor.feedback.add_comment(rated["id"], comment):
            return ("Rate an answer first (Helpful / Not helpful, or the thumbs on the answer); "
                    "your comment stays here and is saved with the rating."), gr.skip()
        return f"Thank you: your comment was added to your rating of answer {rated['number']}.", ""


def build_app(advisor) -> gr.Blocks:
    """The chat as Gradio Blocks (queue configured; launch it with ``launch`` or ``.launch``)."""
    h = ChatHandlers(advisor)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        conversation = gr.State(None)
        records = gr.State({})
        gr.HTML(HEADER)
        chatbot = gr.Chatbot(
            label="Conversation with the advisor", elem_id="cp-chat", height="62vh", min_height=320,
            examples=[{"text": q} for q in EXAMPLES[:4]], sanitize_html=True, buttons=["copy"],
            placeholder="**Describe a situation** in your service, or pick an example below.",
            feedback_options=("Like", "Dislike"), group_consecutive_messages=False, autoscroll=True)
        with gr.Column(visible=False, elem_id="cp-followup", variant="panel") as followup_box:
            followup_text = gr.Markdown(elem_id="cp-followup-text")
            with gr.Row():
                reply_buttons = [gr.Button(r, size="md", variant="secondary", elem_classes=["cp-reply"],
                                           elem_id=f"cp-reply-{r.lower().replace(' ', '-')}") for r in QUICK_REPLIES]
        with gr.Row(elem_id="cp-composer", equal_height=True):
            message = gr.Textbox(label="Your question or situation", elem_id="cp-input", scale=6, lines=1, max_lines=8,
                                 placeholder="Describe the situation, then press Enter",
                                 autofocus=True)
            with gr.Column(scale=1, min_width=120):
                send = gr.Button("Send", variant="primary", elem_id="cp-send")
                new = gr.Button("New conversation", elem_id="cp-new")
        with gr.Accordion("Feedback on the latest answer", open=True, elem_id="cp-feedback"):
            comment = gr.Textbox(label="Comment (optional, saved with your rating)", elem_id="cp-comment", lines=1,
                                 max_lines=4, placeholder="What was right or wrong? Type it before or after rating")
            with gr.Row():
                up = gr.Button("Helpful", elem_id="cp-up")
                down = gr.Button("Not helpful", elem_id="cp-down")
                save_comment = gr.Button("Add comment to my rating", elem_id="cp-add-comment")
            status = gr.Markdown(elem_id="cp-feedback-status")
        gr.Examples(EXAMPLES, inputs=[message], label="Example questions (click one, then Send)")

        outputs = [message, chatbot, conversation, records, followup_box, followup_text, status]
        common = dict(outputs=outputs, concurrency_limit=CHAT_CONCURRENCY, show_progress="minimal")
        gr.on([message.submit, send.click], h.chat, inputs=[message, chatbot, conversation, records],
              api_name="chat", **common)
        for button, reply in zip(reply_buttons, QUICK_REPLIES):
            button.click(h.quick_reply(reply), inputs=[chatbot, conversation, records], api_visibility="private",
                         **common)
        chatbot.example_select(h.send_example, inputs=[records, chatbot, conversation], api_visibility="private",
                               **common)
        new.click(h.new_conversation, outputs=outputs, api_visibility="private", queue=False)
        rated = gr.State(None)
        rating_io = dict(inputs=[records, comment], outputs=[status, comment, rated], api_visibility="private")
        chatbot.like(h.on_like, **rating_io)
        up.click(h.rate_latest(1), **rating_io)
        down.click(h.rate_latest(-1), **rating_io)
        gr.on([save_comment.click, comment.submit], h.add_comment, inputs=[rated, comment], outputs=[status, comment],
              api_visibility="private")
    demo.queue(default_concurrency_limit=CHAT_CONCURRENCY)
    return demo


def theme() -> gr.themes.Base:
    """The default look with system fonts only (no web fonts fetched: the app runs offline)."""
    return gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"],
                             font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"])


def launch(advisor, host: str | None = None, port: int | None = None, **kw) -> gr.Blocks:
    """Serve the chat (share links and analytics off; auth from settings when both are set) and print the URL.

    Blocks until stopped unless ``prevent_thread_lock=True`` is given; returns the Blocks (``.close()`` it).
    """
    settings = advisor.settings
    demo = build_app(advisor)
    auth = None
    if settings.web_username and settings.web_password:
        auth = (settings.web_username, settings.web_password.get_secret_value())
    block = not kw.pop("prevent_thread_lock", False)
    options = dict(server_name=host or settings.web_host, server_port=port or settings.web_port, share=False,
                   auth=auth, show_error=False, quiet=True, ssr_mode=False, pwa=False, mcp_server=False,
                   enable_monitoring=False, footer_links=["api"], theme=theme(), css=CSS)
    options.update(kw)
    _, local_url, _ = demo.launch(prevent_thread_lock=True, **options)
    print(f"coprod web chat: {local_url}" + (" (login required)" if auth else ""), flush=True)
    if block:
        try:
            demo.block_thread()
        finally:
            demo.close()
    return demo
