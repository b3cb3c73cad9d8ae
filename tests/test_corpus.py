"""The knowledge base: front matter, chunking with provenance and stable ids, the bibliography."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.corpus.bibliography import parse_bibliography
from assistant.corpus.chunking import chunk_document
from assistant.corpus.documents import DocumentError, load_knowledge_sources, parse_document
from assistant.knowledge import bibliography, source_documents

SOURCES = Path(__file__).resolve().parent.parent / "knowledge" / "sources"


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def documents(settings):
    return {d.id: d for d in source_documents(settings)}


# -- front matter --------------------------------------------------------------------------------
def test_both_sources_have_complete_front_matter(documents):
    assert set(documents) == {"anzsog-2017", "option-or-obligation"}
    for document in documents.values():
        assert document.title and document.kind and document.citation
        assert document.publisher or document.authors
    assert documents["anzsog-2017"].year == 2017
    assert documents["option-or-obligation"].references == "bibliography"


def test_source_bodies_are_the_texts_unchanged(documents):
    """The body is everything after the front matter, byte for byte."""
    for document in documents.values():
        raw = Path(document.path).read_text(encoding="utf-8")
        assert raw.endswith(document.body)
        assert raw[: len(raw) - len(document.body)].count("---\n") == 2
    assert "Sure Start program" in documents["anzsog-2017"].body


def test_parse_document_reads_fields_and_keeps_body_verbatim(tmp_path):
    text = "---\nid: demo\ntitle: Demo doc\nyear: 2020\nkind: note\nunknown: ignored\n---\nBody line one.\n\n  Body two  \n"
    document = parse_document(text, tmp_path / "demo.md")
    assert (document.id, document.title, document.year, document.kind) == ("demo", "Demo doc", 2020, "note")
    assert document.body == "Body line one.\n\n  Body two  \n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter at all\n", r"bad\.md:1: missing front matter"),
        ("---\nid: x\n---\nbody\n", r"bad\.md:1: front matter lacks 'title'"),
        ("---\ntitle: X\n---\nbody\n", r"bad\.md:1: front matter lacks 'id'"),
        ("---\nid: x\ntitle: [unclosed\n---\nbody\n", r"bad\.md:\d+: invalid front matter"),
    ],
)
def test_front_matter_errors_name_the_file(tmp_path, text, message):
    with pytest.raises(DocumentError, match=message):
        parse_document(text, tmp_path / "bad.md")


def test_duplicate_source_ids_are_refused(tmp_path):
    for name in ("a.md", "b.txt"):
        (tmp_path / name).write_text("---\nid: same\ntitle: T\n---\nText.\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("not a source", encoding="utf-8")
    with pytest.raises(DocumentError, match="duplicate document ids"):
        load_knowledge_sources(tmp_path)


# -- chunking --------------------------------------------------------------------------------------
def test_chunking_twice_gives_identical_bytes(documents, settings):
    for document in documents.values():
        first = chunk_document(document)
        # Parse the file again from disk: a fresh document object must chunk identically.
        again = {d.id: d for d in source_documents(settings)}[document.id]
        second = chunk_document(again)
        assert [c.model_dump_json().encode() for c in first] == [c.model_dump_json().encode() for c in second]


def test_chunk_ids_texts_and_offsets(documents):
    ids = []
    for document in documents.values():
        chunks = chunk_document(document)
        assert chunks, document.id
        for chunk in chunks:
            assert chunk.id == f"{document.id}#{chunk.locator}"
            assert re.fullmatch(r"[a-z0-9-]+#[a-z0-9.-]+", chunk.id), chunk.id
            assert document.body[chunk.start:chunk.end] == chunk.text
            assert chunk.text == chunk.text.strip() and len(chunk.text.split()) >= 8
            assert chunk.title == document.title and chunk.source_id == document.id
            ids.append(chunk.id)
    assert len(ids) == len(set(ids))
    # The id the rest of the project cites must exist.
    assert "anzsog-2017#sometimes-it-s-unavoidable.p1" in ids


def test_chunks_store_the_heading_they_sit_under(documents):
    chunks = {c.id: c for c in chunk_document(documents["anzsog-2017"])}
    assert chunks["anzsog-2017#sometimes-it-s-unavoidable.p1"].heading == "Sometimes it's unavoidable"
    assert chunks["anzsog-2017#why-do-people-co-produce.p1"].heading == "Why do people co-produce?"
    sure_start = [c for c in chunks.values() if "Sure Start" in c.text]
    assert len(sure_start) == 1 and sure_start[0].heading == "Not just a cost-saving measure"
    assert sure_start[0].locator == "not-just-a-cost-saving-measure.p2"
    # Headings are not chunks themselves.
    assert not any(c.text in ("Why do people co-produce?", "Sometimes it's unavoidable") for c in chunks.values())


def test_editing_one_paragraph_keeps_the_other_ids_and_texts(documents):
    document = documents["anzsog-2017"]
    before = {c.id: c.text for c in chunk_document(document)}
    body = document.body.replace("better fitness levels", "better fitness levels and health")
    after = {c.id: c.text for c in chunk_document(document.model_copy(update={"body": body}))}
    assert set(before) == set(after)
    changed = [i for i in before if before[i] != after[i]]
    assert changed == ["anzsog-2017#public-or-private-value-or-both.p1"]


def test_long_paragraphs_split_at_sentence_ends_within_the_limit(tmp_path):
    from assistant.corpus.chunking import MAX_CHUNK_CHARS

    sentence = "The agency asked residents to sort their recycling before collection day. "
    body = "Long section\n\n" + sentence * 60 + "\n"
    document = parse_document(f"---\nid: long\ntitle: Long\n---\n{body}", tmp_path / "long.md")
    chunks = chunk_document(document)
    assert len(chunks) > 1
    assert [c.locator for c in chunks] == [f"long-section.p1-{n}" for n in range(1, len(chunks) + 1)]
    for chunk in chunks:
        assert len(chunk.text) <= MAX_CHUNK_CHARS
        assert chunk.text.endswith(".") and document.body[chunk.start:chunk.end] == chunk.text


def test_paged_documents_carry_the_page_in_the_locator(tmp_path):
    from assistant.corpus.documents import Document

    page1 = "Residents were asked to help maintain the local park every weekend in summer."
    page2 = "The council supplied tools and training so that volunteers could work safely together."
    body = f"{page1}\n\n{page2}"
    document = Document(id="report", title="Report", body=body, pages=((1, 0), (2, len(page1) + 2)))
    chunks = chunk_document(document)
    assert [c.locator for c in chunks] == ["page-1.text.p1", "page-2.text.p1"]
    assert [c.text for c in chunks] == [page1, page2]


# -- bibliography ------------------------------------------------------------------------------------
def test_bibliography_has_fourteen_structured_entries(settings):
    entries = bibliography(settings)
    assert [e.number for e in entries] == list(range(1, 15))
    for entry in entries:
        assert entry.source_id == "option-or-obligation"
        assert entry.authors and entry.title
        assert entry.year is not None and 1970 <= entry.year <= 2017, entry
        assert not entry.title.startswith(entry.authors.split(",")[0])
    by_number = {e.number: e for e in entries}
    assert by_number[4].authors == "Catherine Needham"
    assert by_number[4].year == 2008
    assert by_number[4].venue == "Social Policy and Society"
    assert by_number[10].authors == "Gordon P. Whitaker"
    assert by_number[10].title == "Coproduction: Citizen Participation in Service Delivery"
    assert by_number[13].authors == "E. Ostrom" and by_number[13].year == 1996
    assert by_number[14].title == "Why Do Public-Sector Clients Coproduce?"
    assert by_number[14].formatted() == "J. Alford, et al. (2002). Why Do Public-Sector Clients Coproduce?"
    assert by_number[4].formatted() == ("Catherine Needham (2008). Realising the Potential of Co-production: "
                                        "Negotiating Improvements in Public Services. Social Policy and Society.")


def test_bibliography_is_never_chunked_as_content(documents):
    document = documents["option-or-obligation"]
    entries = parse_bibliography(document)
    chunks = chunk_document(document)
    assert len(chunks) == 1  # the abstract only
    for chunk in chunks:
        assert not re.search(r"\[\d+\]", chunk.text)
        for entry in entries:
            assert entry.title not in chunk.text
    # Documents without `references: bibliography` have no bibliography.
    assert parse_bibliography(documents["anzsog-2017"]) == []
