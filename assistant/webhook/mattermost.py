"""Mattermost's Slack-compatible outgoing webhook and slash command: ``POST /mattermost``.

Both send form fields (or JSON, when the integration is set to) with a ``token`` that is compared in
constant time with ``COPROD_MATTERMOST_TOKEN``. The answer is returned in the response as
``{"text": ...}`` (Mattermost renders Markdown, so the composer's text is used as it is).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from assistant.models import Answer
from assistant.webhook.guards import JSON, media_type, problem, same_secret, too_many

log = logging.getLogger("assistant.webhook.mattermost")
router = APIRouter(tags=["mattermost"])


def format_answer(answer: Answer) -> str:
    """The answer as Mattermost Markdown, with its sources (and a warning when nothing was cited)."""
    parts = [answer.answer.strip()]
    if answer.citations:
        parts.append("**Sources**\n" + "\n".join(f"[{c.marker}] {c.title} — {c.locator}" for c in answer.citations))
    else:
        parts.append(":warning: _No source was cited for this answer._")
    return "\n\n".join(parts)


async def _fields(request: Request, body: bytes) -> dict[str, Any] | None:
    if media_type(request.headers.get("content-type")) == JSON:
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


@router.post("/mattermost", summary="Mattermost outgoing webhook / slash command", response_model=None)
async def mattermost(request: Request) -> Response:
    service = request.app.state.service
    body = await request.body()
    fields = await _fields(request, body)
    if fields is None:
        return problem(400, "the body is not a JSON object")
    expected = service.settings.mattermost_token
    if not same_secret(str(fields.get("token") or ""), expected.get_secret_value() if expected else None):
        service.count("rejected_token")
        log.info("rejected /mattermost: bad or missing token")
        return problem(401, "invalid token")
    text = str(fields.get("text") or "").strip()
    trigger = str(fields.get("trigger_word") or "").strip()
    if trigger and text.startswith(trigger):
        text = text[len(trigger):].strip()
    if not text:
        return JSONResponse({"text": "Describe a public service situation, or ask about co-production."})
    user = f"mattermost:{fields.get('team_id', '')}:{fields.get('user_id', '')}"
    if (wait := await run_in_threadpool(service.rate, user)) > 0:
        service.count("rate_limited")
        return too_many(wait)

    from assistant.advisor import AdvisorInputError

    try:
        answer = await service.run_blocking(service.ask, text, None)
    except AdvisorInputError as exc:
        return JSONResponse({"text": str(exc), "response_type": "ephemeral"})
    reply: dict[str, Any] = {"text": format_answer(answer)}
    if fields.get("command"):  # a slash command: shown to the user alone
        reply["response_type"] = "ephemeral"
    return JSONResponse(reply)
