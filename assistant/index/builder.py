"""Build or refresh the index: re-embed only changed passages, rebuild on a model or chunker change.

Every build writes a complete new generation (see ``generations``) and flips the pointer at the end.
Vectors of passages whose text did not change are copied from the previous generation instead of
being computed again; a different embedding model or chunker version forbids that reuse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel
from tqdm import tqdm

from assistant.config import Settings
from assistant.corpus.chunking import CHUNKER_VERSION
from assistant.embeddings import LocalEmbeddings, model_id
from assistant.index import generations as gen
from assistant.index.store import make_client, open_vectorstore
from assistant.models import Chunk

ADD_BATCH = 256


@dataclass
class IndexedDocument:
    """A document ready for the index: its manifest entry and its chunks."""

    entry: gen.DocumentEntry
    chunks: list[Chunk] = field(default_factory=list)


class SyncReport(BaseModel):
    """What a sync did."""

    generation: str
    changed: bool
    added: list[str] = []
    updated: list[str] = []
    removed: list[str] = []
    embedded: int = 0
    reused: int = 0
    rebuild_reason: str | None = None
    seconds: float = 0.0


def collection_name(settings: Settings, generation: str) -> str:
    return f"{settings.collection_prefix}_{generation}".replace(".", "_")


def current_manifest(settings: Settings) -> gen.Manifest | None:
    """The manifest of the generation in use, or None when there is no usable index."""
    name = gen.read_pointer(settings.index_dir)
    if not name:
        return None
    try:
        return gen.read_manifest(settings.index_dir / name)
    except (FileNotFoundError, ValueError):
        return None


def _fingerprint(documents: list[IndexedDocument]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {d.entry.id: (d.entry.content_hash, tuple(c.id for c in d.chunks)) for d in documents}


def rebuild_reason(settings: Settings, manifest: gen.Manifest | None) -> str | None:
    """Why stored vectors cannot be reused (None when they can)."""
    if manifest is None:
        return "no index yet"
    wanted = model_id(str(settings.embedding_model_path) if settings.embedding_model_path else None)
    if manifest.embedding_model != wanted:
        return f"embedding model changed ({manifest.embedding_model} -> {wanted})"
    if manifest.chunker_version != CHUNKER_VERSION:
        return f"chunker changed ({manifest.chunker_version} -> {CHUNKER_VERSION})"
    return None


def is_fresh(settings: Settings, documents: list[IndexedDocument]) -> bool:
    """True when the current index holds exactly these documents, built with this model and chunker."""
    manifest = current_manifest(settings)
    if manifest is None or rebuild_reason(settings, manifest):
        return False
    stored = {i: (e.content_hash, tuple(e.chunk_ids)) for i, e in manifest.documents.items()}
    return stored == _fingerprint(documents)


def sync_index(settings: Settings, documents: list[IndexedDocument], embeddings: LocalEmbeddings,
               progress: bool = True) -> SyncReport:
    """Bring the index in line with ``documents``; a no-op when it already is."""
    started = time.perf_counter()
    with gen.build_lock(settings.index_dir):
        previous = current_manifest(settings)
        reason = rebuild_reason(settings, previous)
        if previous and not reason and is_fresh(settings, documents):
            _cleanup(settings, keep={previous.generation})
            return SyncReport(generation=previous.generation, changed=False,
                              seconds=time.perf_counter() - started)
        chunks = [c for d in documents for c in d.chunks]
        _check_unique(chunks)
        reused = _reuse_vectors(settings, previous, chunks, embeddings) if previous and not reason else 0
        name = gen.new_generation_name()
        generation_dir = settings.index_dir / name
        generation_dir.mkdir(parents=True)
        before = embeddings.computed
        store = open_vectorstore(make_client(settings.chroma_url, generation_dir),
                                 collection_name(settings, name), embeddings, create=True)
        bar = tqdm(total=len(chunks), desc="Indexing passages", unit="passage", disable=not progress or None)
        for offset in range(0, len(chunks), ADD_BATCH):
            batch = chunks[offset: offset + ADD_BATCH]
            store.add_texts([c.text for c in batch], metadatas=[c.metadata() for c in batch],
                            ids=[c.id for c in batch])
            bar.update(len(batch))
        bar.close()
        manifest = gen.Manifest(
            generation=name, collection=collection_name(settings, name),
            embedding_model=model_id(str(settings.embedding_model_path) if settings.embedding_model_path else None),
            chunker_version=CHUNKER_VERSION, created=time.time(),
            documents={d.entry.id: d.entry.model_copy(update={"chunk_ids": [c.id for c in d.chunks]})
                       for d in documents},
        )
        gen.write_generation_files(generation_dir, manifest, chunks)
        gen.write_pointer(settings.index_dir, name)
        keep = {name} | ({previous.generation} if previous else set())
        _cleanup(settings, keep=keep)
        old = previous.documents if previous and not reason else {}
        new_ids, old_ids = set(manifest.documents), set(old)
        return SyncReport(
            generation=name, changed=True,
            added=sorted(new_ids - old_ids), removed=sorted(old_ids - new_ids),
            updated=sorted(i for i in new_ids & old_ids
                           if old[i].content_hash != manifest.documents[i].content_hash),
            embedded=embeddings.computed - before, reused=reused, rebuild_reason=reason,
            seconds=time.perf_counter() - started,
        )


def _check_unique(chunks: list[Chunk]) -> None:
    seen: set[str] = set()
    for chunk in chunks:
        if chunk.id in seen:
            raise ValueError(f"duplicate passage id {chunk.id!r}: two documents share an id")
        seen.add(chunk.id)


def _reuse_vectors(settings: Settings, previous: gen.Manifest, chunks: list[Chunk],
                   embeddings: LocalEmbeddings) -> int:
    """Prime the embedder with the previous generation's vectors for unchanged passages."""
    old_dir = settings.index_dir / previous.generation
    try:
        store = open_vectorstore(make_client(settings.chroma_url, old_dir), previous.collection,
                                 embeddings, create=False)
        wanted = [c.id for c in chunks]
        got = store.get(ids=wanted, include=["embeddings", "documents"])
    except Exception:  # an unreadable previous generation only costs a full re-embedding
        return 0
    vectors = {text: list(map(float, vector)) for text, vector in zip(got["documents"], got["embeddings"])}
    embeddings.prime(vectors)
    current = {c.text for c in chunks}
    return sum(1 for text in vectors if text in current)


def _cleanup(settings: Settings, keep: set[str]) -> None:
    """Remove generations (folders and server collections) that are not kept."""
    for path in gen.stale_generations(settings.index_dir, keep):
        gen.remove_tree(path)
    if settings.chroma_url:
        client = make_client(settings.chroma_url, Path("."))
        keep_names = {collection_name(settings, g) for g in keep}
        for collection in client.list_collections():
            name = getattr(collection, "name", collection)
            if name.startswith(f"{settings.collection_prefix}_") and name not in keep_names:
                client.delete_collection(name)
