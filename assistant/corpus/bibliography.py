"""Structured entries of a document's numbered reference list (further reading, never content)."""

from __future__ import annotations

import re

from pydantic import BaseModel

from assistant.corpus.chunking import REFERENCE_ENTRY, paragraph_spans
from assistant.corpus.documents import Document

# "[4]  Catherine Needham Realising the Potential ..., 2008, Social Policy and Society."
ENTRY = re.compile(r"^\[(?P<number>\d+)\]\s+(?P<rest>.+)$", re.DOTALL)
ET_AL = re.compile(r"^(?P<authors>.+?,\s*et al\.)\s+(?P<rest>.+)$", re.DOTALL)
SINGLE_AUTHOR = re.compile(r"^(?P<authors>(?:[A-Z][a-z]+\s)?(?:[A-Z]\.\s?)*[A-Z][\w'’‐-]+)\s+(?P<rest>.+)$", re.DOTALL)
TAIL = re.compile(r"^(?P<title>.+?)\s*,\s*(?P<year>\d{4})\s*(?:,\s*(?P<venue>[^.]+?))?\s*\.?\s*$", re.DOTALL)


class BibEntry(BaseModel):
    source_id: str
    number: int
    authors: str
    year: int | None
    title: str
    venue: str | None = None

    def formatted(self) -> str:
        """'Authors (year). Title. Venue.' for a further-reading list."""
        year = f" ({self.year})" if self.year else ""
        venue = f" {self.venue}." if self.venue else ""
        title = self.title if self.title.endswith((".", "?", "!")) else f"{self.title}."
        return f"{self.authors}{year}. {title}{venue}"


def parse_entry(source_id: str, text: str) -> BibEntry | None:
    """Parse one numbered reference, or None when it does not look like one."""
    match = ENTRY.match(" ".join(text.split()))
    if not match:
        return None
    rest = match.group("rest")
    head = ET_AL.match(rest) or SINGLE_AUTHOR.match(rest)
    authors, rest = (head.group("authors"), head.group("rest")) if head else ("", rest)
    authors = re.sub(r",\s*et al\.", ", et al.", authors)
    tail = TAIL.match(rest)
    title, year, venue = (tail.group("title"), int(tail.group("year")), tail.group("venue")) if tail else (rest, None, None)
    return BibEntry(source_id=source_id, number=int(match.group("number")), authors=authors.strip(),
                    year=year, title=title.strip(" ,"), venue=venue.strip() if venue else None)


def parse_bibliography(document: Document) -> list[BibEntry]:
    """The reference list of a document whose front matter says ``references: bibliography``."""
    if document.references != "bibliography":
        return []
    entries = []
    for start, end in paragraph_spans(document.body):
        paragraph = document.body[start:end]
        if REFERENCE_ENTRY.match(paragraph):
            entry = parse_entry(document.id, paragraph)
            if entry:
                entries.append(entry)
    return entries
