"""``coprod eval``: run datasets through the advisor, score them, run the baselines, write the reports.

Exit codes: 0 all thresholds met; 1 a ``--min-`` threshold missed (or a case crashed the advisor, or the rule set
is invalid); 2 a malformed dataset line or an unknown metric (nothing is asked); 3 no index.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm import tqdm

from assistant.config import PACKAGE_DIR, Settings
from assistant.evaluation.dataset import Case, Dataset, DatasetError, load_datasets, load_retrieval
from assistant.evaluation.scoring import (ACCURACY_METRICS, CaseScore, aggregate, missed_thresholds, score_case,
                                          verdict_of)

EXIT_OK, EXIT_THRESHOLD, EXIT_DATASET, EXIT_NO_INDEX = 0, 1, 2, 3
PROJECT_DIR = PACKAGE_DIR.parent
EVALS_DIR = PROJECT_DIR / "evals"


def _say(message: str = "", err: bool = False) -> None:
    print(message, file=sys.stderr if err else sys.stdout, flush=True)


def default_history_path(out: Path) -> Path:
    """``evals/reports/history.jsonl`` of a source checkout; beside the report elsewhere."""
    if (EVALS_DIR / "datasets").is_dir():
        return EVALS_DIR / "reports" / "history.jsonl"
    return Path(out).parent / "history.jsonl"


def git_commit(cwd: Path = PROJECT_DIR) -> dict[str, Any]:
    """The checkout's commit and whether it has uncommitted changes (None outside git)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                    capture_output=True, text=True, timeout=5).stdout.strip())
        return {"commit": commit or None, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


# -- running the cases ----------------------------------------------------------------------------------
def ask_case(advisor, case: Case) -> tuple[Any, list[Any]]:
    """Ask a case in a fresh conversation: every ``history`` turn first, then the question."""
    conversation_id = None
    earlier = []
    for turn in case.history:
        answer = advisor.ask(turn, conversation_id)
        conversation_id = answer.conversation_id
        earlier.append(answer)
    return advisor.ask(case.question, conversation_id), earlier


def run_cases(advisor, cases: list[Case], progress: bool = True) -> list[dict[str, Any]]:
    """Each case's answer (or the error it raised) and its score, with a progress bar."""
    lookup = advisor.retriever.get
    results = []
    bar = tqdm(cases, desc="eval", unit="case", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    passed = 0
    for case in bar:
        answer, earlier, error = None, [], None
        try:
            answer, earlier = ask_case(advisor, case)
        except Exception as exc:  # one broken case must not hide the others
            error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-8))
        score = score_case(case, answer, lookup, error)
        passed += score.ok
        bar.set_postfix(passed=f"{passed}/{len(results) + 1}", refresh=False)
        results.append({"case": case, "answer": answer, "earlier": earlier, "score": score,
                        "got": verdict_of(answer)})
    bar.close()
    return results


def _case_entry(item: dict[str, Any]) -> dict[str, Any]:
    case: Case = item["case"]
    score: CaseScore = item["score"]
    entry = {
        "id": case.id, "split": case.split, "source": case.source, "question": case.question,
        "history": case.history, "expect": case.expect.model_dump(),
        "answer": item["answer"].model_dump(mode="json") if item["answer"] is not None else None,
        "pass": score.passed,
    }
    extra = {k: v for k, v in (case.model_extra or {}).items()}
    if extra:
        entry["extra"] = extra
    if item["earlier"]:
        entry["history_answers"] = [{"question": a.question, "in_scope": a.in_scope,
                                     "verdict": a.verdict.model_dump(), "follow_up": a.follow_up,
                                     "latency_ms": a.latency_ms} for a in item["earlier"]]
    problems = [c.problem if c.id is None else f"[{c.marker}] {c.id}: {c.problem}"
                for c in score.citations if not c.valid]
    if problems:
        entry["citation_problems"] = problems
    if score.missing_phrases:
        entry["missing_phrases"] = score.missing_phrases
    if score.error:
        entry["error"] = score.error
    return entry


