"""The ``coprod`` command line: thin commands over the package's services."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from assistant.config import get_settings

app = typer.Typer(help="coprod: is this co-production, and should we use it? (offline advisory assistant)",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_INDEX = 0, 1, 2, 3


def fail(message: str, code: int = EXIT_FAILED) -> None:
    """Print a one-line error to stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def ingest(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders to add (.md .txt .html .pdf .docx).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Build or refresh the index; with PATHs, first add those documents to the knowledge base."""
    from assistant.services import build_index, add_user_documents

    settings = get_settings()
    failed: list[str] = []
    if paths:
        result = add_user_documents(settings, paths)
        failed = result.failed
        for document in result.added:
            typer.echo(f"added {document.id}: {document.title} ({document.path})")
        for line in failed:
            typer.echo(f"skipped {line}", err=True)
    report = build_index(settings, progress=not quiet)
    if report.changed:
        typer.echo(f"index {report.generation}: {report.embedded} passages embedded, {report.reused} reused"
                   + (f" (full rebuild: {report.rebuild_reason})" if report.rebuild_reason else "")
                   + f" in {report.seconds:.1f} s")
    else:
        typer.echo(f"index {report.generation} is up to date")
    if failed:
        fail(f"{len(failed)} file(s) could not be ingested (see above)")


@app.command()
def sources(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the documents in the index."""
    from assistant.index.builder import current_manifest

    manifest = current_manifest(get_settings())
    if manifest is None:
        fail("no index yet: run `coprod ingest`", EXIT_NO_INDEX)
    rows = [{"id": e.id, "title": e.title, "kind": e.kind, "passages": len(e.chunk_ids), "path": e.path}
            for e in manifest.documents.values()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['id']:<40} {row['kind']:<16} {row['passages']:>4} passages  {row['title']}")


@app.command()
def remove(document_id: Annotated[str, typer.Argument(help="Id of a document added with `coprod ingest PATH`.")]) -> None:
    """Remove one of your documents from the knowledge base and the index."""
    from assistant.services import build_index, remove_user_document

    settings = get_settings()
    if not remove_user_document(settings, document_id):
        fail(f"no user document with id {document_id!r} (see `coprod sources`; "
             "documents of knowledge/sources are removed by deleting their file)")
    build_index(settings, progress=False)
    typer.echo(f"removed {document_id}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many passages.")] = 5,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="Only this source id (repeatable).")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="Only 'source', 'rule' or 'fact' documents.")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or lexical.")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Search the knowledge base (hybrid dense + BM25), best passages first."""
    from assistant.services import open_retriever

    if mode not in ("hybrid", "dense", "lexical"):
        fail("--mode must be hybrid, dense or lexical", EXIT_USAGE)
    if kind not in (None, "source", "rule", "fact"):
        fail("--kind must be source, rule or fact", EXIT_USAGE)
    if not query.strip():
        fail("the query is empty", EXIT_USAGE)
    retriever = open_retriever(get_settings())
    hits = retriever.search(query, k=k, source_ids=source, kinds=[kind] if kind else None, mode=mode)
    if as_json:
        keys = ("id", "source_id", "title", "locator", "kind", "score", "text")
        typer.echo(json.dumps([{key: getattr(h, key) for key in keys} for h in hits], indent=2, ensure_ascii=False))
        return
    for rank, hit in enumerate(hits, start=1):
        typer.echo(f"{rank}. [{hit.score:.4f}] {hit.id} ({hit.kind}) — {hit.title}")
        typer.echo("   " + hit.text.replace("\n", " ")[:400])


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
