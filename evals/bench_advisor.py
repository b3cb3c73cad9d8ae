"""Benchmark sections for the advisor: end-to-end latency against a plain LangChain retrieval call,
extraction + engine time, concurrency, cold start and peak memory. Used by ``evals.bench``."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from evals.bench import DATASETS, Bench, ms, percentile

LATENCY_QUESTIONS = DATASETS / "tuning.jsonl"


def _questions() -> list[str]:
    rows = [json.loads(line) for line in LATENCY_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["question"] for row in rows if not row.get("history")]


def _advisor(bench: Bench):
    if "advisor" not in bench.cache:
        from assistant.advisor import Advisor
        from assistant.services import build_index

        settings = bench.settings("advisor")
        build_index(settings, progress=False)
        bench.cache["advisor"] = Advisor(settings)
    return bench.cache["advisor"]


def _stats(seconds: list[float]) -> dict:
    return {"n": len(seconds), "p50_ms": ms(percentile(seconds, 50)), "p95_ms": ms(percentile(seconds, 95)),
            "mean_ms": ms(statistics.fmean(seconds))}


def _interleaved(bench: Bench, runs: dict, questions: list[str]) -> dict[str, list[float]]:
    """Time each call on a question whose embedding is not cached (as a new question is); the contenders
    take turns on every question, so the machine's noise falls on all of them alike."""
    embeddings = _advisor(bench).embeddings
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for n in range(bench.queries + 5):
        question = questions[n % len(questions)]
        for name, run in runs.items():
            embeddings._query_cache.clear()
            started = time.perf_counter()
            run(question)
            if n >= 5:  # the first five are warm-up
                timings[name].append(time.perf_counter() - started)
    return timings


def section_advisor_latency(bench: Bench) -> dict:
    """The composer path end to end (scope, facts, rules, retrieval, compose, check, save) against a plain
    LangChain ``similarity_search`` over the same Chroma index and model, measured side by side."""
    advisor = _advisor(bench)
    questions = _questions()
    store = advisor.retriever.vectorstore
    timings = _interleaved(bench, {"embed": advisor.embeddings.query_vector,
                                   "plain": lambda q: store.similarity_search(q, k=5),
                                   "advisor": advisor.ask}, questions)
    embed, plain, single = (_stats(timings[name]) for name in ("embed", "plain", "advisor"))

    def one(question: str) -> float:
        started = time.perf_counter()
        advisor.ask(question)
        return time.perf_counter() - started

    advisor.embeddings._query_cache.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(one, [questions[n % len(questions)] + f" (run {n})" for n in range(bench.queries)]))
    wall = time.perf_counter() - started
    four = _stats(concurrent) | {"throughput_per_s": round(len(concurrent) / wall, 1)}
    ratio = round(single["p50_ms"] / plain["p50_ms"], 2)
    rows = [["query embedding alone", embed["p50_ms"], embed["p95_ms"], ""],
            ["plain LangChain similarity_search (k=5)", plain["p50_ms"], plain["p95_ms"], ""],
            ["advisor.ask, concurrency 1", single["p50_ms"], single["p95_ms"], ""],
            ["advisor.ask, concurrency 4", four["p50_ms"], four["p95_ms"], f"{four['throughput_per_s']} answers/s"]]
    return {
        "title": "Advisor latency (composer path)",
        "results": {"embedding": embed, "plain_langchain": plain, "advisor_c1": single, "advisor_c4": four,
                    "ratio_advisor_to_plain_p50": ratio, "questions": len(questions)},
        "tables": [{"caption": f"{bench.queries} questions each, from the tuning split, query cache emptied "
                               "before each call",
                    "columns": ["what", "p50 ms", "p95 ms", "note"], "rows": rows}],
        "notes": [f"advisor p50 / plain LangChain retrieval p50 = **{ratio}** (target ≤ 2)",
                  "Concurrency 4 shares one model on 2 cores: latency grows, throughput is the figure to read."],
    }


