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


def _build_index(settings, progress: bool):
    """Sync the index; a broken rule set or source stops the build with its file:line problems."""
    from assistant.corpus.documents import DocumentError
    from assistant.rules import RuleSetError
    from assistant.services import build_index

    try:
        return build_index(settings, progress=progress)
    except RuleSetError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        fail("the rule set is invalid (see above); the previous index is unchanged")
    except DocumentError as exc:
        fail(f"{exc}; the previous index is unchanged")


@app.command()
def ingest(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders to add (.md .txt .html .pdf .docx).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Build or refresh the index; with PATHs, first add those documents to the knowledge base."""
    from assistant.services import add_user_documents

    settings = get_settings()
    failed: list[str] = []
    if paths:
        result = add_user_documents(settings, paths)
        failed = result.failed
        for document in result.added:
            typer.echo(f"added {document.id}: {document.title} ({document.path})")
        for line in failed:
            typer.echo(f"skipped {line}", err=True)
    report = _build_index(settings, progress=not quiet)
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
    from assistant.services import remove_user_document

    settings = get_settings()
    if not remove_user_document(settings, document_id):
        fail(f"no user document with id {document_id!r} (see `coprod sources`; "
             "documents of knowledge/sources are removed by deleting their file)")
    _build_index(settings, progress=False)
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



def _advisor():
    """The advisor, or a clear exit when the index is missing or the rule set is broken."""
    from assistant.advisor import Advisor
    from assistant.index.retrieval import IndexMissingError
    from assistant.llm import LLMConfigError
    from assistant.rules import RuleSetError

    try:
        return Advisor(get_settings())
    except IndexMissingError as exc:
        fail(str(exc), EXIT_NO_INDEX)
    except RuleSetError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        fail("the rule set is invalid (see above)")
    except LLMConfigError as exc:
        fail(str(exc), EXIT_USAGE)


def _print_answer(answer) -> None:
    typer.echo(answer.answer)
    if answer.citations:
        typer.echo("\nSources:")
        for c in answer.citations:
            typer.echo(f"  [{c.marker}] {c.title} — {c.locator} ({c.id})")
    failed = [c for c in answer.checks if not c.passed]
    if failed:
        typer.echo("\nChecks failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed), err=True)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question or situation, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer contract as JSON.")] = False,
    conversation: Annotated[Optional[str], typer.Option("--conversation", "-c", help="Continue this conversation id.")] = None,
) -> None:
    """Ask one question. Exit codes: 0 answered, 2 bad question, 3 no index, 1 other error."""
    from assistant.advisor import AdvisorInputError

    advisor = _advisor()
    try:
        answer = advisor.ask(question, conversation)
    except AdvisorInputError as exc:
        fail(str(exc), EXIT_USAGE)
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    _print_answer(answer)
    typer.echo(f"\n(conversation {answer.conversation_id}: continue with --conversation {answer.conversation_id})")


@app.command()
def chat() -> None:
    """A terminal chat with history; /new starts a new conversation, /quit leaves."""
    from assistant.advisor import AdvisorInputError

    advisor = _advisor()
    conversation = None
    typer.echo("coprod terminal chat — describe a public service situation. /new for a new conversation, /quit to leave.")
    while True:
        try:
            line = input("\nyou> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        command = line.strip().lower()
        if command in ("/quit", "/exit"):
            return
        if command == "/new":
            conversation = None
            typer.echo("(new conversation)")
            continue
        try:
            answer = advisor.ask(line, conversation)
        except AdvisorInputError as exc:
            typer.echo(f"coprod> {exc}")
            continue
        conversation = answer.conversation_id
        typer.echo("\ncoprod> ", nl=False)
        _print_answer(answer)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the answer contract."""
    from assistant.contract import answer_schema

    typer.echo(json.dumps(answer_schema(), indent=2))


rules_app = typer.Typer(help="The curated rule set in knowledge/rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("check")
def rules_check() -> None:
    """Validate the rule set: schema, facts, ids, conclusions, source quotes, rules that can never fire."""
    from assistant.rules import check_rules

    settings = get_settings()
    problems = check_rules(settings.rules_dir, settings.sources_dir)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        fail(f"{len(problems)} problem(s) in {settings.rules_dir}")
    typer.echo(f"rule set OK ({settings.rules_dir})")


feedback_app = typer.Typer(help="Feedback given on answers (web chat and Slack).", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
def feedback_export(
    out: Annotated[Path, typer.Option("--out", help="JSONL file of evaluation cases to write.")],
) -> None:
    """Write the feedback as evaluation cases (dataset format) for maintainers to label."""
    from assistant.feedback_export import export_feedback

    count = export_feedback(get_settings(), out)
    typer.echo(f"wrote {count} case(s) to {out}")



@app.command()
def web(
    host: Annotated[Optional[str], typer.Option(help="Interface to listen on (default from COPROD_WEB_HOST, 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default from COPROD_WEB_PORT, 7860).")] = None,
) -> None:
    """Start the web chat (Gradio) and print its URL."""
    from assistant.web import launch

    advisor = _advisor()
    launch(advisor, host=host, port=port)


@app.command("serve-webhook")
def serve_webhook(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    insecure_dev: Annotated[bool, typer.Option("--insecure-dev", help="Allow starting without a Slack signing secret (local development only).")] = False,
) -> None:
    """Serve the Slack/Mattermost webhooks and the JSON API (FastAPI under uvicorn)."""
    from assistant.webhook.server import serve

    code = serve(get_settings(), host=host, port=port, workers=workers, insecure_dev=insecure_dev)
    if code:
        raise typer.Exit(code)



@app.command("eval")
def evaluate(
    dataset: Annotated[list[Path], typer.Option("--dataset", help="JSONL dataset (repeatable).")],
    out: Annotated[Path, typer.Option("--out", help="Report JSON to write.")],
    md: Annotated[Optional[Path], typer.Option("--md", help="Also write a Markdown report.")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained HTML report.")] = None,
    min_in_scope_accuracy: Annotated[Optional[float], typer.Option("--min-in_scope_accuracy", "--min-in-scope-accuracy")] = None,
    min_coproduction_accuracy: Annotated[Optional[float], typer.Option("--min-coproduction_accuracy", "--min-coproduction-accuracy")] = None,
    min_mode_accuracy: Annotated[Optional[float], typer.Option("--min-mode_accuracy", "--min-mode-accuracy")] = None,
    min_recommendation_accuracy: Annotated[Optional[float], typer.Option("--min-recommendation_accuracy", "--min-recommendation-accuracy")] = None,
    min_cite_hit_rate: Annotated[Optional[float], typer.Option("--min-cite_hit_rate", "--min-cite-hit-rate")] = None,
    min_citation_validity: Annotated[Optional[float], typer.Option("--min-citation_validity", "--min-citation-validity")] = None,
    baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="Also run the retrieval and nearest-example baselines.")] = True,
) -> None:
    """Run evaluation datasets through the advisor and write reports; non-zero exit when a --min- threshold is missed."""
    from assistant.evaluation.runner import run_eval_command

    thresholds = {name: value for name, value in {
        "in_scope_accuracy": min_in_scope_accuracy, "coproduction_accuracy": min_coproduction_accuracy,
        "mode_accuracy": min_mode_accuracy, "recommendation_accuracy": min_recommendation_accuracy,
        "cite_hit_rate": min_cite_hit_rate, "citation_validity": min_citation_validity,
    }.items() if value is not None}
    code = run_eval_command(get_settings(), datasets=dataset, out=out, md=md, html=html,
                            thresholds=thresholds, baselines=baselines)
    if code:
        raise typer.Exit(code)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
