"""The benchmark behind ``make bench``: ``python -m evals.bench`` → ``evals/reports/bench.{json,md}``.

The report is a list of *sections*. A section is a function that takes the shared :class:`Bench`
context and returns a dict::

    {"title": str,                      # heading in the Markdown report
     "results": {...},                  # the figures (JSON)
     "tables": [{"caption": str, "columns": [str], "rows": [[...]]}],   # rendered as Markdown tables
     "notes": [str]}                    # optional lines under the tables

Later parts of the benchmark (advisor latency, webhook load, ...) add a function to ``SECTIONS``.
Everything runs in a temporary data dir: the bench never touches the user's index.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import assistant  # noqa: F401  (offline defaults first)
from assistant.config import Settings

ROOT = Path(__file__).resolve().parent
DATASETS = ROOT / "datasets"
REPORTS = ROOT / "reports"
MODES = ("dense", "lexical", "hybrid")
MODE_LABEL = {"dense": "dense (Chroma)", "lexical": "BM25", "hybrid": "hybrid (RRF)"}


@dataclass
class Bench:
    """Shared state for the sections: a temp data dir, settings, options, and things built on the way."""

    data_root: Path
    queries: int = 200
    retrieval_set: Path = DATASETS / "retrieval.jsonl"
    cache: dict = field(default_factory=dict)

    def settings(self, name: str = "main", **overrides) -> Settings:
        return Settings(data_dir=self.data_root / name, **overrides)

    def questions(self) -> list[dict]:
        if "questions" not in self.cache:
            rows = [json.loads(line) for line in self.retrieval_set.read_text(encoding="utf-8").splitlines()
                    if line.strip()]
            self.cache["questions"] = rows
        return self.cache["questions"]

    def retriever(self):
        """A retriever over the index built by the ``index_build`` section (built here if needed)."""
        if "retriever" not in self.cache:
            from assistant.services import build_index, open_retriever

            build_index(self.settings(), progress=False)
            self.cache["retriever"] = open_retriever(self.settings())
        return self.cache["retriever"]


# -- statistics -------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# -- sections -----------------------------------------------------------------------------------------
def section_index_build(bench: Bench) -> dict:
    """Index build time from an empty data dir: cold (model load included), warm, and a no-op re-sync."""
    from assistant.embeddings import LocalEmbeddings
    from assistant.index.builder import sync_index
    from assistant.knowledge import indexed_documents
    from assistant.services import build_index

    runs = {}
    settings = bench.settings()
    started = time.perf_counter()
    report = build_index(settings, progress=False)
    runs["cold"] = (time.perf_counter() - started, report)

    # Warm: the model is loaded; a new data dir and a new embedder (no cached vectors) → all passages embedded.
    warm_settings = bench.settings("warm")
    started = time.perf_counter()
    warm = sync_index(warm_settings, indexed_documents(warm_settings), LocalEmbeddings(), progress=False)
    runs["warm"] = (time.perf_counter() - started, warm)

    started = time.perf_counter()
    noop = build_index(settings, progress=False)
    runs["no-op re-sync"] = (time.perf_counter() - started, noop)

    documents = indexed_documents(settings)
    passages = sum(len(d.chunks) for d in documents)
    results = {
        "documents": len(documents), "passages": passages,
        "cold_s": round(runs["cold"][0], 3), "warm_s": round(runs["warm"][0], 3),
        "noop_s": round(runs["no-op re-sync"][0], 3),
        "embedded": {name: r.embedded for name, (_, r) in runs.items()},
    }
    rows = [[name, f"{seconds:.2f}", r.embedded, "yes" if r.changed else "no"] for name, (seconds, r) in runs.items()]
    shutil.rmtree(warm_settings.data_dir, ignore_errors=True)
    return {
        "title": "Index build",
        "results": results,
        "tables": [{"caption": f"Building the index of {len(documents)} documents, {passages} passages "
                               "(fresh data dir)",
                    "columns": ["build", "seconds", "passages embedded", "changed"], "rows": rows}],
        "notes": ["cold = first build in a fresh process (model load and imports included); warm = model "
                  "already loaded, new data dir, nothing cached; no-op = `coprod ingest` on an up-to-date index."],
    }


def _timed_queries(bench: Bench, run: Callable[[str], object]) -> list[float]:
    questions = [row["question"] for row in bench.questions()]
    for question in questions[:5]:  # warm-up
        run(question)
    timings = []
    for n in range(bench.queries):
        question = questions[n % len(questions)]
        started = time.perf_counter()
        run(question)
        timings.append(time.perf_counter() - started)
    return timings


def section_query_latency(bench: Bench) -> dict:
    """Warm query latency per mode; the query embedding alone is the floor.

    The retriever's query-vector cache is emptied before every query, so each search pays for its own
    embedding, as a new question does (the cached case is reported too).
    """
    retriever = bench.retriever()
    embeddings = retriever.embeddings
    k = retriever.settings.retrieval_k

    def uncached(mode: str):
        def run(question: str):
            embeddings._query_cache.clear()
            return retriever.search(question, k=k, mode=mode)
        return run

    timings = {"embed": _timed_queries(bench, lambda q: embeddings.encode([q]))}
    for mode in MODES:
        timings[mode] = _timed_queries(bench, uncached(mode))
    timings["hybrid (cached query vector)"] = _timed_queries(
        bench, lambda q: retriever.search(q, k=k, mode="hybrid"))

    results = {name: {"p50_ms": ms(percentile(t, 50)), "p95_ms": ms(percentile(t, 95)),
                      "mean_ms": ms(statistics.fmean(t)), "n": len(t)} for name, t in timings.items()}
    ratio = percentile(timings["hybrid"], 50) / percentile(timings["embed"], 50)
    results["hybrid_p50_over_embed_p50"] = round(ratio, 3)
    results["target_ratio"] = 1.5
    results["target_met"] = ratio <= 1.5
    label = {"embed": "query embedding alone (floor)", **MODE_LABEL}
    rows = [[label.get(name, name), r["p50_ms"], r["p95_ms"], r["mean_ms"], r["n"]]
            for name, r in results.items() if isinstance(r, dict)]
    return {
        "title": "Query latency (warm)",
        "results": results,
        "tables": [{"caption": f"Search latency, k={k}, {bench.queries} queries each over the retrieval set",
                    "columns": ["what", "p50 ms", "p95 ms", "mean ms", "n"], "rows": rows}],
        "notes": [f"hybrid p50 / embedding p50 = **{ratio:.2f}** (target ≤ 1.5: "
                  f"{'met' if ratio <= 1.5 else 'NOT met'}).",
                  "dense and hybrid include embedding the query (cache emptied before each query); BM25 needs no "
                  "embedding."],
    }


def section_retrieval_quality(bench: Bench, k: int = 5, depth: int = 10) -> dict:
    """recall@k, hit@k and MRR@depth per mode over the source passages, as the evaluation's retrieval baseline
    computes them (the advisor searches source passages for a general question)."""
    from assistant.evaluation.baselines import RETRIEVAL_MODES, retrieval_baseline
    from assistant.evaluation.dataset import load_retrieval

    baseline = retrieval_baseline(bench.retriever(), load_retrieval(bench.retrieval_set), depth=depth)
    unknown = baseline["unknown_gold_ids"]
    results: dict = {"questions": baseline["questions"], "k": k, "mrr_depth": depth, "kinds": baseline["kinds"],
                     "unknown_gold_ids": unknown}
    for name, measured in baseline["retrievers"].items():
        per_question = measured["questions"]
        misses = [f"{q['id']} (first gold at rank {q['gold_ranks'][0] if q['gold_ranks'] else f'>{depth}'})"
                  for q in per_question if not any(r <= k for r in q["gold_ranks"])]
        results[RETRIEVAL_MODES[name]] = {
            f"recall@{k}": measured[f"recall@{k}"], f"hit@{k}": round(1 - len(misses) / max(len(per_question), 1), 4),
            "mrr": measured["mrr"], "misses": misses}
    hybrid = results["hybrid"]
    results["targets"] = {
        f"hybrid recall@{k} >= 0.95": hybrid[f"recall@{k}"] >= 0.95,
        "hybrid MRR >= 0.8": hybrid["mrr"] >= 0.8,
        "hybrid >= dense and BM25 (recall and MRR)": all(
            hybrid[m] >= results[other][m] for other in ("dense", "lexical") for m in (f"recall@{k}", "mrr")),
    }
    rows = [[MODE_LABEL[m], results[m][f"recall@{k}"], results[m][f"hit@{k}"], results[m]["mrr"],
             len(results[m]["misses"])] for m in MODES]
    notes = [f"{'met' if ok else 'NOT met'}: {name}" for name, ok in results["targets"].items()]
    if hybrid["misses"]:
        notes.append("hybrid misses: " + ", ".join(hybrid["misses"]))
    if unknown:
        notes.append("gold ids not in the index: " + ", ".join(unknown))
    return {
        "title": "Retrieval quality",
        "results": results,
        "tables": [{"caption": f"{results['questions']} manager-style questions ({bench.retrieval_set.name}), "
                               "source passages; "
                               f"recall@{k} = share of gold passages in the top {k}, hit@{k} = questions with a gold "
                               f"passage in the top {k}, MRR over the top {depth}",
                    "columns": ["mode", f"recall@{k}", f"hit@{k}", "MRR", "misses"], "rows": rows}],
        "notes": notes,
    }


SECTIONS: list[tuple[str, Callable[[Bench], dict]]] = [
    ("index_build", section_index_build),
    ("query_latency", section_query_latency),
    ("retrieval_quality", section_retrieval_quality),
    ("advisor_latency", lambda bench: _later("section_advisor_latency", bench)),
    ("extraction_engine", lambda bench: _later("section_extraction_engine", bench)),
    ("cold_start", lambda bench: _later("section_cold_start", bench)),
    ("webhook_load", lambda bench: _later("section_webhook_load", bench)),
]


def _later(name: str, bench: Bench) -> dict:
    """Sections defined in evals/bench_advisor.py (imported late: it imports this module)."""
    from evals import bench_advisor

    return getattr(bench_advisor, name)(bench)


# -- the report ----------------------------------------------------------------------------------------
def machine() -> dict:
    info = {"cpu_count": os.cpu_count(), "platform": platform.platform(), "machine": platform.machine(),
            "python": platform.python_version()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        pass
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT.parent,
                                        capture_output=True, text=True, timeout=10).stdout.strip() or None
    except OSError:  # pragma: no cover
        info["commit"] = None
    return info


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value).replace("|", "\\|")


def to_markdown(report: dict) -> str:
    m = report["machine"]
    lines = ["# coprod benchmark", "",
             f"- date: {report['date']}",
             f"- machine: {m['cpu_count']} CPUs, {m['platform']}, Python {m['python']}"
             + (f", torch {m['torch']} ({m['torch_threads']} threads)" if "torch" in m else ""),
             f"- commit: {m.get('commit') or 'unknown'}",
             f"- total time: {report['seconds']:.1f} s", ""]
    for section in report["sections"]:
        lines += [f"## {section['title']}", ""]
        if "error" in section:
            lines += [f"**failed:** `{section['error']}`", ""]
            continue
        for table in section.get("tables", []):
            if table.get("caption"):
                lines += [table["caption"] + ":", ""]
            lines.append("| " + " | ".join(table["columns"]) + " |")
            lines.append("|" + "|".join(" --- " for _ in table["columns"]) + "|")
            for row in table["rows"]:
                lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
            lines.append("")
        for note in section.get("notes", []):
            lines.append(f"- {note}")
        if section.get("notes"):
            lines.append("")
    return "\n".join(lines)


def run(names: list[str] | None = None, queries: int = 200, out_dir: Path = REPORTS,
        retrieval_set: Path = DATASETS / "retrieval.jsonl") -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="coprod-bench-") as tmp:
        bench = Bench(data_root=Path(tmp), queries=queries, retrieval_set=retrieval_set)
        sections = []
        for name, function in SECTIONS:
            if names and name not in names:
                continue
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            section_started = time.perf_counter()
            try:
                section = {"name": name, **function(bench)}
            except Exception as exc:  # one failed section does not lose the others
                section = {"name": name, "title": name, "error": f"{type(exc).__name__}: {exc}"}
            section["seconds"] = round(time.perf_counter() - section_started, 2)
            sections.append(section)
        bench.cache.clear()
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "seconds": round(time.perf_counter() - started, 2), "sections": sections}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "bench.md").write_text(to_markdown(report) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", action="append", choices=[name for name, _ in SECTIONS],
                        help="run only this section (repeatable); default: all")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per mode (default 200)")
    parser.add_argument("--retrieval-set", type=Path, default=DATASETS / "retrieval.jsonl")
    parser.add_argument("--out-dir", type=Path, default=REPORTS)
    args = parser.parse_args(argv)
    report = run(args.section, args.queries, args.out_dir, args.retrieval_set)
    print(to_markdown(report))
    print(f"\nwritten: {args.out_dir / 'bench.json'}, {args.out_dir / 'bench.md'}", file=sys.stderr)
    return 1 if any("error" in s for s in report["sections"]) else 0


if __name__ == "__main__":
    sys.exit(main())