def section_extraction_engine(bench: Bench) -> dict:
    """Fact extraction plus the rule engine per question, the shared query embedding excluded."""
    from assistant.rules import evaluate

    advisor = _advisor(bench)
    questions = _questions()
    vectors = {q: advisor.embeddings.query_vector(q) for q in questions}
    timings = []
    for n in range(bench.queries * 2):
        question = questions[n % len(questions)]
        started = time.perf_counter()
        evaluate(advisor.ruleset, advisor.extractor.extract(question, query_vector=vectors[question]))
        timings.append(time.perf_counter() - started)
    stats = _stats(timings)
    return {
        "title": "Fact extraction + rule engine",
        "results": stats,
        "tables": [{"caption": "Per question, warm, query embedding excluded (it is shared with retrieval)",
                    "columns": ["n", "p50 ms", "p95 ms", "mean ms"],
                    "rows": [[stats["n"], stats["p50_ms"], stats["p95_ms"], stats["mean_ms"]]]}],
        "notes": ["target: p50 ≤ 5 ms"],
    }


def section_cold_start(bench: Bench) -> dict:
    """A new ``coprod ask`` process on a built index, and its peak memory."""
    settings = _advisor(bench).settings
    script = Path(sys.executable).with_name("coprod")
    env = {**os.environ, "COPROD_DATA_DIR": str(settings.data_dir)}
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        proc = subprocess.run([str(script), "ask", "--json", "We want residents to sort recycling at home "
                               "instead of our depot staff. Is that co-production?"],
                              env=env, capture_output=True, text=True, timeout=120)
        runs.append(time.perf_counter() - started)
        if proc.returncode:
            raise RuntimeError(proc.stderr[-500:])
    probe = ("import resource, json, sys; from assistant.advisor import Advisor; from assistant.config import "
             "get_settings; a = Advisor(get_settings()); qs = json.loads(sys.argv[1]); [a.ask(q) for q in qs]; "
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", probe, json.dumps(_questions()[:50])], env=env,
                          capture_output=True, text=True, timeout=300)
    peak_mib = round(int(proc.stdout.strip().splitlines()[-1]) / 1024, 1)
    median = round(statistics.median(runs), 2)
    return {
        "title": "Cold start and memory",
        "results": {"cold_ask_s": [round(r, 2) for r in runs], "cold_ask_median_s": median, "peak_rss_mib": peak_mib},
        "tables": [{"caption": "New process, index already built",
                    "columns": ["what", "figure"],
                    "rows": [["`coprod ask --json` wall time (median of 3)", f"{median} s"],
                             ["peak RSS after loading the advisor and answering 50 questions", f"{peak_mib} MiB"]]}],
        "notes": ["target: cold `coprod ask` ≤ 8 s"],
    }


def section_webhook_load(bench: Bench) -> dict:
    """300 signed slash commands at concurrency 20 against a real uvicorn (see evals/bench_webhook.py)."""
    from evals.bench_webhook import webhook_load_section

    r = webhook_load_section()
    ack = r["ack_ms"]
    rows = [["acknowledgement p50 / p95 / p99 ms", f"{ack['p50']} / {ack['p95']} / {ack['p99']}"],
            ["answers delivered (exactly once)", f"{r['delivered_exactly_once']} of {r['requests']}"],
            ["duplicates / missing", f"{r['duplicates']} / {r['missing']}"],
            ["errors", r["errors"]],
            ["all answers delivered in", f"{r['all_delivered_in_s']} s ({r['answers_per_s']} answers/s)"]]
    return {
        "title": "Webhook load (signed slash commands)",
        "results": r,
        "tables": [{"caption": f"{r['requests']} signed slash commands at concurrency {r['concurrency']}, "
                               f"{r['workers']} worker(s), loopback",
                    "columns": ["what", "figure"], "rows": rows}],
        "notes": ["targets: 0 errors, every answer delivered exactly once, acknowledgement p99 ≤ 300 ms "
                  f"(met: {'yes' if r['meets_targets'] else 'no'})"],
    }


SECTIONS = [
    ("advisor_latency", section_advisor_latency),
    ("extraction_engine", section_extraction_engine),
    ("cold_start", section_cold_start),
    ("webhook_load", section_webhook_load),
]
