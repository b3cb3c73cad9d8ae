"""Tools to run the webhook service for real on loopback: a fake Slack, request signing, a server process.

Used by the tests (tests/test_webhook*.py) and the load benchmark (evals/bench_webhook.py); nothing
here talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

SAMPLE_QUESTION = ("We want households to sort their recycling into three bins at home instead of having our depot "
                   "staff sort it. Is that co-production, and should we do it?")
"""A question the advisor answers with a full verdict (co-production, optional, with citations)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's signature headers for ``body`` (``v0`` HMAC-SHA256 of ``v0:{ts}:{body}``)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


# -- a fake Slack ---------------------------------------------------------------------------------------
@dataclass
class Received:
    """One request the fake Slack received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.time)


class FakeSlack:
    """A Slack Web API (``chat.postMessage``) and ``response_url`` endpoint on 127.0.0.1.

    ``api_url`` is the base URL for ``COPROD_SLACK_API_URL``; ``response_url(name)`` gives a URL whose
    posts are recorded under ``/response/<name>``.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._ts = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = (self.headers.get("Content-Type") or "").split(";")[0]
                try:
                    body = json.loads(raw) if ctype == "application/json" else {
                        k: v[0] for k, v in parse_qs(raw.decode()).items()}
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                with fake._lock:
                    fake.received.append(Received(self.path, dict(self.headers), body))
                    fake._ts += 1
                    ts = f"1700000000.{fake._ts:06d}"
                if self.path.startswith("/api/"):
                    reply = json.dumps({"ok": True, "channel": body.get("channel"), "ts": ts}).encode()
                    ctype_out = "application/json"
                else:
                    reply, ctype_out = b"ok", "text/plain"
                self.send_response(200)
                self.send_header("Content-Type", ctype_out)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def posts(self, prefix: str = "") -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.startswith(prefix)]

    def wait_for(self, prefix: str, count: int = 1, timeout: float = 60.0) -> list[Received]:
        """The posts under ``prefix`` once there are at least ``count`` (raises TimeoutError)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.posts(prefix)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise TimeoutError(f"{len(self.posts(prefix))} posts to {prefix!r} after {timeout} s, wanted {count}")


# -- the service in a process ------------------------------------------------------------------------------
class ServerProcess:
    """``coprod serve-webhook`` in a subprocess on a free loopback port, its log captured to a file."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, insecure_dev: bool = False,
                 log_level: str = "info", port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {**os.environ, **env, "COPROD_LOG_LEVEL": log_level, "PYTHONUNBUFFERED": "1"}
        self.args = [sys.executable, "-c", "from assistant.cli import app; app()", "serve-webhook",
                     "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        if insecure_dev:
            self.args.append("--insecure-dev")
        self._log = tempfile.NamedTemporaryFile(prefix="coprod-webhook-", suffix=".log", delete=False)
        self.log_path = Path(self._log.name)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0, ready: bool = True) -> ServerProcess:
        """Start and wait for ``/healthz`` (and, with ``ready``, for the advisor in every worker)."""
        self.process = subprocess.Popen(self.args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.time() + timeout
        ready_pids: set[int] = set()
        # No keep-alive: each poll is a new connection, so every worker gets asked in time.
        with httpx.Client(timeout=2, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            while time.time() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log()[-4000:]}")
                try:
                    health = client.get(f"{self.url}/healthz").json()
                except (httpx.HTTPError, ValueError):
                    time.sleep(0.2)
                    continue
                if health.get("advisor") == "error":
                    raise RuntimeError(f"the advisor failed to start:\n{self.log()[-4000:]}")
                if not ready:
                    return self
                if health.get("advisor") == "ready":
                    ready_pids.add(health["pid"])
                    if len(ready_pids) >= self.workers:
                        return self
                time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"the server was not ready in {timeout} s:\n{self.log()[-4000:]}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop it gracefully (SIGINT to its process group), then by force."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        finally:
            self._log.flush()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def slash_body(text: str, response_url: str, *, user: str = "U1", channel: str = "C1", team: str = "T1",
               trigger_id: str | None = None) -> bytes:
    from urllib.parse import urlencode

    return urlencode({
        "token": "legacy-verification-token", "team_id": team, "team_domain": "example", "channel_id": channel,
        "channel_name": "general", "user_id": user, "user_name": "manager", "command": "/coprod", "text": text,
        "api_app_id": "A1", "response_url": response_url,
        "trigger_id": trigger_id or f"{time.time_ns()}.{os.getpid()}.{threading.get_ident()}",
    }).encode()


def event_body(event: dict[str, Any], *, event_id: str, team: str = "T1", bot_user: str = "UBOT") -> bytes:
    return json.dumps({
        "token": "legacy-verification-token", "team_id": team, "api_app_id": "A1", "type": "event_callback",
        "event_id": event_id, "event_time": int(time.time()), "event": event,
        "authorizations": [{"team_id": team, "user_id": bot_user, "is_bot": True}],
    }).encode()