# -- baselines -----------------------------------------------------------------------------------------
def _find_beside(datasets: list[Path], name: str) -> Path | None:
    for path in [p.parent / name for p in datasets] + [EVALS_DIR / "datasets" / name]:
        if path.is_file():
            return path
    return None


def prepare_baselines(loaded: list[Dataset], paths: list[Path]) -> dict[str, Any]:
    """Load what the baselines need before any case is asked (``DatasetError`` on a malformed line)."""
    plan: dict[str, Any] = {"retrieval": None, "retrieval_path": None, "tuning": None, "tuning_split": "tuning",
                            "notes": []}
    retrieval = _find_beside(paths, "retrieval.jsonl")
    if retrieval is not None:
        plan["retrieval"], plan["retrieval_path"] = load_retrieval(retrieval), str(retrieval)
    else:
        plan["notes"].append("no retrieval.jsonl beside the datasets or in evals/datasets: retrieval baseline skipped")
    tuning = next((d for d in loaded if d.split == "tuning"), None)
    if tuning is None:
        path = _find_beside(paths, "tuning.jsonl")
        if path is not None:
            tuning = load_datasets([path])[0]
            plan["tuning_split"] = None  # not among the evaluated splits: no leave-one-out
    if tuning is not None:
        plan["tuning"], plan["tuning_path"] = tuning.cases, str(tuning.path)
    else:
        plan["notes"].append("no tuning split: nearest-example baseline skipped")
    return plan


def run_baselines(advisor, plan: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    from assistant.evaluation.baselines import retrieval_baseline, verdict_baseline

    report: dict[str, Any] = {"notes": plan["notes"]}
    if plan["retrieval"] is not None:
        report["retrieval"] = retrieval_baseline(advisor.retriever, plan["retrieval"])
        report["retrieval"]["path"] = plan["retrieval_path"]
    if plan["tuning"]:
        report["verdicts"] = verdict_baseline(advisor.embeddings, plan["tuning"], results,
                                              plan["tuning_split"] or "tuning")
        report["verdicts"]["path"] = plan["tuning_path"]
    return report


# -- the command ---------------------------------------------------------------------------------------
def _open_advisor(settings: Settings):
    from assistant.advisor import Advisor
    from assistant.index.retrieval import IndexMissingError

    try:
        from assistant.rules import RuleSetError
    except ImportError:  # pragma: no cover - the rule engine is part of the package
        RuleSetError = ()  # type: ignore[assignment]
    try:
        return Advisor(settings), None
    except IndexMissingError as exc:
        return None, (str(exc), EXIT_NO_INDEX, [])
    except RuleSetError as exc:  # type: ignore[misc]
        return None, ("the rule set is invalid", EXIT_THRESHOLD, list(getattr(exc, "problems", [])))


def summary_table(metrics: dict[str, Any], splits: dict[str, dict[str, Any]], thresholds: dict[str, float]) -> str:
    names = list(splits)
    columns = ["metric", *names, "all", "minimum"]
    rows = []
    for metric in metrics:
        cells = [metric] + [_fmt(splits[n]["metrics"].get(metric)) for n in names] + [_fmt(metrics[metric])]
        cells.append(f"{thresholds[metric]:g}" if metric in thresholds else "")
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in [columns, *rows]) for i in range(len(columns))]
    line = lambda cells: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(columns), *(line(r) for r in rows)])


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) and value <= 1.0 else f"{value:.1f}"


