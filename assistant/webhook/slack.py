"""Slack's HTTP interfaces: slash command, Events API, interactivity.

Every request is verified with ``slack_sdk.signature.SignatureVerifier`` (``v0`` HMAC-SHA256 of
``v0:{timestamp}:{raw body}``, timestamp within 5 minutes, constant-time compare) on the raw body,
before it is parsed. Work that needs the advisor is queued in the service's thread pool and the
request is acknowledged at once; the answer follows through ``response_url`` (slash commands) or
``chat.postMessage`` in the thread (events). Slack's retries and duplicate ``event_id``s are
recognised through the shared SQLite store, so each is answered once whichever worker gets it.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from assistant.models import Answer
from assistant.webhook.blocks import FEEDBACK_ACTIONS, answer_message, parse_feedback_value, unescape
from assistant.webhook.guards import problem, too_many

log = logging.getLogger("assistant.webhook.slack")
router = APIRouter(prefix="/slack", tags=["slack"])

MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
PUBLIC_PREFIX = re.compile(r"^(?:--public|public|share|in_channel)\b[:\s]*", re.IGNORECASE)
HELP = ("Ask me about a public service situation, e.g. `/coprod We want households to sort recycling instead "
        "of depot staff — is that co-production, should we do it?` The answer is shown only to you; start with "
        "`public` to post it in the channel. Mention me in a channel or write to me directly to talk it through "
        "in a thread.")
THREAD_HINT = "Reply in this thread and I will refine the verdict."
SLASH_HINT = "Mention me in a channel thread (or message me) to answer it and refine the verdict, or ask again with the detail."
IGNORED_SUBTYPES_OK = {None, "thread_broadcast", "file_share"}


# -- verification ---------------------------------------------------------------------------------------
def _service(request: Request):
    return request.app.state.service


def verify(request: Request, body: bytes) -> JSONResponse | None:
    """None when the request is genuinely from Slack, else the 401 to send."""
    service = _service(request)
    secret = service.settings.slack_signing_secret
    if secret is None or not secret.get_secret_value().strip():
        if service.insecure_dev:
            return None
        return problem(401, "Slack signing secret not configured")
    timestamp = request.headers.get("x-slack-request-timestamp")
    signature = request.headers.get("x-slack-signature")
    if not timestamp or not signature:
        service.count("rejected_unsigned")
        log.info("rejected %s: unsigned", request.url.path)
        return problem(401, "missing Slack signature")
    try:
        int(timestamp)
    except ValueError:
        service.count("rejected_forged")
        return problem(401, "invalid Slack request timestamp")
    if not SignatureVerifier(secret.get_secret_value()).is_valid(body=body, timestamp=timestamp,
                                                                 signature=signature):
        service.count("rejected_signature")
        log.info("rejected %s: bad or stale signature", request.url.path)
        return problem(401, "invalid or expired Slack signature")
    return None


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


# -- delivery ---------------------------------------------------------------------------------------------
def post_to_response_url(url: str, message: dict[str, Any], response_type: str = "ephemeral") -> None:
    response = WebhookClient(url, timeout=15, logger=logging.getLogger("assistant.webhook.slack_api")).send(
        text=message.get("text"), blocks=message.get("blocks"), response_type=response_type,
        replace_original=False)
    if response.status_code != 200:
        raise RuntimeError(f"response_url answered HTTP {response.status_code}")


def _answer_or_error(service, question: str, conversation_id: str | None) -> tuple[Answer | None, str | None]:
    from assistant.advisor import AdvisorInputError

    try:
        return service.ask(question, conversation_id), None
    except AdvisorInputError as exc:
        return None, str(exc)
    except Exception as exc:  # the user gets a short apology; the log gets the cause
        log.error("the advisor failed: %s: %s", type(exc).__name__, exc)
        service.count("advisor_errors")
        return None, "Sorry, I could not answer that just now. Please try again in a moment."


def answer_slash(service, question: str, response_url: str, response_type: str) -> None:
    answer, error = _answer_or_error(service, question, None)
    if answer is None:
        message, response_type = {"text": f":warning: {error}"}, "ephemeral"
    else:
        turn = service.turn_number(answer.conversation_id)
        message = answer_message(answer, turn=turn, follow_up_hint=SLASH_HINT)
    post_to_response_url(response_url, message, response_type)
    service.count("delivered_response_url")


def answer_event(service, question: str, channel: str, thread_ts: str, conversation_id: str) -> None:
    answer, error = _answer_or_error(service, question, conversation_id)
    if answer is None:
        message = {"text": f":warning: {error}"}
    else:
        turn = service.turn_number(answer.conversation_id)
        message = answer_message(answer, turn=turn, follow_up_hint=THREAD_HINT)
    service.slack_client().chat_postMessage(channel=channel, thread_ts=thread_ts, text=message["text"],
                                            blocks=message.get("blocks"))
    service.count("delivered_chat_post")


def post_help(service, channel: str, thread_ts: str) -> None:
    service.slack_client().chat_postMessage(channel=channel, thread_ts=thread_ts, text=HELP)


# -- slash command ----------------------------------------------------------------------------------------
@router.post("/commands", summary="Slack slash command (/coprod <question>)", response_model=None)
async def slash_command(request: Request) -> Response:
    body = await request.body()
    if (denied := verify(request, body)) is not None:
        return denied
    service = _service(request)
    form = _form(body)
    if form.get("ssl_check") == "1":
        return Response(status_code=200)
    text = unescape(form.get("text", "")).strip()
    response_type = "ephemeral"
    if PUBLIC_PREFIX.match(text):
        text, response_type = PUBLIC_PREFIX.sub("", text, count=1).strip(), "in_channel"
    if not text or text.lower() in ("help", "?"):
        return JSONResponse({"response_type": "ephemeral", "text": HELP})
    response_url = form.get("response_url", "")
    if not response_url.startswith(("https://", "http://")):
        return problem(400, "missing response_url")
    user = f"slack:{form.get('team_id', '')}:{form.get('user_id', '')}"
    key = f"slack-command:{form.get('trigger_id') or form.get('response_url')}"
    wait, first = await run_in_threadpool(service.admit, user, key)
    if wait > 0:
        service.count("rate_limited")
        return too_many(wait)
    if not first:
        service.count("duplicates")
        return Response(status_code=200)
    service.submit("slash-answer", answer_slash, service, text, response_url, response_type)
    service.count("acknowledged")
    shown = text if len(text) <= 120 else text[:119] + "…"
    return JSONResponse({"response_type": "ephemeral",
                         "text": f":hourglass_flowing_sand: Thinking about “{shown}” — the answer follows here."})


# -- events -----------------------------------------------------------------------------------------------
def _bot_user(payload: dict[str, Any]) -> str | None:
    for auth in payload.get("authorizations") or []:
        if auth.get("is_bot") and auth.get("user_id"):
            return auth["user_id"]
    return None


def _is_from_a_bot(event: dict[str, Any], bot_user: str | None) -> bool:
    return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message"
                or (bot_user and event.get("user") == bot_user))


@router.post("/events", summary="Slack Events API (url_verification, app_mention, messages)", response_model=None)
async def events(request: Request) -> Response:
    body = await request.body()
    if (denied := verify(request, body)) is not None:
        return denied
    service = _service(request)
    try:
        payload = json.loads(body)
        assert isinstance(payload, dict)
    except (ValueError, AssertionError):
        return problem(400, "the body is not a JSON object")
    kind = payload.get("type")
    if kind == "url_verification":
        return JSONResponse({"challenge": str(payload.get("challenge", ""))})
    if kind != "event_callback" or not isinstance(payload.get("event"), dict):
        return Response(status_code=200)

    event = payload["event"]
    bot_user = _bot_user(payload)
    etype, channel, user = event.get("type"), event.get("channel"), event.get("user")
    raw_text = event.get("text") or ""
    if etype not in ("app_mention", "message") or not channel or not user:
        return Response(status_code=200)
    if _is_from_a_bot(event, bot_user) or event.get("subtype") not in IGNORED_SUBTYPES_OK:
        service.count("ignored_bot_or_edit")
        return Response(status_code=200)
    thread_ts = event.get("thread_ts") or event.get("ts")
    if not thread_ts:
        return Response(status_code=200)
    conversation_id = f"slack:{payload.get('team_id', '')}:{channel}:{thread_ts}"
    if etype == "message" and event.get("channel_type") != "im":
        # A channel message reaches the bot only as a reply in a thread it is already answering;
        # one that mentions the bot also arrives as an app_mention, which is answered instead.
        mentioned = (f"<@{bot_user}" in raw_text) if bot_user else bool(MENTION.search(raw_text))
        if mentioned or not event.get("thread_ts"):
            return Response(status_code=200)
        if await run_in_threadpool(service.turn_number, conversation_id) == 0:
            return Response(status_code=200)
    question = unescape(MENTION.sub(" ", raw_text)).strip()
    if not question:
        question = "help"

    event_id = payload.get("event_id") or f"{channel}:{event.get('ts')}"
    wait, first = await run_in_threadpool(service.admit, f"slack:{payload.get('team_id', '')}:{user}",
                                          f"slack-event:{event_id}")
    if wait > 0:
        service.count("rate_limited")
        return too_many(wait)
    if not first:
        service.count("duplicates")
        log.info("duplicate event %s (retry %s, %s) acknowledged, not answered again", event_id,
                 request.headers.get("x-slack-retry-num", "-"), request.headers.get("x-slack-retry-reason", "-"))
        return Response(status_code=200, headers={"X-Slack-No-Retry": "1"})
    if question.lower() in ("help", "?"):
        service.submit("event-help", post_help, service, channel, thread_ts)
    else:
        service.submit("event-answer", answer_event, service, question, channel, thread_ts, conversation_id)
    service.count("acknowledged")
    return Response(status_code=200)


# -- interactions -------------------------------------------------------------------------------------------
def _acknowledge_feedback(url: str, text: str) -> None:
    WebhookClient(url, timeout=15, logger=logging.getLogger("assistant.webhook.slack_api")).send(
        text=text, response_type="ephemeral", replace_original=False)


@router.post("/interactions", summary="Slack interactivity (the feedback buttons)", response_model=None)
async def interactions(request: Request) -> Response:
    body = await request.body()
    if (denied := verify(request, body)) is not None:
        return denied
    service = _service(request)
    try:
        payload = json.loads(_form(body).get("payload", ""))
        assert isinstance(payload, dict)
    except (ValueError, AssertionError):
        return problem(400, "missing or invalid payload")
    if payload.get("type") != "block_actions":
        return Response(status_code=200)
    user = (payload.get("user") or {}).get("id")
    recorded = []
    for action in payload.get("actions") or []:
        if action.get("action_id") not in FEEDBACK_ACTIONS:
            continue
        try:
            conversation_id, turn, rating = parse_feedback_value(action.get("value", ""))
        except (ValueError, KeyError, TypeError):
            return problem(400, "invalid feedback value")
        saved = await run_in_threadpool(record_feedback, service, conversation_id, turn, rating, user)
        recorded.append(saved)
    response_url = payload.get("response_url")
    if recorded and response_url:
        text = ("Thanks — your feedback is recorded." if any(recorded)
                else "You have already rated this answer.")
        service.submit("feedback-ack", _acknowledge_feedback, response_url, text)
    return Response(status_code=200)


def record_feedback(service, conversation_id: str, turn: int | None, rating: int, user: str | None) -> bool:
    """Store one rating for one answer (once per user and answer); False when it was already rated."""
    if not service.first_time(f"slack-feedback:{conversation_id}:{turn}:{user}"):
        return False
    history = service.conversations.history(conversation_id)
    if not history:
        log.info("feedback on an unknown conversation, not recorded")
        return False
    index = (turn - 1) if turn and 1 <= turn <= len(history) else len(history) - 1
    question, answer = history[index]
    service.feedback.add(question=question, answer=answer.get("answer", ""), verdict=answer.get("verdict", {}),
                         rating=rating, channel="slack", conversation_id=conversation_id, user=user,
                         in_scope=bool(answer.get("in_scope", True)))
    service.count("feedback")
    return True
