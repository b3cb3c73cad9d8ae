"""Paragraph-aware chunking with provenance and stable ids ``<source-id>#<locator>``.

A paragraph is a run of text between blank lines. Short lines without closing punctuation are
headings (they name the section, they are not chunks); numbered reference entries of a document
whose front matter says ``references: bibliography`` go to the bibliography, not to the chunks.
Long paragraphs are split at sentence ends. Every chunk's text is ``body[start:end]`` exactly, so
chunking the same body again gives the same ids and texts, byte for byte.
"""

from __future__ import annotations

import re

from assistant.corpus.documents import Document
from assistant.models import Chunk

CHUNKER_VERSION = "para-v1"
MAX_CHUNK_CHARS = 1200
HEADING_MAX_CHARS = 80
PARAGRAPH_BREAK = re.compile(r"\n[ \t\u00a0]*\n")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“‘(])")
REFERENCE_ENTRY = re.compile(r"^\[\d+\]")


def slugify(text: str, max_words: int = 7) -> str:
    """A short, stable, URL-safe slug of a heading."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("‐", "-"))
    return "-".join(words[:max_words]) or "section"


def is_heading(paragraph: str) -> bool:
    """A one-line paragraph, short, starting with a capital, without a closing full stop."""
    stripped = paragraph.strip()
    return (
        "\n" not in stripped
        and len(stripped) <= HEADING_MAX_CHARS
        and stripped[:1].isupper()
        and not stripped.endswith((".", ";", ","))
    )


def is_content(paragraph: str) -> bool:
    """Enough words to be worth citing (drops stray labels such as image captions)."""
    return len(paragraph.split()) >= 8


def paragraph_spans(body: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each paragraph in ``body[start:end]``, whitespace trimmed."""
    end = len(body) if end is None else end
    spans, cursor = [], start
    for match in PARAGRAPH_BREAK.finditer(body, start, end):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    trimmed = []
    for s, e in spans:
        segment = body[s:e]
        left = len(segment) - len(segment.lstrip())
        right = len(segment.rstrip())
        if right > left:
            trimmed.append((s + left, s + right))
    return trimmed


def split_long(body: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one paragraph at sentence ends into pieces of at most ``MAX_CHUNK_CHARS``."""
    if end - start <= MAX_CHUNK_CHARS:
        return [(start, end)]
    pieces, piece_start, last_cut = [], start, start
    for match in SENTENCE_END.finditer(body, start, end):
        if match.start() - piece_start > MAX_CHUNK_CHARS and last_cut > piece_start:
            pieces.append((piece_start, last_cut))
            piece_start = last_cut
        last_cut = match.end()
    pieces.append((piece_start, end))
    return [(s, s + len(body[s:e].rstrip())) for s, e in pieces]


def chunk_document(document: Document) -> list[Chunk]:
    """Cut a document into citable chunks (see module docstring)."""
    body = document.body
    regions = _page_regions(document)
    chunks: list[Chunk] = []
    for page, region_start, region_end in regions:
        heading: str | None = None
        counters: dict[str, int] = {}
        for start, end in paragraph_spans(body, region_start, region_end):
            paragraph = body[start:end]
            if document.references == "bibliography" and REFERENCE_ENTRY.match(paragraph):
                continue
            if is_heading(paragraph):
                heading = paragraph.strip()
                continue
            if not is_content(paragraph) or _is_citation_line(document, paragraph):
                continue
            section = slugify(heading) if heading else "text"
            prefix = f"page-{page}." if page is not None else ""
            counters[section] = counters.get(section, 0) + 1
            base = f"{prefix}{section}.p{counters[section]}"
            pieces = split_long(body, start, end)
            for number, (s, e) in enumerate(pieces, start=1):
                locator = base if len(pieces) == 1 else f"{base}-{number}"
                chunks.append(Chunk(
                    id=f"{document.id}#{locator}", source_id=document.id, title=document.title,
                    locator=locator, heading=heading, start=s, end=e, text=body[s:e],
                ))
    return chunks


def _is_citation_line(document: Document, paragraph: str) -> bool:
    """The document's own 'suggested citation' line is metadata, not content."""
    return bool(document.citation) and document.citation in paragraph


def _page_regions(document: Document) -> list[tuple[int | None, int, int]]:
    if not document.pages:
        return [(None, 0, len(document.body))]
    bounds = list(document.pages) + [(None, len(document.body))]
    return [(page, start, bounds[i + 1][1]) for i, (page, start) in enumerate(document.pages)]
