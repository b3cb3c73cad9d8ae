"""Baselines run beside the advisor in one ``coprod eval``.

- Retrieval: BM25 alone, dense alone and the hybrid (RRF) search, on the retrieval set (``id``, ``question``,
  ``gold`` chunk ids): recall@k for k = 1, 3, 5 (share of a question's gold passages in the top k, averaged) and
  MRR (reciprocal rank of the first gold passage in the top ``depth``, 0 when none); ms/query leaves out embedding
  the question (done once beforehand, shared by dense and hybrid). Searched over the source passages (the gold passages are source passages; rule and fact documents are the advisor's own notes).
- Verdicts: a nearest-example baseline — the 3 tuning cases whose questions (history turns included) are nearest by
  embedding, majority vote per field (in_scope, coproduction, mode, recommendation), a tie going to the label of the
  nearest of the tied — compared with the rule engine case by case on the other splits, scored as the fixed metrics
  are. On the tuning split itself it is leave-one-out, reported apart.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np

from assistant.evaluation.dataset import Case, RetrievalCase
from assistant.evaluation.scoring import FIELD_METRIC, VERDICT_FIELDS, applicable

RETRIEVAL_MODES = {"bm25": "lexical", "dense": "dense", "hybrid": "hybrid"}
KS = (1, 3, 5)
KNN_K = 3


# -- retrieval ------------------------------------------------------------------------------------
def retrieval_baseline(retriever, cases: list[RetrievalCase], depth: int = 10,
                       kinds: list[str] | None = ("source",)) -> dict[str, Any]:
    """recall@1/3/5 and MRR@depth per retriever, with each question's ranked ids and the gold ranks."""
    known = set(retriever.chunks)
    unknown = sorted({g for c in cases for g in c.gold if g not in known})
    results: dict[str, Any] = {}
    # embed every question first: ms/query is the search itself, the same query-embedding cost left out of all three
    for case in cases:
        retriever.embeddings.query_vector(case.question)
    for name, mode in RETRIEVAL_MODES.items():
        started = time.perf_counter()
        per_question = []
        for case in cases:
            hits = retriever.search(case.question, k=depth, mode=mode, kinds=list(kinds) if kinds else None)
            ranked = [h.id for h in hits]
            gold = set(case.gold)
            ranks = sorted(ranked.index(g) + 1 for g in gold if g in ranked)
            per_question.append({
                "id": case.id, "gold_ranks": ranks, "top": ranked[:5],
                **{f"recall@{k}": sum(1 for r in ranks if r <= k) / len(gold) for k in KS},
                "rr": 1.0 / ranks[0] if ranks else 0.0,
            })
        n = len(per_question) or 1
        results[name] = {
            **{f"recall@{k}": round(sum(q[f"recall@{k}"] for q in per_question) / n, 4) for k in KS},
            "mrr": round(sum(q["rr"] for q in per_question) / n, 4),
            "ms_per_query": round((time.perf_counter() - started) * 1000 / n, 2),
            "questions": per_question,
        }
    return {"questions": len(cases), "depth": depth, "kinds": list(kinds) if kinds else "all",
            "unknown_gold_ids": unknown, "retrievers": results}


# -- nearest-example verdicts -------------------------------------------------------------------------
def case_text(case: Case) -> str:
    """What the nearest-example baseline embeds: the conversation's user turns, in order."""
    return "\n".join([*case.history, case.question])


def expected_labels(case: Case) -> dict[str, Any]:
    e = case.expect
    return {"in_scope": e.in_scope, "coproduction": e.coproduction, "mode": e.mode,
            "recommendation": e.recommendation}


