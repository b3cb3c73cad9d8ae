"""Everything the index should hold: the knowledge-base sources, the users' documents (and the rules)."""

from __future__ import annotations

from assistant.config import Settings
from assistant.corpus.bibliography import BibEntry, parse_bibliography
from assistant.corpus.chunking import chunk_document
from assistant.corpus.documents import Document, load_knowledge_sources
from assistant.corpus.userdocs import UserDocumentStore
from assistant.index.builder import IndexedDocument
from assistant.index.generations import DocumentEntry
from assistant.rules.documents import group_hash, ruleset_chunks
from assistant.rules.schema import load_ruleset


def source_documents(settings: Settings) -> list[Document]:
    """The knowledge base's own texts."""
    return load_knowledge_sources(settings.sources_dir)


def bibliography(settings: Settings) -> list[BibEntry]:
    """Further-reading entries parsed from the sources' reference lists."""
    return [entry for document in source_documents(settings) for entry in parse_bibliography(document)]


def as_indexed(document: Document) -> IndexedDocument:
    entry = DocumentEntry(id=document.id, title=document.title, kind=document.kind,
                          content_hash=document.content_hash, path=document.path)
    return IndexedDocument(entry=entry, chunks=chunk_document(document))


def rule_documents(settings: Settings) -> list[IndexedDocument]:
    """The curated rule set as documents (validated first: a broken rule stops the build)."""
    ruleset = load_ruleset(settings.rules_dir, settings.sources_dir, settings.cache_dir)
    indexed = []
    for name, chunks in ruleset_chunks(ruleset).items():
        kind = "fact" if name.endswith("/facts") else "rule"
        entry = DocumentEntry(id=name, title=f"Rule set: {name.split('/', 1)[1]}", kind=kind,
                              content_hash=group_hash(chunks), path=str(settings.rules_dir))
        indexed.append(IndexedDocument(entry=entry, chunks=chunks))
    return indexed


def indexed_documents(settings: Settings) -> list[IndexedDocument]:
    """Sources, user documents and the rule set, ready for ``sync_index``."""
    documents = source_documents(settings) + UserDocumentStore(settings.data_dir).all()
    return [as_indexed(d) for d in documents] + rule_documents(settings)
