"""Score a batch of unseen situations before the rules are changed for it: how the rules generalise.

    python -m evals.first_seen BATCH.yaml [BATCH.yaml ...]

A batch has the layout of ``tests/data/generalisation_cases.yaml`` (``cases:`` with ``id``, ``question``,
``expect: {coproduction, mode, recommendation}``). Prints each miss with the facts the extractor read, then
the accuracy per field. Exit code 0 (it measures; it does not gate).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from assistant.evaluation.dataset import Case
from assistant.evaluation.scoring import FIELD_METRIC, applicable, verdict_of

FIELDS = ("coproduction", "mode", "recommendation")


def score(advisor, cases: list[dict]) -> dict[str, tuple[int, int]]:
    """Correct and scored counts per field; mode and recommendation only where they are expected."""
    tally = {f: [0, 0] for f in FIELDS}
    for case in cases:
        answer = advisor.ask(case["question"])
        got, expect = verdict_of(answer), case["expect"]
        scored = applicable(Case(id=case["id"], question=case["question"],
                                 expect={**expect, "in_scope": True, "cite_contains": []}))
        missed = []
        for f in FIELDS:
            if FIELD_METRIC[f] not in scored:
                continue
            tally[f][1] += 1
            if got[f] == expect.get(f):
                tally[f][0] += 1
            else:
                missed.append(f)
        if missed:
            read = {k: (r["value"], r["span"]) for k, r in answer.facts["facts"].items()
                    if r["origin"] in ("stated", "inferred", "answered")}
            print(f"--- {case['id']}: expected {[expect.get(f) for f in FIELDS]}, got {[got[f] for f in FIELDS]}\n"
                  f"    {case['question']}\n    facts: {read}")
    return {f: (k, n) for f, (k, n) in tally.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.first_seen", description=__doc__.split("\n\n")[0])
    parser.add_argument("batches", nargs="+", type=Path)
    args = parser.parse_args(argv)
    from assistant.advisor import Advisor
    from assistant.config import get_settings

    cases = [c for path in args.batches for c in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]]
    result = score(Advisor(get_settings()), cases)
    print(", ".join(f"{f} {k}/{n} = {k / max(n, 1):.2f}" for f, (k, n) in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
