"""Chroma clients and collections: embedded (persistent, per generation) or a Chroma server."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma

from assistant.embeddings import LocalEmbeddings

COLLECTION_CONFIGURATION = {"hnsw": {"space": "cosine"}}


def chroma_settings() -> ChromaSettings:
    """Telemetry off; collections never get Chroma's own (downloading) default embedder from us."""
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def make_client(chroma_url: str | None, generation_dir: Path):
    """A ``HttpClient`` when a server URL is configured, else a ``PersistentClient`` in the generation folder."""
    if chroma_url:
        url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1", port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https", settings=chroma_settings(),
        )
    return chromadb.PersistentClient(path=str(generation_dir / "chroma"), settings=chroma_settings())


def open_vectorstore(client, collection: str, embeddings: LocalEmbeddings, create: bool) -> Chroma:
    """The LangChain vector store over one collection (embeddings always computed by our model)."""
    return Chroma(
        client=client, collection_name=collection, embedding_function=embeddings,
        collection_configuration=COLLECTION_CONFIGURATION if create else None,
        create_collection_if_not_exists=create,
    )