class NearestExamples:
    """k-NN over the tuning cases: cosine similarity of unit vectors, majority vote, ties to the nearest."""

    def __init__(self, embeddings, examples: list[Case], k: int = KNN_K):
        self.embeddings = embeddings
        self.examples = examples
        self.k = k
        self.ids = [c.id for c in examples]
        self.labels = [expected_labels(c) for c in examples]
        self._vectors: dict[str, np.ndarray] = {}
        self.prepare(examples)
        self.matrix = (np.stack([self.vector(c) for c in examples]) if examples
                       else np.zeros((0, 384), dtype=np.float32))

    def prepare(self, cases: list[Case]) -> None:
        """Embed many cases at once (one batch through the model when the embeddings can batch)."""
        texts = sorted({case_text(c) for c in cases} - set(self._vectors))
        if not texts:
            return
        if hasattr(self.embeddings, "encode"):
            vectors = self.embeddings.encode(texts)
        else:
            vectors = [self.embeddings.query_vector(t) for t in texts]
        for text, vector in zip(texts, vectors):
            self._vectors[text] = np.asarray(vector, dtype=np.float32)

    def vector(self, case: Case) -> np.ndarray:
        text = case_text(case)
        if text not in self._vectors:
            self._vectors[text] = np.asarray(self.embeddings.query_vector(text), dtype=np.float32)
        return self._vectors[text]

    def neighbours(self, case: Case, exclude_self: bool = False) -> list[tuple[int, float]]:
        similarities = self.matrix @ self.vector(case)
        order = np.argsort(-similarities, kind="stable")
        picked = [(int(i), float(similarities[i])) for i in order
                  if not (exclude_self and self.ids[i] == case.id)]
        return picked[: self.k]

    def predict(self, case: Case, exclude_self: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        near = self.neighbours(case, exclude_self)
        prediction = {}
        for field in VERDICT_FIELDS:
            votes = [self.labels[i][field] for i, _ in near]
            counts = Counter(votes)
            best = max(counts.values()) if counts else 0
            # ties: the label of the nearest neighbour among the tied labels (votes are nearest first)
            prediction[field] = next((v for v in votes if counts[v] == best), None)
        return prediction, [{"id": self.ids[i], "similarity": round(s, 4)} for i, s in near]


def _field_applies(case: Case, field: str) -> bool:
    return FIELD_METRIC[field] in applicable(case)


def verdict_baseline(embeddings, tuning: list[Case], results: list[dict[str, Any]],
                     tuning_split: str = "tuning") -> dict[str, Any]:
    """The nearest-example baseline against the rules, per split, case by case.

    ``results``: one entry per evaluated case, ``{"case": Case, "got": {field: value}}`` (the advisor's verdict).
    """
    knn = NearestExamples(embeddings, tuning)
    knn.prepare([item["case"] for item in results])
    splits: dict[str, dict[str, Any]] = {}
    cases_out = []
    for item in results:
        case: Case = item["case"]
        loo = case.split == tuning_split
        predicted, near = knn.predict(case, exclude_self=loo)
        expect = expected_labels(case)
        split = splits.setdefault(case.split, {
            "leave_one_out": loo, "fields": {f: {"total": 0, "rules": 0, "knn": 0, "rules_win": [], "rules_lose": [],
                                                 "both_wrong": []} for f in VERDICT_FIELDS}})
        row = {"id": case.id, "split": case.split, "neighbours": near, "fields": {}}
        for field in VERDICT_FIELDS:
            if not _field_applies(case, field):
                continue
            got = item["got"].get(field)
            rules_ok, knn_ok = got == expect[field], predicted[field] == expect[field]
            stats = split["fields"][field]
            stats["total"] += 1
            stats["rules"] += rules_ok
            stats["knn"] += knn_ok
            entry = {"id": case.id, "question": case.question, "expected": expect[field], "rules": got,
                     "knn": predicted[field], "neighbours": [n["id"] for n in near]}
            if rules_ok and not knn_ok:
                stats["rules_win"].append(entry)
            elif knn_ok and not rules_ok:
                stats["rules_lose"].append(entry)
            elif not rules_ok and not knn_ok:
                stats["both_wrong"].append(entry)
            row["fields"][field] = {"expected": expect[field], "rules": got, "knn": predicted[field]}
        cases_out.append(row)
    for split in splits.values():
        for stats in split["fields"].values():
            total = stats["total"]
            stats["rules_accuracy"] = round(stats["rules"] / total, 4) if total else None
            stats["knn_accuracy"] = round(stats["knn"] / total, 4) if total else None
    return {"k": knn.k, "examples": len(tuning), "tuning_split": tuning_split, "splits": splits, "cases": cases_out}
