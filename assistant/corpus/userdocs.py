"""The users' own documents, kept as parsed JSON in the data dir so every rebuild includes them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from assistant.corpus.documents import Document
from assistant.corpus.loaders import SUPPORTED, UnreadableFile, load_file


@dataclass
class AddResult:
    """Outcome of adding files: documents added or updated, and one line per failed file."""

    added: list[Document] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class UserDocumentStore:
    """Parsed user documents in ``<data>/documents/<id>.json``."""

    def __init__(self, data_dir: Path):
        self.folder = data_dir / "documents"

    def all(self) -> list[Document]:
        if not self.folder.is_dir():
            return []
        return [Document.model_validate_json(p.read_text(encoding="utf-8")) for p in sorted(self.folder.glob("*.json"))]

    def remove(self, document_id: str) -> bool:
        path = self.folder / f"{document_id}.json"
        if path.is_file():
            path.unlink()
            return True
        return False

    def add_paths(self, paths: list[Path], reserved_ids: set[str]) -> AddResult:
        """Parse files and folders (recursively); unreadable or duplicate files are reported, not fatal."""
        result = AddResult()
        existing = {d.id: d for d in self.all()}
        hashes = {d.content_hash: d for d in existing.values()}
        for path in expand_paths(paths, result.failed):
            try:
                document = load_file(path)
            except UnreadableFile as exc:
                result.failed.append(str(exc))
                continue
            same = hashes.get(document.content_hash)
            if same is not None:
                if same.path != document.path:
                    result.failed.append(f"{path}: duplicate of already indexed document '{same.id}' ({same.path})")
                continue
            document = document.model_copy(update={"id": self._free_id(document, existing, reserved_ids)})
            self._save(document)
            existing[document.id] = document
            hashes[document.content_hash] = document
            result.added.append(document)
        return result

    def _free_id(self, document: Document, existing: dict[str, Document], reserved: set[str]) -> str:
        """Keep the id of the same file re-ingested; otherwise avoid clashes with a short hash."""
        base = document.id
        current = existing.get(base)
        if base not in reserved and (current is None or current.path == document.path):
            return base
        return f"{base}-{document.content_hash[:8]}"

    def _save(self, document: Document) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{document.id}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(document.model_dump_json(), encoding="utf-8")
        os.replace(tmp, target)


def expand_paths(paths: list[Path], failed: list[str]) -> list[Path]:
    """Files named directly, plus supported files found in folders; missing paths are reported."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED))
        elif path.exists():
            files.append(path)
        else:
            failed.append(f"{path}: no such file or folder")
    return files
