"""Knowledge-base documents: a YAML front matter block followed by the verbatim body."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


class DocumentError(ValueError):
    """A document that cannot be read; the message names the file."""


class Document(BaseModel):
    """A source text: metadata from its front matter and its body, unchanged."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    kind: str = "document"
    year: int | None = None
    publisher: str | None = None
    authors: str | None = None
    citation: str | None = None
    references: str | None = None  # "bibliography": numbered entries are a reference list
    path: str | None = None
    body: str
    pages: tuple[tuple[int, int], ...] = ()  # (page number, start offset) for paged files

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()

    def display_citation(self) -> str:
        return self.citation or self.title


def parse_document(text: str, path: Path) -> Document:
    """Parse a knowledge-base file (front matter + body)."""
    match = FRONT_MATTER.match(text)
    if not match:
        raise DocumentError(f"{path}:1: missing front matter (--- ... ---) with id and title")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", 0) + 2
        raise DocumentError(f"{path}:{line}: invalid front matter: {exc}") from exc
    for key in ("id", "title"):
        if not meta.get(key):
            raise DocumentError(f"{path}:1: front matter lacks '{key}'")
    allowed = set(Document.model_fields) - {"body", "path", "pages"}
    fields = {k: v for k, v in meta.items() if k in allowed}
    return Document(**fields, body=text[match.end():], path=str(path))


def load_knowledge_sources(sources_dir: Path) -> list[Document]:
    """Every document in ``knowledge/sources`` (sorted by file name)."""
    documents = []
    for path in sorted(sources_dir.glob("*")):
        if path.suffix in {".txt", ".md"} and path.name.lower() != "readme.md":
            documents.append(parse_document(path.read_text(encoding="utf-8"), path))
    ids = [d.id for d in documents]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise DocumentError(f"{sources_dir}: duplicate document ids {sorted(duplicates)}")
    return documents
