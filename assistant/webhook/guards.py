"""Checks that run before a request reaches a handler, let alone the advisor.

``BodyGuard`` (ASGI middleware) answers 413 for a body over the size limit (by ``Content-Length``
and while reading, so a chunked body cannot slip past) and 415 for a content type the endpoint does
not take; it buffers the (small) body so handlers read it once. The handlers then check the
signature or token (401) and the rate limit (429 with ``Retry-After``) before they queue any work.
"""

from __future__ import annotations

import hmac
import logging
import math

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("assistant.webhook")

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# Media types each endpoint accepts (paths not listed take anything).
MEDIA_TYPES: dict[str, tuple[str, ...]] = {
    "/slack/commands": (FORM,),
    "/slack/interactions": (FORM,),
    "/slack/events": (JSON,),
    "/mattermost": (FORM, JSON),
    "/api/ask": (JSON,),
}


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


class BodyGuard:
    """413 for oversized bodies, 415 for the wrong content type, before any handler runs."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, media_types: dict[str, tuple[str, ...]] | None = None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.media_types = MEDIA_TYPES if media_types is None else media_types

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = scope["path"]
        length = headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await problem(400, "invalid Content-Length")(scope, receive, send)
                return
            if declared > self.max_body_bytes:
                log.info("rejected %s: body of %d bytes over the %d-byte limit", path, declared, self.max_body_bytes)
                await problem(413, f"request body over {self.max_body_bytes} bytes")(scope, receive, send)
                return
        allowed = self.media_types.get(path)
        if allowed is not None and media_type(headers.get("content-type")) not in allowed:
            log.info("rejected %s: content type %r", path, media_type(headers.get("content-type")))
            await problem(415, f"content type must be {' or '.join(allowed)}")(scope, receive, send)
            return

        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                log.info("rejected %s: streamed body over the %d-byte limit", path, self.max_body_bytes)
                await problem(413, f"request body over {self.max_body_bytes} bytes")(scope, receive, send)
                return
            more = message.get("more_body", False)

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def same_secret(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of a presented token with the configured one (False if either is unset)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def too_many(wait_s: float) -> JSONResponse:
    seconds = max(1, math.ceil(wait_s))
    return problem(429, f"rate limit: too many questions; try again in {seconds} s",
                   headers={"Retry-After": str(seconds)})
