"""The FastAPI application: Slack (commands, events, interactions), Mattermost, the JSON API, health.

One ``WebhookService`` per process holds what the handlers share: the state store (SQLite, shared by
every worker: de-duplication, rate limits, conversations, feedback), the advisor (created lazily, once
per process, and warmed in the background at start-up) and a thread pool where answers are computed,
so that Slack gets its acknowledgement at once and the answer follows through ``response_url`` or
``chat.postMessage``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from assistant.config import Settings
from assistant.models import Answer
from assistant.state import ConversationStore, FeedbackStore, RateLimiter, SeenKeys, StateStore
from assistant.webhook import logs
from assistant.webhook.guards import BodyGuard

log = logging.getLogger("assistant.webhook")

SETTINGS_ENV = "COPROD_WEBHOOK_SETTINGS_JSON"  # how ``serve`` hands its settings to worker processes
INSECURE_ENV = "COPROD_WEBHOOK_INSECURE_DEV"
ANSWER_THREADS = 1  # answers queue on one core; the other stays free for acknowledgements
GIL_SWITCH_INTERVAL_S = 0.0005


class WebhookService:
    """What the handlers of one process share."""

    def __init__(self, settings: Settings, *, insecure_dev: bool = False,
                 advisor_factory: Callable[[Settings], Any] | None = None):
        self.settings = settings
        self.insecure_dev = insecure_dev
        self.state = StateStore(settings.state_db)
        self.seen = SeenKeys(self.state)
        self.limiter = RateLimiter(self.state, settings.rate_limit_per_minute)
        self.conversations = ConversationStore(self.state)
        self.feedback = FeedbackStore(self.state)
        self.metrics: Counter[str] = Counter()
        self._advisor_factory = advisor_factory
        self._advisor = None
        self._advisor_error: str | None = None
        self._advisor_lock = threading.Lock()
        self._metrics_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=ANSWER_THREADS, thread_name_prefix="coprod-answer")
        self._slack_client = None

    # -- the advisor ------------------------------------------------------------------------------
    def advisor(self):
        """The process's advisor, created on first use (thread-safe)."""
        if self._advisor is None:
            with self._advisor_lock:
                if self._advisor is None:
                    started = time.perf_counter()
                    try:
                        if self._advisor_factory is not None:
                            self._advisor = self._advisor_factory(self.settings)
                        else:
                            from assistant.advisor import Advisor

                            self._advisor = Advisor(self.settings)
                    except Exception as exc:
                        self._advisor_error = f"{type(exc).__name__}: {exc}"
                        raise
                    self._advisor_error = None
                    log.info("advisor ready in %.1f s", time.perf_counter() - started)
        return self._advisor

    @property
    def advisor_status(self) -> str:
        if self._advisor is not None:
            return "ready"
        return "error" if self._advisor_error else "starting"

    def warm_up(self) -> None:
        """Create the advisor in the background so that the first question does not wait for it."""
        def run():
            try:
                self.advisor()
            except Exception:
                log.exception("the advisor could not be created (is the index built? run `coprod ingest`)")

        threading.Thread(target=run, name="coprod-warm-up", daemon=True).start()

    def ask(self, question: str, conversation_id: str | None = None) -> Answer:
        """Ask the advisor (raises ``AdvisorInputError`` for a question it refuses)."""
        self.count("advisor_calls")
        return self.advisor().ask(question, conversation_id)

    def admit(self, user: str, key: str) -> tuple[float, bool]:
        """The acknowledgement's two writes: (seconds to wait under the rate limit, first time for ``key``).

        The key is only recorded when the request is within the rate limit. The writes of one process
        are serialised here: SQLite's busy handler backs off in sleeps of up to 100 ms, which would
        show in the acknowledgement latency if this process's own threads contended for the lock.
        """
        with self._write_lock:
            wait = self.limiter.check(user)
            if wait > 0:
                return wait, False
            return 0.0, self.seen.first_time(key)

    def rate(self, user: str) -> float:
        with self._write_lock:
            return self.limiter.check(user)

    def first_time(self, key: str) -> bool:
        with self._write_lock:
            return self.seen.first_time(key)

    def turn_number(self, conversation_id: str) -> int:
        """The number of turns stored for a conversation (the latest answer's turn)."""
        return self.conversations.load(conversation_id)[2]

    # -- background work --------------------------------------------------------------------------
    def submit(self, name: str, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` in the answer pool; failures are logged, never raised into a request."""
        def done(future: Future) -> None:
            exc = future.exception()
            if exc is not None:
                self.count("background_errors")
                log.error("background job %s failed: %s: %s", name, type(exc).__name__, exc)

        future = self._executor.submit(fn, *args)
        future.add_done_callback(done)
        return future

    def run_blocking(self, fn: Callable[..., Any], *args: Any):
        """Await ``fn(*args)`` in the answer pool (for synchronous replies: Mattermost, the JSON API)."""
        import asyncio

        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def shutdown(self) -> None:
        """Finish the answers already queued (so they are delivered), then stop."""
        self._executor.shutdown(wait=True)

    def count(self, key: str, n: int = 1) -> None:
        with self._metrics_lock:
            self.metrics[key] += n

    # -- Slack Web API ----------------------------------------------------------------------------
    def slack_client(self):
        """A ``slack_sdk.WebClient`` on the configured API base URL (one per process)."""
        if self._slack_client is None:
            from slack_sdk import WebClient

            token = self.settings.slack_bot_token.get_secret_value() if self.settings.slack_bot_token else None
            self._slack_client = WebClient(token=token, base_url=self.settings.slack_api_url, timeout=15,
                                           logger=logging.getLogger("assistant.webhook.slack_api"))
        return self._slack_client


def _leave_room_for_acknowledgements() -> None:
    """Keep answer computation from starving the event loop (Slack's 3-second acknowledgement limit):
    the model runs on one thread, and the GIL is handed over more often than every 5 ms."""
    import torch

    torch.set_num_threads(1)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def create_app(settings: Settings, *, insecure_dev: bool = False,
               advisor_factory: Callable[[Settings], Any] | None = None, warm_up: bool = True) -> FastAPI:
    """The webhook service as a FastAPI application (one per process)."""
    from assistant.webhook import api, mattermost, slack

    logs.register_secrets(settings)
    _leave_room_for_acknowledgements()
    service = WebhookService(settings, insecure_dev=insecure_dev, advisor_factory=advisor_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm_up:
            service.warm_up()
        if insecure_dev and not settings.slack_signing_secret:
            log.warning("insecure dev mode: Slack request signatures are NOT verified")
        yield
        service.shutdown()

    app = FastAPI(
        title="coprod webhook",
        version="0.1.0",
        summary="Co-production advice for public managers: Slack, Mattermost and a JSON API.",
        description=(
            "Slack slash command, events and interactions (signed with the app's signing secret), a "
            "Mattermost-compatible webhook (token), and `POST /api/ask` (bearer token) returning the answer "
            "contract. Oversized bodies get 413, wrong content types 415, bad credentials 401, and too many "
            "questions from one user 429 with `Retry-After`."
        ),
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(BodyGuard, max_body_bytes=settings.webhook_max_body_bytes)
    app.include_router(slack.router)
    app.include_router(mattermost.router)
    app.include_router(api.router)
    return app


def app_from_env() -> FastAPI:
    """App factory for uvicorn worker processes: the settings ``serve`` put in the environment."""
    raw = os.environ.get(SETTINGS_ENV)
    settings = Settings(**json.loads(raw)) if raw else Settings()
    return create_app(settings, insecure_dev=os.environ.get(INSECURE_ENV) == "1")
