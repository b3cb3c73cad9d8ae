"""Read users' files (.md, .txt, .html, .pdf, .docx) into documents, or say in one line why not."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from assistant.corpus.chunking import slugify
from assistant.corpus.documents import FRONT_MATTER, Document, DocumentError, parse_document

SUPPORTED = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
MAX_FILE_BYTES = 50_000_000


class UnreadableFile(DocumentError):
    """A file that cannot be ingested; ``str(error)`` is a one-line reason naming the file."""


def document_id_for(path: Path) -> str:
    """A stable id from the file name (the caller resolves clashes)."""
    return slugify(path.stem, max_words=10)


def load_file(path: Path) -> Document:
    """Parse one file into a document (body text exact as extracted; pages for PDFs)."""
    if path.suffix.lower() not in SUPPORTED:
        raise UnreadableFile(f"{path}: unsupported file type {path.suffix or '(none)'}; "
                             f"supported: {', '.join(SUPPORTED)}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(f"{path}: file too large ({size:,} bytes; limit {MAX_FILE_BYTES:,})")
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise UnreadableFile(f"{path}: file is empty")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        body, pages, title = _read_pdf(path, raw)
    elif suffix == ".docx":
        body, pages, title = _read_docx(path, raw), (), None
    else:
        text = _decode_text(path, raw)
        if suffix in (".html", ".htm"):
            body, title, pages = *_read_html(text), ()
        elif FRONT_MATTER.match(text):
            return parse_document(text, path).model_copy(update={"path": str(path)})
        else:
            body, pages, title = text, (), None
    if not body.strip() or len(body.split()) < 3:
        raise UnreadableFile(f"{path}: no text could be extracted (empty or scanned document)")
    return Document(id=document_id_for(path), title=title or _first_line_title(body, path),
                    kind="user-document", path=str(path), body=body, pages=pages)


def content_hash(document: Document) -> str:
    return hashlib.sha256(document.body.encode("utf-8")).hexdigest()


def _decode_text(path: Path, raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise UnreadableFile(f"{path}: binary data, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path}: not valid UTF-8 text (byte {exc.start})") from exc


def _read_html(text: str) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "noscript"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    blocks = []
    for element in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "blockquote", "pre"]):
        words = " ".join(element.get_text(" ", strip=True).split())
        if words:
            blocks.append(words)
    return "\n\n".join(blocks), title


def _read_pdf(path: Path, raw: bytes) -> tuple[str, tuple[tuple[int, int], ...], str | None]:
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(raw))
        if reader.is_encrypted:
            raise UnreadableFile(f"{path}: PDF is encrypted (password protected)")
        parts, pages, offset = [], [], 0
        for number, page in enumerate(reader.pages, start=1):
            text = _tidy(page.extract_text() or "")
            pages.append((number, offset))
            parts.append(text)
            offset += len(text) + 2
        title = (reader.metadata.title if reader.metadata else None) or None
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise UnreadableFile(f"{path}: damaged or unreadable PDF ({exc})") from exc
    return "\n\n".join(parts), tuple(pages), title


def _read_docx(path: Path, raw: bytes) -> str:
    from io import BytesIO
    from zipfile import BadZipFile

    import docx

    try:
        document = docx.Document(BytesIO(raw))
    except (BadZipFile, KeyError, ValueError) as exc:
        raise UnreadableFile(f"{path}: damaged or unreadable Word document ({exc.__class__.__name__})") from exc
    return "\n\n".join(p.text.strip() for p in document.paragraphs if p.text.strip())


def _tidy(text: str) -> str:
    """Join a PDF page's hard-wrapped lines into paragraphs (blank lines stay paragraph breaks)."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"(?<!\n)\n(?!\n)", " ", text)
    return text.strip()


def _first_line_title(body: str, path: Path) -> str:
    first = body.strip().split("\n", 1)[0].strip().lstrip("# ")
    return first[:100] if 0 < len(first) <= 100 else path.stem
