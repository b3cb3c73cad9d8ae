"""Slow webhook runs: two uvicorn workers sharing the de-duplication store, and schemathesis on /api/ask."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from assistant.webhook.testing import SAMPLE_QUESTION, ServerProcess, event_body, sign, slash_body

pytestmark = pytest.mark.slow

SECRET = "whsec-two-workers-test-only"
API_TOKEN = "api-token-two-workers-test-only"


@pytest.fixture(scope="module")
def two_workers(built_settings, fake_slack):
    env = {"COPROD_DATA_DIR": str(built_settings.data_dir), "COPROD_SLACK_SIGNING_SECRET": SECRET,
           "COPROD_SLACK_BOT_TOKEN": "xoxb-two-workers-test", "COPROD_API_TOKEN": API_TOKEN,
           "COPROD_SLACK_API_URL": fake_slack.api_url, "COPROD_RATE_LIMIT_PER_MINUTE": "100000", "COPROD_LLM": "none"}
    with ServerProcess(env, workers=2, log_level="info") as proc:
        yield proc


def worker_pids(url: str, tries: int = 60) -> set[int]:
    with httpx.Client(timeout=5, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        return {client.get(f"{url}/healthz").json()["pid"] for _ in range(tries)}


def test_both_workers_serve(two_workers):
    assert len(worker_pids(two_workers.url)) == 2


def test_retries_and_duplicates_answered_once_across_two_workers(two_workers, fake_slack):
    """Each event is delivered five times at once (the original and Slack's retries) to two workers."""
    events = [(f"Ev-2w-{i}", {"type": "app_mention", "channel": f"C-2w-{i}", "user": f"U-2w-{i}",
                              "ts": f"1700001000.{i:06d}", "text": f"<@UBOT> {SAMPLE_QUESTION}"}) for i in range(12)]

    def deliver(args):
        (event_id, event), attempt = args
        body = event_body(event, event_id=event_id)
        headers = {**sign(SECRET, body), "Content-Type": "application/json"}
        if attempt:
            headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
        with httpx.Client(timeout=10) as client:  # a new connection each time: spread over the workers
            return client.post(f"{two_workers.url}/slack/events", content=body, headers=headers).status_code

    jobs = [(e, attempt) for attempt in range(5) for e in events]
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(deliver, jobs))
    assert statuses == [200] * len(jobs)
    deadline = time.time() + 120
    while len(fake_slack.posts("/api/chat.postMessage")) < len(events) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    per_channel = Counter(p.body["channel"] for p in fake_slack.posts("/api/chat.postMessage"))
    assert per_channel == {event["channel"]: 1 for _, event in events}


def test_slash_commands_over_two_workers_each_answered_once(two_workers, fake_slack):
    bodies = [slash_body(SAMPLE_QUESTION, fake_slack.response_url(f"2w-{i}"), user=f"U-2ws-{i}",
                         trigger_id=f"2w-trigger-{i}")
              for i in range(16)]

    def send(body):
        with httpx.Client(timeout=10) as client:
            r = client.post(f"{two_workers.url}/slack/commands", content=body,
                            headers={**sign(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"})
            return r.status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, bodies + bodies)) == [200] * 32  # every command twice
    fake_slack.wait_for("/response/2w-", len(bodies), timeout=120)
    time.sleep(1.5)
    assert Counter(p.path for p in fake_slack.posts("/response/2w-")) == {f"/response/2w-{i}": 1 for i in range(16)}


def test_schemathesis_finds_no_server_error_in_api_ask(two_workers, tmp_path):
    cli = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    result = subprocess.run(
        [cli, "run", f"{two_workers.url}/openapi.json", "--include-path", "/api/ask",
         "-H", f"Authorization: Bearer {API_TOKEN}", "--checks", "not_a_server_error",
         "--phases", "examples,fuzzing", "--max-examples", "30", "--seed", "7", "--workers", "2",
         "--request-timeout", "30", "--max-time", "150", "--no-color"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)  # cwd: its .schemathesis folder
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout and "Tested: 1" in result.stdout
