"""Reports of an evaluation run: Markdown, and a self-contained HTML page with matplotlib charts (base64 PNG).

Both are rendered from the report JSON alone (plus ``history.jsonl`` for the trend chart), so a report can be
re-rendered later: ``python -m assistant.evaluation.report REPORT.json --html out.html --md out.md``.
"""

from __future__ import annotations

import base64
import html as _html
import io
import json
from pathlib import Path
from typing import Any

from assistant.evaluation.scoring import ACCURACY_METRICS, FIELD_METRIC, VERDICT_FIELDS, verdict_of

LABELS = {"in_scope": [True, False], "coproduction": ["yes", "no", "unclear", None],
          "mode": ["obligatory", "optional", None],
          "recommendation": ["recommend", "conditional", "not_recommended", None]}
SHORT = {"in_scope_accuracy": "in scope", "coproduction_accuracy": "co-production", "mode_accuracy": "mode",
         "recommendation_accuracy": "recommendation", "cite_hit_rate": "cite hit", "citation_validity":
         "citation validity"}


# -- shared pieces -------------------------------------------------------------------------------------
def label(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if value <= 1.0 else f"{value:.1f}"
    return str(value)


def got_of(case: dict[str, Any]) -> dict[str, Any]:
    """The scored fields of a report case's answer."""
    return verdict_of(case.get("answer"))


def field_applies(case: dict[str, Any], field: str) -> bool:
    return FIELD_METRIC[field] in case["pass"]


def compact_trace(answer: dict[str, Any] | None, limit: int = 12) -> list[str]:
    """The rules that fired, one short line each (``rule → decision=value``); notes that hold are left out."""
    lines = []
    for entry in (answer or {}).get("trace") or []:
        if not isinstance(entry, dict) or not entry.get("fired") or entry.get("kind") == "note":
            continue
        name = entry.get("rule") or entry.get("id") or "?"
        if entry.get("decision") and entry.get("value") is not None:
            conclusion = f"{entry['decision']}={entry['value']}"
        else:
            conclusion = entry.get("conclusion") or entry.get("then")
            if isinstance(conclusion, dict):
                conclusion = ", ".join(f"{k}={label(v)}" for k, v in conclusion.items() if v is not None)
        lines.append(f"{name} → {conclusion}" if conclusion else str(name))
    if len(lines) > limit:
        lines = lines[:limit] + [f"… {len(lines) - limit} more"]
    return lines


def failing(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in report["cases"] if c.get("error") or not all(c["pass"].values())]


def confusion(report: dict[str, Any], field: str) -> tuple[list[Any], list[list[int]]]:
    labels = list(LABELS[field])
    cases = [c for c in report["cases"] if field_applies(c, field)]
    for c in cases:  # values outside the contract still show up
        for value in (c["expect"][field], got_of(c)[field]):
            if value not in labels:
                labels.append(value)
    index = {label(v): i for i, v in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for c in cases:
        matrix[index[label(c["expect"][field])]][index[label(got_of(c)[field])]] += 1
    return labels, matrix


def _kinds(retrieval: dict[str, Any]) -> str:
    kinds = retrieval.get("kinds")
    return "/".join(kinds) if isinstance(kinds, list) else str(kinds)


def read_history(path: Path | None, limit: int = 40) -> list[dict[str, Any]]:
    if path is None or not Path(path).is_file():
        return []
    runs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return runs[-limit:]


# -- Markdown ------------------------------------------------------------------------------------------
def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def metrics_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    splits = report["splits"]
    thresholds = report.get("thresholds") or {}
    header = ["metric", *splits, "all", "minimum", ""]
    rows = []
    for metric, value in report["metrics"].items():
        counts = report["counts"].get(metric)
        all_cell = fmt(value) + (f" ({counts['passed']}/{counts['total']})" if counts else "")
        minimum = thresholds.get(metric)
        status = "" if minimum is None else ("✅" if value is not None and value >= minimum else "❌")
        rows.append([metric, *(fmt(s["metrics"].get(metric)) for s in splits.values()), all_cell,
                     "" if minimum is None else f"{minimum:g}", status])
    return header, rows


def render_markdown(report: dict[str, Any]) -> str:
    out = ["# coprod evaluation", ""]
    out.append(f"Run {report['created']}, commit `{(report.get('commit') or 'unknown')[:12]}`"
               + (" (uncommitted changes)" if report.get("dirty") else "")
               + f", generator {', '.join(report['generators']) or 'n/a'}; "
               + ", ".join(f"`{d['path']}` ({d['cases']} cases)" for d in report["datasets"])
               + f". {len(report['cases'])} cases in {report['timing']['cases_s']:.1f} s"
               + f" (total {report['timing']['total_s']:.1f} s).")
    out.append("")
    if report.get("missed"):
        out += ["**Thresholds missed:** " + "; ".join(report["missed"]), ""]
    if report.get("errors"):
        out += [f"**The advisor failed on {len(report['errors'])} case(s):** " + ", ".join(report["errors"]), ""]
    out += ["## Metrics", "", _md_table(*metrics_rows(report)), ""]
    out += _md_baselines(report.get("baselines"))
    out += ["## Confusion matrices", "", "Rows: expected; columns: the advisor's answer.", ""]
    for field in VERDICT_FIELDS:
        labels, matrix = confusion(report, field)
        out += [f"**{field}**", "", _md_table(["expected \\ got", *map(label, labels)],
                                             [[label(v), *row] for v, row in zip(labels, matrix)]), ""]
    fails = failing(report)
    out += [f"## Failing cases ({len(fails)})", ""]
    for c in fails:
        out += _md_case(c)
    return "\n".join(out).rstrip() + "\n"


def _md_baselines(baselines: dict[str, Any] | None) -> list[str]:
    if not baselines:
        return []
    out = ["## Baselines", ""]
    for note in baselines.get("notes", []):
        out += [f"- {note}"]
    retrieval = baselines.get("retrieval")
    if retrieval:
        out += [f"### Retrieval ({retrieval['questions']} questions, {_kinds(retrieval)} passages)", ""]
        rows = [[name, fmt(r["recall@1"]), fmt(r["recall@3"]), fmt(r["recall@5"]), fmt(r["mrr"]), r["ms_per_query"]]
                for name, r in retrieval["retrievers"].items()]
        out += [_md_table(["retriever", "recall@1", "recall@3", "recall@5", f"MRR@{retrieval['depth']}",
                           "ms/query"], rows), ""]
        if retrieval.get("unknown_gold_ids"):
            out += ["Gold ids not in the index: " + ", ".join(f"`{g}`" for g in retrieval["unknown_gold_ids"]), ""]
    verdicts = baselines.get("verdicts")
    if verdicts:
        out += [f"### Verdicts: rule engine vs nearest examples (k={verdicts['k']} over {verdicts['examples']} "
                "tuning cases)", ""]
        for split, data in verdicts["splits"].items():
            title = f"**{split}**" + (" (leave-one-out: each case's own example excluded)" if data["leave_one_out"] else "")
            rows = [[field, fmt(s["rules_accuracy"]), fmt(s["knn_accuracy"]), len(s["rules_win"]), len(s["rules_lose"]),
                     len(s["both_wrong"]), s["total"]] for field, s in data["fields"].items()]
            out += [title, "", _md_table(["field", "rules", "k-NN", "rules win", "rules lose", "both wrong", "cases"],
                                         rows), ""]
            for kind, heading in (("rules_win", "Rules win"), ("rules_lose", "Rules lose")):
                entries = [(f, e) for f, s in data["fields"].items() for e in s[kind]]
                if entries:
                    out += [f"{heading} ({split}):", ""]
                    out += [f"- `{e['id']}` {f}: expected {label(e['expected'])}, rules {label(e['rules'])}, "
                            f"k-NN {label(e['knn'])} (neighbours {', '.join(e['neighbours'])})" for f, e in entries]
                    out.append("")
    return out


def _md_case(c: dict[str, Any]) -> list[str]:
    got = got_of(c)
    failed = [m for m, ok in c["pass"].items() if not ok]
    out = [f"### `{c['id']}` ({c['split']}) — failed: {', '.join(failed) or 'error'}", ""]
    for turn in c.get("history") or []:
        out.append(f"> (earlier turn) {turn}")
    out += [f"> {c['question']}", ""]
    out.append("- expected: " + ", ".join(f"{f}={label(c['expect'][f])}" for f in VERDICT_FIELDS)
               + (f"; cite {c['expect']['cite_contains']}" if c["expect"].get("cite_contains") else ""))
    out.append("- got: " + ", ".join(f"{f}={label(got[f])}" for f in VERDICT_FIELDS))
    trace = compact_trace(c.get("answer"))
    if trace:
        out.append("- fired rules: " + "; ".join(f"`{t}`" for t in trace))
    if c.get("answer") and c["answer"].get("follow_up"):
        out.append("- clarifying question: " + c["answer"]["follow_up"][0])
    if c.get("missing_phrases"):
        out.append("- phrases not in any citation: " + "; ".join(f"“{p}”" for p in c["missing_phrases"]))
    if c.get("citation_problems"):
        out.append("- invalid citations: " + "; ".join(c["citation_problems"]))
    if c.get("error"):
        out.append("- error: " + c["error"].splitlines()[0])
    rationale = (c.get("extra") or {}).get("rationale")
    if rationale:
        out.append(f"- rationale: {rationale}")
    return out + [""]


# -- charts --------------------------------------------------------------------------------------------
def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def chart_metrics(report: dict[str, Any]) -> str:
    plt = _plt()
    import numpy as np

    names = list(ACCURACY_METRICS)
    groups = {**{s: d["metrics"] for s, d in report["splits"].items()}}
    if len(groups) > 1:
        groups["all"] = report["metrics"]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(names) * max(1, len(groups)) ** 0.5 + 1.2))
    height = 0.8 / len(groups)
    y = np.arange(len(names))
    for i, (split, metrics) in enumerate(groups.items()):
        values = [metrics.get(n) or 0.0 for n in names]
        bars = ax.barh(y + i * height - 0.4 + height / 2, values, height, label=split)
        for bar, n in zip(bars, names):
            value = metrics.get(n)
            ax.text(bar.get_width() + 0.005, bar.get_y() + bar.get_height() / 2, fmt(value), va="center", fontsize=7)
    for j, n in enumerate(names):
        minimum = (report.get("thresholds") or {}).get(n)
        if minimum is not None:
            ax.plot([minimum, minimum], [j - 0.45, j + 0.45], color="crimson", lw=2.5,
                    label="minimum" if j == min(k for k, m in enumerate(names) if m in report["thresholds"]) else None)
    ax.set_yticks(y, [SHORT[n] for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("score")
    ax.set_title("Metrics against thresholds")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return _png(fig)


def chart_confusions(report: dict[str, Any]) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
    for ax, field in zip(axes, VERDICT_FIELDS):
        labels, matrix = confusion(report, field)
        ax.imshow(matrix, cmap="Blues")
        ticks = [label(v) for v in labels]
        ax.set_xticks(range(len(ticks)), ticks, rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(len(ticks)), ticks, fontsize=8)
        peak = max((max(r) for r in matrix), default=0) or 1
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                ax.text(j, i, str(value), ha="center", va="center", fontsize=9,
                        color="white" if value > peak / 2 else "black")
        ax.set_title(field)
        ax.set_xlabel("got")
        ax.set_ylabel("expected")
    fig.tight_layout()
    return _png(fig)


def chart_latency(report: dict[str, Any]) -> str:
    plt = _plt()
    latencies = [c["answer"]["latency_ms"] for c in report["cases"] if c.get("answer")]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.hist(latencies or [0], bins=30, color="steelblue")
    for key, style in (("latency_ms_p50", "--"), ("latency_ms_p95", ":")):
        value = report["metrics"].get(key)
        if value is not None:
            ax.axvline(value, color="black", linestyle=style, label=f"{key[-3:]} {value:.0f} ms")
    ax.set_xlabel("ms per question")
    ax.set_ylabel("cases")
    ax.set_title("Advisor latency")
    if latencies:
        ax.legend(fontsize=8)
    return _png(fig)


def chart_retrieval(retrieval: dict[str, Any]) -> str:
    plt = _plt()
    import numpy as np

    measures = ["recall@1", "recall@3", "recall@5", "mrr"]
    names = list(retrieval["retrievers"])
    fig, ax = plt.subplots(figsize=(8, 3.4))
    width = 0.8 / len(names)
    x = np.arange(len(measures))
    for i, name in enumerate(names):
        values = [retrieval["retrievers"][name][m] for m in measures]
        bars = ax.bar(x + i * width - 0.4 + width / 2, values, width, label=name)
        ax.bar_label(bars, [f"{v:.2f}" for v in values], fontsize=7)
    ax.set_xticks(x, measures)
    ax.set_ylim(0, 1.12)
    ax.set_title(f"Retrieval baselines ({retrieval['questions']} questions)")
    ax.legend(fontsize=8)
    return _png(fig)


def chart_knn(verdicts: dict[str, Any]) -> str:
    plt = _plt()
    import numpy as np

    splits = list(verdicts["splits"])
    fig, axes = plt.subplots(1, len(splits), figsize=(5.5 * len(splits), 3.4), squeeze=False)
    for ax, split in zip(axes[0], splits):
        fields = verdicts["splits"][split]["fields"]
        x = np.arange(len(fields))
        for i, (key, name) in enumerate((("rules_accuracy", "rules"), ("knn_accuracy", "k-NN"))):
            values = [fields[f][key] or 0.0 for f in fields]
            bars = ax.bar(x + (i - 0.5) * 0.38, values, 0.38, label=name)
            ax.bar_label(bars, [f"{v:.2f}" for v in values], fontsize=7)
        ax.set_xticks(x, list(fields), fontsize=8)
        ax.set_ylim(0, 1.15)
        loo = " (leave-one-out)" if verdicts["splits"][split]["leave_one_out"] else ""
        ax.set_title(f"{split}{loo}", fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle("Rule engine vs nearest examples")
    fig.tight_layout()
    return _png(fig)


def chart_trend(runs: list[dict[str, Any]]) -> str | None:
    if not runs:
        return None
    plt = _plt()
    splits = []
    for run in runs:
        for split in run.get("metrics", {}):
            if split not in splits:
                splits.append(split)
    if len(splits) == 2 and "all" in splits:  # one split: "all" repeats it
        splits.remove("all")
    fig, axes = plt.subplots(1, len(splits), figsize=(5.5 * len(splits), 3.6), squeeze=False)
    x = list(range(1, len(runs) + 1))
    for ax, split in zip(axes[0], splits):
        for metric in ACCURACY_METRICS:
            values = [(run.get("metrics", {}).get(split) or {}).get(metric) for run in runs]
            ax.plot(x, [v if v is not None else float("nan") for v in values], marker="o", ms=3,
                    label=SHORT[metric])
        ax.set_ylim(0, 1.05)
        ax.set_title(split, fontsize=10)
        ax.set_xlabel("run")
        tick_every = max(1, len(runs) // 8)
        ax.set_xticks(x[::tick_every], [(runs[i - 1].get("commit") or "?")[:7] for i in x[::tick_every]],
                      rotation=35, fontsize=7)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"Trend over the last {len(runs)} runs (history.jsonl)")
    fig.tight_layout()
    return _png(fig)


# -- HTML ----------------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .meta{color:#666;font-size:.9rem}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.9rem} th,td{border:1px solid #ddd;padding:.3rem .6rem}
th{background:#f4f4f4;text-align:left} td.num{text-align:right}
.ok{color:#15803d;font-weight:600} .bad{color:#b91c1c;font-weight:600}
img{max-width:100%;margin:.5rem 0} details{border:1px solid #e5e5e5;border-radius:6px;margin:.4rem 0;padding:.4rem .8rem}
summary{cursor:pointer} blockquote{margin:.4rem 0;padding:.2rem .8rem;border-left:3px solid #ccc;color:#333}
code{background:#f4f4f4;padding:0 .2rem;border-radius:3px} .alert{background:#fef2f2;border:1px solid #fecaca;padding:.6rem 1rem;border-radius:6px}
pre{white-space:pre-wrap;background:#fafafa;padding:.5rem;font-size:.85rem}
"""


def _e(value: Any) -> str:
    return _html.escape(str(value))


def _html_table(header: list[str], rows: list[list[Any]], raw: bool = False) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td class='num'>{v if raw else _e(v)}</td>" if i else f"<td>{v if raw else _e(v)}</td>"
        for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(data: str | None, alt: str) -> str:
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{data}'>" if data else ""


def render_html(report: dict[str, Any], history: Path | None = None) -> str:
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width,initial-scale=1'>",
             f"<title>coprod evaluation {_e(report['created'])}</title><style>{CSS}</style></head><body>",
             "<h1>coprod evaluation</h1>",
             f"<p class='meta'>Run {_e(report['created'])} · commit <code>{_e((report.get('commit') or 'unknown')[:12])}</code>"
             + (" (uncommitted changes)" if report.get("dirty") else "")
             + f" · generator {_e(', '.join(report['generators']) or 'n/a')} · "
             + ", ".join(f"<code>{_e(d['path'])}</code> ({d['cases']} cases)" for d in report["datasets"])
             + f" · {len(report['cases'])} cases in {report['timing']['cases_s']:.1f} s"
             f" (total {report['timing']['total_s']:.1f} s)</p>"]
    if report.get("missed") or report.get("errors"):
        lines = [f"Threshold missed: {_e(m)}" for m in report.get("missed", [])]
        if report.get("errors"):
            lines.append(f"The advisor failed on {len(report['errors'])} case(s): {_e(', '.join(report['errors']))}")
        parts.append("<div class='alert'>" + "<br>".join(lines) + "</div>")
    header, rows = metrics_rows(report)
    for row in rows:
        row[-1] = {"✅": "<span class='ok'>met</span>", "❌": "<span class='bad'>missed</span>"}.get(row[-1], "")
        row[:-1] = [_e(v) for v in row[:-1]]
    parts += ["<h2>Metrics</h2>", _html_table(header, rows, raw=True), _img(chart_metrics(report), "metrics")]

    baselines = report.get("baselines") or {}
    if baselines:
        parts.append("<h2>Baselines</h2>")
        parts += [f"<p class='meta'>{_e(n)}</p>" for n in baselines.get("notes", [])]
    retrieval = baselines.get("retrieval")
    if retrieval:
        rows = [[name, fmt(r["recall@1"]), fmt(r["recall@3"]), fmt(r["recall@5"]), fmt(r["mrr"]), r["ms_per_query"]]
                for name, r in retrieval["retrievers"].items()]
        parts += [f"<h3>Retrieval ({retrieval['questions']} questions, {_e(_kinds(retrieval))} passages)</h3>",
                  _html_table(["retriever", "recall@1", "recall@3", "recall@5", f"MRR@{retrieval['depth']}",
                               "ms/query"], rows), _img(chart_retrieval(retrieval), "retrieval")]
        if retrieval.get("unknown_gold_ids"):
            parts.append("<p class='bad'>Gold ids not in the index: " + _e(", ".join(retrieval["unknown_gold_ids"])) + "</p>")
    verdicts = baselines.get("verdicts")
    if verdicts and verdicts["splits"]:
        parts.append(f"<h3>Verdicts: rule engine vs nearest examples (k={verdicts['k']} over "
                     f"{verdicts['examples']} tuning cases)</h3>")
        parts.append(_img(chart_knn(verdicts), "rules vs k-NN"))
        for split, data in verdicts["splits"].items():
            rows = [[field, fmt(s["rules_accuracy"]), fmt(s["knn_accuracy"]), len(s["rules_win"]),
                     len(s["rules_lose"]), len(s["both_wrong"]), s["total"]] for field, s in data["fields"].items()]
            loo = " (leave-one-out)" if data["leave_one_out"] else ""
            parts += [f"<h4>{_e(split)}{loo}</h4>",
                      _html_table(["field", "rules", "k-NN", "rules win", "rules lose", "both wrong", "cases"], rows)]
            for kind, heading in (("rules_win", "Where the rules win"), ("rules_lose", "Where the rules lose")):
                entries = [(f, e) for f, s in data["fields"].items() for e in s[kind]]
                if entries:
                    rows = [[f"<code>{_e(e['id'])}</code>", _e(f), _e(label(e["expected"])), _e(label(e["rules"])),
                             _e(label(e["knn"])), _e(e["question"][:160])] for f, e in entries]
                    parts += [f"<details><summary>{heading} ({len(entries)})</summary>",
                              _html_table(["case", "field", "expected", "rules", "k-NN", "question"], rows, raw=True),
                              "</details>"]

    parts += ["<h2>Confusion matrices</h2><p class='meta'>Rows: expected; columns: the advisor's answer; "
              "over the cases each field is scored on.</p>", _img(chart_confusions(report), "confusion matrices")]
    parts += ["<h2>Latency</h2>", _img(chart_latency(report), "latency histogram")]
    trend = chart_trend(read_history(history))
    if trend:
        parts += ["<h2>Trend</h2>", _img(trend, "trend over runs")]

    fails = failing(report)
    parts.append(f"<h2>Failing cases ({len(fails)})</h2>")
    for c in fails:
        parts.append(_html_case(c))
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_case(c: dict[str, Any]) -> str:
    got = got_of(c)
    failed = [m for m, ok in c["pass"].items() if not ok]
    rows = [[f, label(c["expect"][f]), label(got[f])] for f in VERDICT_FIELDS]
    body = [f"<details><summary><code>{_e(c['id'])}</code> ({_e(c['split'])}) — failed: "
            f"<span class='bad'>{_e(', '.join(failed) or 'error')}</span></summary>"]
    body += [f"<blockquote><em>earlier turn:</em> {_e(t)}</blockquote>" for t in c.get("history") or []]
    body.append(f"<blockquote>{_e(c['question'])}</blockquote>")
    body.append(_html_table(["field", "expected", "got"], rows))
    trace = compact_trace(c.get("answer"))
    if trace:
        body.append("<p><strong>Fired rules:</strong> " + "; ".join(f"<code>{_e(t)}</code>" for t in trace) + "</p>")
    answer = c.get("answer") or {}
    if answer.get("follow_up"):
        body.append(f"<p><strong>Clarifying question:</strong> {_e(answer['follow_up'][0])}</p>")
    if c["expect"].get("cite_contains"):
        body.append("<p><strong>Expected in a citation:</strong> " + _e("; ".join(c["expect"]["cite_contains"]))
                    + "<br><strong>Cited:</strong> " + _e(", ".join(x["id"] for x in answer.get("citations", []))
                                                         or "nothing") + "</p>")
    if c.get("missing_phrases"):
        body.append("<p><strong>Not found:</strong> " + _e("; ".join(c["missing_phrases"])) + "</p>")
    if c.get("citation_problems"):
        body.append("<p><strong>Invalid citations:</strong> " + _e("; ".join(c["citation_problems"])) + "</p>")
    if c.get("error"):
        body.append(f"<pre>{_e(c['error'])}</pre>")
    rationale = (c.get("extra") or {}).get("rationale")
    if rationale:
        body.append(f"<p class='meta'>Rationale: {_e(rationale)}</p>")
    if answer.get("answer"):
        body.append(f"<details><summary>Answer text</summary><pre>{_e(answer['answer'])}</pre></details>")
    body.append("</details>")
    return "\n".join(body)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience re-render
    import argparse

    parser = argparse.ArgumentParser(description="Re-render an evaluation report JSON as Markdown/HTML.")
    parser.add_argument("report", type=Path)
    parser.add_argument("--md", type=Path)
    parser.add_argument("--html", type=Path)
    parser.add_argument("--history", type=Path)
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    if args.md:
        args.md.write_text(render_markdown(report), encoding="utf-8")
    if args.html:
        args.html.write_text(render_html(report, args.history), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
