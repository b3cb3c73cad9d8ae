"""Index generations: each build writes a new folder (and collection), then flips one pointer.

``<data>/index/CURRENT`` names the generation in use; it is replaced atomically (``os.replace``) only
after the new generation is complete, so a build killed midway leaves the previous index usable, and the
next build removes the leftovers. A file lock keeps two builders from racing.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.models import Chunk

MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
POINTER = "CURRENT"


class DocumentEntry(BaseModel):
    """One indexed document as the manifest records it."""

    id: str
    title: str
    kind: str
    content_hash: str
    path: str | None = None
    chunk_ids: list[str] = Field(default_factory=list)


class Manifest(BaseModel):
    """What a generation holds and how it was built."""

    generation: str
    collection: str
    embedding_model: str
    chunker_version: str
    created: float
    documents: dict[str, DocumentEntry]


def new_generation_name() -> str:
    return f"g{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"


def read_pointer(index_dir: Path) -> str | None:
    try:
        return json.loads((index_dir / POINTER).read_text())["generation"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def write_pointer(index_dir: Path, generation: str) -> None:
    """Atomically make ``generation`` the current one."""
    tmp = index_dir / f"{POINTER}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w") as handle:
        json.dump({"generation": generation}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / POINTER)
    _fsync_dir(index_dir)


def write_generation_files(generation_dir: Path, manifest: Manifest, chunks: list[Chunk]) -> None:
    """Write the chunk store and the manifest (manifest last: it marks the folder complete)."""
    with open(generation_dir / CHUNKS, "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(chunk.model_dump_json() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    with open(generation_dir / MANIFEST, "w", encoding="utf-8") as handle:
        handle.write(manifest.model_dump_json(indent=1))
        handle.flush()
        os.fsync(handle.fileno())
    _fsync_dir(generation_dir)


def read_manifest(generation_dir: Path) -> Manifest:
    return Manifest.model_validate_json((generation_dir / MANIFEST).read_text(encoding="utf-8"))


def read_chunks(generation_dir: Path) -> list[Chunk]:
    with open(generation_dir / CHUNKS, encoding="utf-8") as handle:
        return [Chunk.model_validate_json(line) for line in handle if line.strip()]


def stale_generations(index_dir: Path, keep: set[str]) -> list[Path]:
    """Generation folders that are neither current nor kept (leftovers of older or killed builds)."""
    if not index_dir.is_dir():
        return []
    return sorted(p for p in index_dir.iterdir() if p.is_dir() and p.name.startswith("g") and p.name not in keep)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def build_lock(index_dir: Path):
    """Exclusive lock held while a generation is being built."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
