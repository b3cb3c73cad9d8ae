"""Load test of the webhook service (loopback only, bounded): ``webhook_load_section() -> dict``.

Starts ``coprod serve-webhook`` on a free 127.0.0.1 port over a freshly built index in a temporary data
dir, sends signed slash commands (300 at concurrency 20 by default) and measures how fast each is
acknowledged; a fake Slack on 127.0.0.1 receives the answers on their ``response_url``s, and each must
arrive exactly once. ``python -m evals.bench_webhook`` prints the figures as JSON.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

QUESTIONS = [
    "We want households to sort recycling instead of depot staff. Is that co-production, should we do it?",
    "Parents help run the school library two afternoons a week. Is this co-production?",
    "Should we let residents decide the park budget through participatory budgeting?",
    "Patients monitor their own blood pressure at home and send readings to the clinic. Co-production?",
    "Volunteers from the neighbourhood shovel snow from the pavements for elderly residents with the council's equipment.",
    "What is co-production of public services?",
    "What are the costs of co-production for citizens?",
    "Job seekers write their own reintegration plan with their case worker. Should we make this the norm?",
]

SECRET = "bench-signing-secret-not-real"


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _fire(url: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], list[str]]:
    from assistant.webhook.testing import sign

    latencies: list[float] = []
    errors: list[str] = []
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        async def one(body: bytes) -> None:
            async with gate:
                headers = {**sign(SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
                started = time.perf_counter()
                try:
                    response = await client.post(f"{url}/slack/commands", content=body, headers=headers)
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    return
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors.append(f"HTTP {response.status_code}: {response.text[:200]}")

        await asyncio.gather(*(one(b) for b in bodies))
    return latencies, errors


def webhook_load_section(requests: int = 300, concurrency: int = 20, workers: int = 1,
                         deliver_timeout_s: float = 240.0, data_dir: Path | None = None) -> dict[str, Any]:
    """Run the load test and return its figures (latencies in milliseconds)."""
    from assistant.config import Settings
    from assistant.services import build_index
    from assistant.webhook.blocks import check_message
    from assistant.webhook.testing import FakeSlack, ServerProcess, slash_body

    with tempfile.TemporaryDirectory(prefix="coprod-bench-webhook-") as tmp:
        data = Path(data_dir) if data_dir else Path(tmp) / "data"
        build_index(Settings(data_dir=data), progress=False)
        with FakeSlack() as fake:
            env = {"COPROD_DATA_DIR": str(data), "COPROD_SLACK_SIGNING_SECRET": SECRET,
                   "COPROD_SLACK_API_URL": fake.api_url, "COPROD_LLM": "none"}
            server = ServerProcess(env, workers=workers, log_level="warning")
            server.start(timeout=180)
            try:
                users = max(1, requests // 10)  # ten questions per user: inside the default rate limit
                bodies = [slash_body(QUESTIONS[i % len(QUESTIONS)], fake.response_url(f"r{i}"),
                                     user=f"U{i % users:04d}", trigger_id=f"bench-{i}") for i in range(requests)]
                started = time.perf_counter()
                latencies, errors = asyncio.run(_fire(server.url, bodies, concurrency))
                acked_s = time.perf_counter() - started
                deadline = time.time() + deliver_timeout_s
                while time.time() < deadline and len(fake.posts("/response/")) < requests:
                    time.sleep(0.1)
                delivered_s = time.perf_counter() - started
                time.sleep(0.5)  # let any duplicate arrive before counting
                health = httpx.get(f"{server.url}/healthz", timeout=5).json()
            finally:
                server.stop()
        posts = fake.posts("/response/")
        per_url = Counter(p.path for p in posts)
        expected = {f"/response/r{i}" for i in range(requests)}
        missing = sorted(expected - set(per_url))
        duplicated = sorted(path for path, n in per_url.items() if n > 1)
        block_problems = sum(1 for p in posts if check_message(p.body))
        not_answers = sum(1 for p in posts if not p.body.get("blocks"))  # error messages carry no blocks
        errors += [f"not delivered: {m}" for m in missing[:5]] + [f"delivered twice: {d}" for d in duplicated[:5]]

    return {
        "requests": requests,
        "concurrency": concurrency,
        "workers": workers,
        "ack_ms": {"p50": round(percentile(latencies, 50), 1), "p95": round(percentile(latencies, 95), 1),
                   "p99": round(percentile(latencies, 99), 1), "max": round(max(latencies, default=0), 1),
                   "mean": round(statistics.fmean(latencies), 1) if latencies else None},
        "acked_in_s": round(acked_s, 2),
        "answers_delivered": len(per_url),
        "delivered_exactly_once": len(per_url) - len(duplicated),
        "duplicates": len(duplicated),
        "missing": len(missing),
        "error_replies": not_answers,
        "block_kit_violations": block_problems,
        "all_delivered_in_s": round(delivered_s, 2),
        "answers_per_s": round(len(posts) / delivered_s, 1) if delivered_s else None,
        "errors": len(errors) + not_answers + block_problems,
        "error_samples": errors[:10],
        "server_metrics": health.get("metrics", {}),
        "targets": {"errors": 0, "ack_p99_ms_max": 300, "delivered_exactly_once": requests},
        "meets_targets": (not errors and not not_answers and not block_problems and bool(latencies)
                          and percentile(latencies, 99) <= 300 and len(per_url) == requests and not duplicated),
    }


if __name__ == "__main__":
    print(json.dumps(webhook_load_section(), indent=2))
