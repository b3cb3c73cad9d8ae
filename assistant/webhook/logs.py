"""Logging for the webhook service: every line passes through a redactor, so no secret is ever written.

The configured secret values (signing secret, tokens) are replaced wherever they appear, and so are
the shapes secrets take in transit (``xox?-`` Slack tokens, ``Bearer`` credentials, ``v0=`` signatures,
``token=`` form fields). slack-sdk logs request headers at DEBUG level (``Authorization: Bearer
xoxb-…``); the redactor is what keeps that out of the logs.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

from assistant.config import Settings

REDACTED = "[redacted]"
LOG_LEVEL_ENV = "COPROD_LOG_LEVEL"
SECRET_FIELDS = ("slack_signing_secret", "slack_bot_token", "mattermost_token", "api_token", "llm_api_key",
                 "web_password")
PATTERNS = [
    re.compile(r"xox[abposre]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer\s+)[^\s'\",}]+"),
    re.compile(r"v0=[0-9a-f]{16,}"),
    re.compile(r"(?i)((?:^|[?&\s'\"])(?:token|signing_secret|api_key)[\"']?\s*[=:]\s*[\"']?)[^&\s'\",}]+"),
]

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secrets(settings: Settings) -> None:
    """Remember the configured secret values of ``settings`` so that log lines never show them."""
    with _lock:
        for name in SECRET_FIELDS:
            value = getattr(settings, name, None)
            if value is not None:
                raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
                if len(raw.strip()) >= 4:
                    _secrets.add(raw)


def redact(text: str) -> str:
    """``text`` with every known secret and every secret-shaped string replaced."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output (message, arguments, traceback) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingUvicornFormatter(RedactingFormatter):
    """uvicorn's default formatter (``%(levelprefix)s``), redacted."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, style: str = "%",
                 use_colors: bool | None = None):
        from uvicorn.logging import DefaultFormatter

        super().__init__(fmt, datefmt, style)
        self._inner = DefaultFormatter(fmt, datefmt, style, use_colors=use_colors)

    def format(self, record: logging.LogRecord) -> str:
        return redact(self._inner.format(record))


class RedactingAccessFormatter(RedactingUvicornFormatter):
    """uvicorn's access-log formatter, redacted (a query string may carry a token)."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, style: str = "%",
                 use_colors: bool | None = None):
        from uvicorn.logging import AccessFormatter

        RedactingFormatter.__init__(self, fmt, datefmt, style)
        self._inner = AccessFormatter(fmt, datefmt, style, use_colors=use_colors)


def log_level() -> str:
    return os.environ.get(LOG_LEVEL_ENV, "info").lower()


def uvicorn_log_config(level: str | None = None) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and the app: every handler redacts."""
    level = (level or log_level()).upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {"()": "assistant.webhook.logs.RedactingUvicornFormatter",
                        "fmt": "%(levelprefix)s %(message)s", "use_colors": False},
            "access": {"()": "assistant.webhook.logs.RedactingAccessFormatter",
                       "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
                       "use_colors": False},
            "app": {"()": "assistant.webhook.logs.RedactingFormatter",
                    "fmt": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"},
        },
        "handlers": {
            "default": {"formatter": "default", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
            "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
            "app": {"formatter": "app", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
        },
        # Everything else (the app, slack_sdk, urllib3, chromadb, ...) goes to the root's redacting handler.
        "root": {"handlers": ["app"], "level": level},
    }