def run_eval_command(settings: Settings, datasets: list[Path], out: Path, md: Path | None = None,
                     html: Path | None = None, thresholds: dict[str, float] | None = None, baselines: bool = True,
                     *, advisor=None, history: Path | None = None, progress: bool = True) -> int:
    """Run the datasets through the advisor and write the reports; the exit code (see the module doc)."""
    started = time.perf_counter()
    thresholds = dict(thresholds or {})
    unknown = sorted(set(thresholds) - set(ACCURACY_METRICS))
    if unknown:
        _say(f"error: unknown metric(s) for a threshold: {', '.join(unknown)}", err=True)
        return EXIT_DATASET
    paths = [Path(p) for p in datasets]
    if not paths:
        _say("error: give at least one --dataset", err=True)
        return EXIT_DATASET
    try:
        loaded = load_datasets(paths)
        plan = prepare_baselines(loaded, paths) if baselines else None
    except DatasetError as exc:
        for problem in exc.problems:
            _say(problem, err=True)
        _say(f"error: {len(exc.problems)} malformed line(s); no case was run", err=True)
        return EXIT_DATASET
    cases = [case for d in loaded for case in d.cases]

    load_started = time.perf_counter()
    if advisor is None:
        advisor, failure = _open_advisor(settings)
        if failure is not None:
            message, code, problems = failure
            for problem in problems:
                _say(problem, err=True)
            _say(f"error: {message}", err=True)
            return code
    advisor_s = time.perf_counter() - load_started

    cases_started = time.perf_counter()
    results = run_cases(advisor, cases, progress=progress)
    cases_s = time.perf_counter() - cases_started

    scores = [r["score"] for r in results]
    metrics, counts = aggregate(scores)
    splits = {}
    for dataset in loaded:
        split_metrics, split_counts = aggregate([s for s in scores if s.split == dataset.split])
        splits[dataset.split] = {"path": str(dataset.path), "metrics": split_metrics, "counts": split_counts}

    baselines_started = time.perf_counter()
    baseline_report = run_baselines(advisor, plan, results) if plan is not None else None
    baselines_s = time.perf_counter() - baselines_started

    missed = missed_thresholds(metrics, thresholds)
    errors = [r["case"].id for r in results if r["score"].error]
    version = git_commit()
    report = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **version,
        "generators": sorted({r["answer"].generator for r in results if r["answer"] is not None}),
        "datasets": [{"path": str(d.path), "split": d.split, "cases": len(d.cases)} for d in loaded],
        "thresholds": thresholds,
        "missed": missed,
        "errors": errors,
        "metrics": metrics,
        "counts": counts,
        "splits": splits,
        "cases": [_case_entry(r) for r in results],
        "baselines": baseline_report,
    }
    report["timing"] = {"advisor_load_s": round(advisor_s, 2), "cases_s": round(cases_s, 2),
                        "baselines_s": round(baselines_s, 2),
                        "total_s": round(time.perf_counter() - started, 2)}

    history_path = Path(history) if history is not None else default_history_path(out)
    append_history(history_path, report)
    write_reports(report, Path(out), md, html, history_path)

    _say(summary_table(metrics, splits, thresholds))
    _say(f"{len(cases)} cases in {cases_s:.1f} s (advisor loaded in {advisor_s:.1f} s, baselines {baselines_s:.1f} s);"
         f" report: {out}")
    for line in missed:
        _say(f"threshold missed: {line}", err=True)
    if errors:
        _say(f"error: the advisor failed on {len(errors)} case(s): {', '.join(errors[:10])}", err=True)
    return EXIT_THRESHOLD if missed or errors else EXIT_OK


def append_history(path: Path, report: dict[str, Any]) -> None:
    """One line per run: when, which commit, and the metrics per split (and over all)."""
    line = {
        "timestamp": report["created"], "commit": report.get("commit"), "dirty": report.get("dirty"),
        "generators": report["generators"], "datasets": [d["path"] for d in report["datasets"]],
        "cases": len(report["cases"]),
        "metrics": {**{name: s["metrics"] for name, s in report["splits"].items()}, "all": report["metrics"]},
        "seconds": report["timing"]["total_s"],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def write_reports(report: dict[str, Any], out: Path, md: Path | None, html: Path | None, history: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if md is not None or html is not None:
        from assistant.evaluation.report import render_html, render_markdown

        if md is not None:
            md.parent.mkdir(parents=True, exist_ok=True)
            md.write_text(render_markdown(report), encoding="utf-8")
        if html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(render_html(report, history), encoding="utf-8")
