"""Hybrid retrieval: dense (Chroma via LangChain) and lexical (BM25) fused by reciprocal rank fusion."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np

from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings
from assistant.index import generations as gen
from assistant.index.builder import current_manifest
from assistant.index.lexical import LexicalIndex
from assistant.index.store import make_client, open_vectorstore
from assistant.models import Chunk, DocKind, SearchHit


class IndexMissingError(RuntimeError):
    """There is no built index; run ``coprod ingest``."""


class Retriever:
    """Searches the current index generation; reloads by itself when a new generation is published."""

    def __init__(self, settings: Settings, embeddings: LocalEmbeddings):
        self.settings = settings
        self.embeddings = embeddings
        self._lock = threading.Lock()
        self.generation: str | None = None
        self._load()

    # -- loading -------------------------------------------------------------------------------
    def _load(self) -> None:
        manifest = current_manifest(self.settings)
        if manifest is None:
            raise IndexMissingError(
                f"no search index in {self.settings.index_dir}; build it with `coprod ingest`")
        generation_dir = self.settings.index_dir / manifest.generation
        chunks = gen.read_chunks(generation_dir)
        self.manifest = manifest
        self.chunks: dict[str, Chunk] = {c.id: c for c in chunks}
        self.lexical = LexicalIndex([c.id for c in chunks], [c.text for c in chunks])
        self.vectorstore = open_vectorstore(make_client(self.settings.chroma_url, generation_dir),
                                            manifest.collection, self.embeddings, create=False)
        self.generation = manifest.generation

    def refresh(self) -> bool:
        """Switch to a newer generation if one was published; True when it did."""
        latest = gen.read_pointer(self.settings.index_dir)
        if latest and latest != self.generation:
            with self._lock:
                if latest != self.generation:
                    self._load()
                    return True
        return False

    # -- searching ------------------------------------------------------------------------------
    def get(self, chunk_id: str) -> Chunk | None:
        """The stored passage with this id (exact text), if any."""
        return self.chunks.get(chunk_id)

    def hits_for(self, chunk_ids: list[str]) -> list[SearchHit]:
        """The stored passages with these ids as hits, in this order (passages chosen by the rule set, not searched)."""
        return self._hits([(chunk_id, 0.0) for chunk_id in chunk_ids], [], [])

    def dense(self, query_vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """(id, cosine similarity) best first, from Chroma."""
        results = self.vectorstore.similarity_search_by_vector_with_relevance_scores(
            query_vector.tolist(), k=min(k, len(self.chunks)) or 1, filter=where)
        return [(doc.id, 1.0 - float(distance)) for doc, distance in results]

    def lexical_search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        hits = self.lexical.search(query, len(self.chunks) if allowed is not None else k)
        if allowed is not None:
            hits = [h for h in hits if h[0] in allowed]
        return hits[:k]

    def search(self, query: str, k: int | None = None, source_ids: Iterable[str] | None = None,
               kinds: Iterable[DocKind] | None = None, mode: str = "hybrid",
               query_vector: np.ndarray | None = None) -> list[SearchHit]:
        """The best ``k`` passages for ``query``; ``mode`` is ``hybrid``, ``dense`` or ``lexical``."""
        k = k or self.settings.retrieval_k
        candidates = max(self.settings.retrieval_candidates, k)
        where, allowed = self._filters(source_ids, kinds)
        if allowed is not None and not allowed:
            return []
        dense: list[tuple[str, float]] = []
        lexical: list[tuple[str, float]] = []
        if mode in ("hybrid", "dense"):
            vector = query_vector if query_vector is not None else self.embeddings.query_vector(query)
            dense = self.dense(vector, candidates, where)
        if mode in ("hybrid", "lexical"):
            lexical = self.lexical_search(query, candidates, allowed)
        if mode == "dense":
            return self._hits([(i, s) for i, s in dense[:k]], dense, lexical)
        if mode == "lexical":
            return self._hits(lexical[:k], dense, lexical)
        return self._hits(reciprocal_rank_fusion([dense, lexical], self.settings.rrf_k)[:k], dense, lexical)

    def _filters(self, source_ids, kinds) -> tuple[dict | None, set[str] | None]:
        clauses, allowed = [], None
        if source_ids:
            ids = sorted(set(source_ids))
            clauses.append({"source_id": {"$in": ids}})
            allowed = {c.id for c in self.chunks.values() if c.source_id in ids}
        if kinds:
            wanted = sorted(set(kinds))
            clauses.append({"kind": {"$in": wanted}})
            by_kind = {c.id for c in self.chunks.values() if c.kind in wanted}
            allowed = by_kind if allowed is None else allowed & by_kind
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        return where, allowed

    def _hits(self, ranked, dense, lexical) -> list[SearchHit]:
        dense_rank = {i: r for r, (i, _) in enumerate(dense, start=1)}
        similarity = dict(dense)
        lexical_rank = {i: r for r, (i, _) in enumerate(lexical, start=1)}
        hits = []
        for chunk_id, score in ranked:
            chunk = self.chunks.get(chunk_id)
            if chunk is None:
                continue
            hits.append(SearchHit(
                id=chunk.id, source_id=chunk.source_id, title=chunk.title, locator=chunk.locator,
                kind=chunk.kind, score=round(float(score), 6), text=chunk.text, heading=chunk.heading,
                evidence_id=chunk.evidence_id, dense_rank=dense_rank.get(chunk_id),
                lexical_rank=lexical_rank.get(chunk_id), similarity=similarity.get(chunk_id),
            ))
        return hits


def reciprocal_rank_fusion(rankings: list[list[tuple[str, float]]], k: int) -> list[tuple[str, float]]:
    """Fuse ranked lists: score(d) = Σ 1 / (k + rank); ties broken by id for determinism."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, (item, _) in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
