"""Service wiring shared by the faces: build the index, open a retriever, manage user documents."""

from __future__ import annotations

from pathlib import Path

from assistant.config import Settings
from assistant.corpus.userdocs import AddResult, UserDocumentStore
from assistant.embeddings import shared_embeddings
from assistant.index.builder import SyncReport, is_fresh, sync_index
from assistant.index.retrieval import Retriever
from assistant.knowledge import indexed_documents, source_documents


def embeddings_for(settings: Settings):
    """The process's embeddings for these settings; fixed texts are cached under the data dir."""
    embeddings = shared_embeddings(str(settings.embedding_model_path) if settings.embedding_model_path else None)
    embeddings.cache_dir = settings.cache_dir
    return embeddings


def build_index(settings: Settings, progress: bool = True) -> SyncReport:
    """Sync the index with the knowledge base, the users' documents and the rule set."""
    return sync_index(settings, indexed_documents(settings), embeddings_for(settings), progress=progress)


def index_is_fresh(settings: Settings) -> bool:
    return is_fresh(settings, indexed_documents(settings))


def open_retriever(settings: Settings) -> Retriever:
    return Retriever(settings, embeddings_for(settings))


def add_user_documents(settings: Settings, paths: list[Path]) -> AddResult:
    reserved = {d.id for d in source_documents(settings)}
    return UserDocumentStore(settings.data_dir).add_paths(paths, reserved)


def remove_user_document(settings: Settings, document_id: str) -> bool:
    return UserDocumentStore(settings.data_dir).remove(document_id)
