"""The index: idempotent and incremental sync, rebuilds, atomicity under SIGKILL, users' documents,
bad files, the no-network guard and the Chroma server mode. Real Chroma, in temporary folders."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings, load_model, packaged_model_path
from assistant.index import builder
from assistant.index import generations as gen
from assistant.index.builder import current_manifest, sync_index
from assistant.index.retrieval import Retriever
from assistant.knowledge import indexed_documents
from assistant.services import add_user_documents, build_index, index_is_fresh

REPO = Path(__file__).resolve().parent.parent


# -- helpers ---------------------------------------------------------------------------------------
def sync(settings: Settings):
    """Sync with a fresh embedder (empty text cache), so ``computed`` counts what this sync embedded."""
    embeddings = LocalEmbeddings(str(settings.embedding_model_path) if settings.embedding_model_path else None)
    report = sync_index(settings, indexed_documents(settings), embeddings, progress=False)
    assert report.embedded == embeddings.computed
    return report


def total_chunks(settings: Settings) -> int:
    return sum(len(d.chunks) for d in indexed_documents(settings))


def generation_dirs(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.index_dir.iterdir() if p.is_dir() and p.name.startswith("g"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


PARAGRAPHS = [
    "The parks team asked residents of Riverside to adopt a flower bed each spring and keep it weeded.",
    "Volunteers received gloves, seedlings and a short safety briefing from the council gardeners.",
    "After one season the beds were in better shape and the team spent less on contract maintenance.",
]


def user_doc(name: str, extra: str = "") -> str:
    return f"{name} notes\n\n" + "\n\n".join(f"{p} ({name})" for p in PARAGRAPHS) + extra + "\n"


# -- idempotence and incremental updates --------------------------------------------------------------
def test_second_sync_is_a_no_op(make_settings):
    settings = make_settings()
    first = sync(settings)
    assert first.changed and first.rebuild_reason == "no index yet"
    assert first.embedded == total_chunks(settings) > 0
    assert index_is_fresh(settings)
    second = sync(settings)
    assert not second.changed and second.embedded == 0
    assert second.generation == first.generation == gen.read_pointer(settings.index_dir)
    assert generation_dirs(settings) == [first.generation]


def test_editing_one_user_document_embeds_only_its_changed_passages(make_settings, tmp_path):
    settings = make_settings()
    paths = [write(tmp_path / f"{name}.txt", user_doc(name)) for name in ("alpha", "beta", "gamma")]
    added = add_user_documents(settings, paths)
    assert [d.id for d in added.added] == ["alpha", "beta", "gamma"] and not added.failed
    first = sync(settings)
    assert first.embedded == total_chunks(settings)
    manifest = current_manifest(settings)
    assert len(manifest.documents["beta"].chunk_ids) == 3

    # Change one paragraph of one document, re-add it from the same path: same id, updated.
    write(paths[1], user_doc("beta").replace("short safety briefing", "two-hour safety course"))
    again = add_user_documents(settings, [paths[1]])
    assert [d.id for d in again.added] == ["beta"]
    report = sync(settings)
    assert report.changed and report.rebuild_reason is None
    assert report.updated == ["beta"] and report.added == [] and report.removed == []
    assert report.embedded == 1  # only the edited passage went through the model
    assert report.reused == total_chunks(settings) - 1

    retriever = Retriever(settings, LocalEmbeddings())
    assert retriever.generation == report.generation
    hit = retriever.search("two-hour safety course for volunteers", k=1)[0]
    assert hit.source_id == "beta" and "two-hour safety course" in hit.text

    # A new document: only its passages are embedded.
    add_user_documents(settings, [write(tmp_path / "delta.md", user_doc("delta"))])
    report = sync(settings)
    assert report.added == ["delta"] and report.embedded == 3


def test_re_adding_an_unchanged_file_changes_nothing(make_settings, tmp_path):
    settings = make_settings()
    path = write(tmp_path / "same.txt", user_doc("same"))
    add_user_documents(settings, [path])
    first = sync(settings)
    result = add_user_documents(settings, [path])
    assert result.added == [] and result.failed == []
    assert not sync(settings).changed
    assert current_manifest(settings).generation == first.generation


def test_remove_a_user_document(make_settings, tmp_path, run_cli):
    settings = make_settings()
    add_user_documents(settings, [write(tmp_path / "kept.txt", user_doc("kept")),
                                  write(tmp_path / "dropped.txt", user_doc("dropped"))])
    sync(settings)
    assert {"kept", "dropped"} <= set(current_manifest(settings).documents)

    result = run_cli(settings, "remove", "dropped")
    assert result.exit_code == 0, result.output
    assert "removed dropped" in result.stdout
    manifest = current_manifest(settings)
    assert "dropped" not in manifest.documents and "kept" in manifest.documents
    hits = Retriever(settings, LocalEmbeddings()).search("flower beds weeded by residents (dropped)", k=20)
    assert hits and all(h.source_id != "dropped" for h in hits)
    listed = json.loads(run_cli(settings, "sources", "--json").stdout)
    assert {row["id"] for row in listed} == set(manifest.documents)

    missing = run_cli(settings, "remove", "dropped")
    assert missing.exit_code == 1 and "no user document" in missing.stderr
    # Knowledge-base sources cannot be removed this way.
    assert run_cli(settings, "remove", "anzsog-2017").exit_code == 1
    assert "anzsog-2017" in current_manifest(settings).documents


def test_model_change_rebuilds_everything(make_settings):
    settings = make_settings()
    first = sync(settings)
    # The same packaged model, named by its path: a different model id, so no vector may be reused.
    other = settings.model_copy(update={"embedding_model_path": packaged_model_path()})
    assert builder.rebuild_reason(other, current_manifest(settings)).startswith("embedding model changed")
    assert not index_is_fresh(other)
    report = sync(other)
    assert report.changed and report.rebuild_reason.startswith("embedding model changed")
    assert report.reused == 0 and report.embedded == total_chunks(other)
    manifest = current_manifest(other)
    assert manifest.generation == report.generation != first.generation
    assert manifest.embedding_model.endswith(str(packaged_model_path()))
    assert not sync(other).changed
    # Back to the default name: rebuilt again, never mixed.
    back = sync(settings)
    assert back.rebuild_reason.startswith("embedding model changed") and back.reused == 0


def test_chunker_change_rebuilds_everything(make_settings, monkeypatch):
    settings = make_settings()
    sync(settings)
    monkeypatch.setattr(builder, "CHUNKER_VERSION", "para-v0-test")
    report = sync(settings)
    assert report.rebuild_reason == "chunker changed (para-v1 -> para-v0-test)"
    assert report.reused == 0 and report.embedded == total_chunks(settings)
    assert current_manifest(settings).chunker_version == "para-v0-test"


# -- atomic rebuild after SIGKILL -----------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from assistant.config import Settings
    from assistant.services import add_user_documents, build_index
    settings = Settings(data_dir=sys.argv[1])
    result = add_user_documents(settings, [Path(sys.argv[2])])
    print("added", len(result.added), flush=True)
    build_index(settings, progress=False)
    print("finished", flush=True)
""")


def _many_documents(folder: Path, count: int) -> None:
    rng = random.Random(7)
    vocabulary = ("council resident volunteer library school clinic program budget outcome service team "
                  "street park water waste transport health care community family youth trust value").split()
    for n in range(count):
        paragraphs = [" ".join(rng.choice(vocabulary) for _ in range(70)) + f" report{n}x{p}."
                      for p in range(2)]
        write(folder / f"report-{n:03d}.txt", f"Report {n}\n\n" + "\n\n".join(paragraphs) + "\n")


def test_killed_rebuild_leaves_previous_index_usable_and_next_sync_recovers(make_settings, tmp_path):
    settings = make_settings()
    previous = sync(settings)
    docs = tmp_path / "many"
    _many_documents(docs, 300)

    child = subprocess.Popen([sys.executable, "-c", CHILD, str(settings.data_dir), str(docs)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    leftover = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            new = [g for g in generation_dirs(settings) if g != previous.generation]
            if new:
                leftover = new[0]
                time.sleep(0.2)  # let it write part of the new generation
                break
            time.sleep(0.02)
        assert child.poll() is None, f"the child ended before it could be killed: {child.communicate()}"
        assert leftover, "no new generation folder appeared"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    # The previous index is still the current one, complete and searchable.
    assert gen.read_pointer(settings.index_dir) == previous.generation
    assert (settings.index_dir / leftover).is_dir()
    assert not (settings.index_dir / leftover / gen.MANIFEST).exists()
    retriever = Retriever(settings, LocalEmbeddings())
    assert retriever.generation == previous.generation
    assert set(retriever.manifest.documents) == {d.entry.id for d in indexed_documents(make_settings())}
    hits = retriever.search("mothers supporting other new mothers", k=3, kinds=["source"])
    assert hits[0].id == "anzsog-2017#not-just-a-cost-saving-measure.p2"
    assert not index_is_fresh(settings)  # the 300 added documents are not indexed yet

    # The next sync completes the work and removes the half-built folder.
    report = sync(settings)
    assert report.changed and report.generation not in (previous.generation, leftover)
    assert len(report.added) == 300
    assert not (settings.index_dir / leftover).exists()
    assert set(generation_dirs(settings)) <= {previous.generation, report.generation}
    assert retriever.refresh() and retriever.generation == report.generation
    hit = retriever.search("report123x1", k=1, mode="lexical")[0]
    assert hit.source_id == "report-123"
    # And one more sync drops the superseded generation too.
    assert not sync(settings).changed
    assert generation_dirs(settings) == [report.generation]


# -- users' documents: formats and bad files -------------------------------------------------------------
def _pdf(path: Path, pages: list[str], encrypt: bool = False) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for text in pages:
        y = 800
        for line in textwrap.wrap(text, 80):
            pdf.drawString(50, y, line)
            y -= 14
        pdf.showPage()
    pdf.save()
    data = buffer.getvalue()
    if encrypt:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        writer.encrypt("secret", algorithm="RC4-128")
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _docx(path: Path, paragraphs: list[str]) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Library volunteers", level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def test_each_format_is_ingested_with_file_and_page(make_settings, tmp_path, run_cli):
    folder = tmp_path / "mixed"
    write(folder / "garden.md", "# Garden scheme\n\nResidents weed the community garden beds on Saturday "
                                "mornings with the parks team.\n")
    write(folder / "notes.txt", "Tenants report broken street lights through the council app, which "
                                "speeds up repairs considerably.\n")
    write(folder / "page.html", "<html><head><title>Youth mentoring</title><script>x()</script></head><body>"
                                "<h1>Youth mentoring</h1><p>Retired engineers mentor apprentices at the "
                                "technical college every Thursday afternoon.</p></body></html>")
    _pdf(folder / "survey.pdf", ["Page one of the survey covers recycling habits of households in the "
                                 "northern suburbs of the city.",
                                 "Page two explains that households sorting glass reduced landfill "
                                 "costs for the municipality."])
    _docx(folder / "library.docx", ["Library volunteers run the homework club for primary school pupils "
                                    "after the bell.", "They also shelve returned books on weekends."])
    settings = make_settings()
    result = run_cli(settings, "ingest", str(folder), "-q")
    assert result.exit_code == 0, result.output
    manifest = current_manifest(settings)
    expected = {"garden", "notes", "page", "survey", "library"}
    assert expected <= set(manifest.documents)
    for doc_id in expected:
        entry = manifest.documents[doc_id]
        assert entry.kind == "user-document" and Path(entry.path).parent == folder and entry.chunk_ids
    assert manifest.documents["page"].title == "Youth mentoring"
    assert manifest.documents["survey"].chunk_ids == ["survey#page-1.text.p1", "survey#page-2.text.p1"]

    retriever = Retriever(settings, LocalEmbeddings())
    for question, source in [("who weeds the garden beds", "garden"),
                             ("reporting broken street lights in an app", "notes"),
                             ("engineers mentoring apprentices", "page"),
                             ("glass sorting lowered landfill costs", "survey"),
                             ("homework club run by library volunteers", "library")]:
        top = retriever.search(question, k=1)[0]
        assert top.source_id == source, (question, top.id)
    pdf_hit = retriever.search("glass sorting lowered landfill costs", k=1)[0]
    assert pdf_hit.locator == "page-2.text.p1" and pdf_hit.text.startswith("Page two explains")
    assert "<script>" not in retriever.get("page#youth-mentoring.p1").text

    listed = run_cli(settings, "sources")
    assert listed.exit_code == 0 and "survey" in listed.stdout and "anzsog-2017" in listed.stdout


def _unreadable(folder: Path) -> Path:
    """A supported file that cannot be read, even by root."""
    path = folder / "locked.txt"
    if os.geteuid() != 0:
        write(path, "A perfectly good text that nobody may read, about parks and volunteers.\n")
        path.chmod(0)
    else:  # root reads anything with mode 000: use a file whose read fails instead
        if not Path("/proc/self/mem").exists():
            pytest.skip("no way to make an unreadable file as root here")
        path.symlink_to("/proc/self/mem")
    return path


def test_bad_files_get_one_line_reasons_and_the_others_are_ingested(make_settings, tmp_path, run_cli):
    folder = tmp_path / "inbox"
    good = write(folder / "good.txt", "Residents clean the beach every month with equipment from the council.\n")
    write(folder / "also-good.md", "Parents run the school crossing patrol on weekday mornings in turns.\n")
    bad = {
        "empty": write(folder / "empty.txt", "  \n\n "),
        "binary": folder / "binary.txt",
        "unreadable": _unreadable(folder),
        "encrypted": _pdf(folder / "secret.pdf", ["Confidential budget notes on the volunteer programme."],
                          encrypt=True),
        "damaged pdf": folder / "broken.pdf",
        "damaged docx": folder / "broken.docx",
        "duplicate": folder / "zz-copy-of-good.txt",
    }
    bad["binary"].write_bytes(b"\x7fELF\x00\x01\x02" + bytes(range(256)) * 8)
    bad["damaged pdf"].write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% cut off here")
    real_docx = _docx(tmp_path / "whole.docx", ["Volunteers read to children at the library on Saturdays."])
    bad["damaged docx"].write_bytes(real_docx.read_bytes()[:300])
    shutil.copyfile(good, bad["duplicate"])

    settings = make_settings()
    result = run_cli(settings, "ingest", str(folder), "-q")
    assert result.exit_code == 1, result.output
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == len(bad), result.stderr
    for kind, path in bad.items():
        lines = [line for line in skipped if line.startswith(f"skipped {path}:")]
        assert len(lines) == 1, (kind, result.stderr)
        assert len(lines[0]) < 300
    reasons = {kind: next(line for line in skipped if line.startswith(f"skipped {path}:"))
               for kind, path in bad.items()}
    assert "empty" in reasons["empty"]
    assert "binary" in reasons["binary"]
    assert "cannot read" in reasons["unreadable"]
    assert "encrypted" in reasons["encrypted"]
    assert "damaged" in reasons["damaged pdf"] and "damaged" in reasons["damaged docx"]
    assert "duplicate" in reasons["duplicate"] and "good" in reasons["duplicate"]
    assert "error: 7 file(s) could not be ingested" in result.stderr

    # The good files are in the index all the same.
    manifest = current_manifest(settings)
    assert {"good", "also-good"} <= set(manifest.documents)
    assert not {"empty", "binary", "locked", "secret", "broken", "zz-copy-of-good"} & set(manifest.documents)
    assert Retriever(settings, LocalEmbeddings()).search("who cleans the beach", k=1)[0].source_id == "good"


def test_missing_and_unsupported_paths_are_reported(make_settings, tmp_path, run_cli):
    settings = make_settings()
    odd = write(tmp_path / "table.csv", "a,b\n1,2\n")
    good = write(tmp_path / "fine.txt", "Neighbours share snow clearing duties along the street each winter.\n")
    result = run_cli(settings, "ingest", str(tmp_path / "nope.txt"), str(odd), str(good), "-q")
    assert result.exit_code == 1
    assert f"skipped {tmp_path / 'nope.txt'}: no such file or folder" in result.stderr
    assert f"skipped {odd}: unsupported file type .csv" in result.stderr
    assert "fine" in current_manifest(settings).documents


def test_cli_ingest_twice_reports_up_to_date(make_settings, run_cli):
    settings = make_settings()
    first = run_cli(settings, "ingest", "-q")
    assert first.exit_code == 0 and "full rebuild: no index yet" in first.stdout
    second = run_cli(settings, "ingest", "-q")
    assert second.exit_code == 0 and "is up to date" in second.stdout


# -- no network --------------------------------------------------------------------------------------
def test_the_guard_blocks_outbound_but_not_loopback(no_network):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(OSError, match="no_network"):
            sock.connect(("93.184.216.34", 443))
    with pytest.raises(OSError, match="no_network"):
        socket.create_connection(("example.com", 80), timeout=1)
    with pytest.raises(OSError, match="no_network"):
        socket.getaddrinfo("huggingface.co", 443)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    finally:
        server.close()
    assert len(no_network) == 3


def test_indexing_and_searching_open_no_outbound_connection(no_network, make_settings, tmp_path):
    load_model.cache_clear()  # load the model again under the guard
    try:
        settings = make_settings()
        add_user_documents(settings, [write(tmp_path / "n.txt", user_doc("offline"))])
        report = build_index(settings, progress=False)
        assert report.changed
        retriever = Retriever(settings, LocalEmbeddings())
        hits = retriever.search("is co-production a way to cut costs?", k=3)
        assert hits
        assert retriever.search("flower beds", k=2, mode="dense")
    finally:
        load_model.cache_clear()
    assert no_network == [], no_network


GUARDED_CHILD = textwrap.dedent("""
    import ipaddress, socket, sys
    attempts = []
    def local(address):
        if not isinstance(address, tuple):
            return True
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False
    def guard(real):
        def wrapper(self, address, *a):
            if not local(address):
                attempts.append(repr(address))
                raise OSError("blocked " + repr(address))
            return real(self, address, *a)
        return wrapper
    socket.socket.connect = guard(socket.socket.connect)
    socket.socket.connect_ex = guard(socket.socket.connect_ex)
    real_gai = socket.getaddrinfo
    def gai(host, *a, **k):
        if not local((host, 0)):
            attempts.append(repr(host))
            raise OSError("blocked lookup " + repr(host))
        return real_gai(host, *a, **k)
    socket.getaddrinfo = gai
    from assistant.cli import app
    codes = []
    for command in " ".join(sys.argv[1:]).split(" :: "):
        try:
            app(command.split("|"), standalone_mode=False)
            codes.append(0)
        except SystemExit as exit:
            codes.append(exit.code)
    print("ATTEMPTS", attempts, "CODES", codes, file=sys.stderr)
    sys.exit(1 if attempts or any(codes) else 0)
""")


def test_cold_process_ingest_and_search_open_no_outbound_connection(make_settings):
    """A fresh interpreter with the guard installed before anything is imported."""
    settings = make_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "ANONYMIZED"))}
    env["COPROD_DATA_DIR"] = str(settings.data_dir)
    commands = "ingest|-q :: search|who does the work?|--json|--kind|source"
    proc = subprocess.run([sys.executable, "-c", GUARDED_CHILD, commands], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ATTEMPTS [] CODES [0, 0]" in proc.stderr
    assert "passages embedded" in proc.stdout
    rows = json.loads(proc.stdout[proc.stdout.index("["):])
    assert rows and rows[0]["source_id"] == "anzsog-2017"


# -- Chroma server mode ------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.skip("the chroma CLI is not installed next to this python")
    port = _free_port()
    log = open(tmp_path / "chroma.log", "w")
    process = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma server did not start: {(tmp_path / 'chroma.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.mark.slow
def test_server_mode_indexes_into_and_searches_a_chroma_server(chroma_server, make_settings, tmp_path,
                                                               no_network):
    import chromadb

    from assistant.index.store import chroma_settings

    settings = make_settings(chroma_url=chroma_server)
    add_user_documents(settings, [write(tmp_path / "server.txt", user_doc("server"))])
    first = sync(settings)
    assert first.changed
    # The vectors live on the server, not in the generation folder.
    assert not (settings.index_dir / first.generation / "chroma").exists()
    host, port = chroma_server.rsplit(":", 1)
    client = chromadb.HttpClient(host="127.0.0.1", port=int(port), settings=chroma_settings())
    names = {getattr(c, "name", c) for c in client.list_collections()}
    assert builder.collection_name(settings, first.generation) in names
    assert client.get_collection(builder.collection_name(settings, first.generation)).count() == \
        total_chunks(settings)

    retriever = Retriever(settings, LocalEmbeddings())
    assert retriever.search("mothers supporting new mothers", k=1)[0].id == \
        "anzsog-2017#not-just-a-cost-saving-measure.p2"
    dense = retriever.search("residents adopt a flower bed", k=3, mode="dense")
    assert any(h.source_id == "server" for h in dense)

    # Incremental update through the server, then the old collection is cleaned up.
    write(tmp_path / "server.txt", user_doc("server").replace("flower bed", "vegetable patch"))
    add_user_documents(settings, [tmp_path / "server.txt"])
    second = sync(settings)
    assert second.embedded == 1 and second.reused == total_chunks(settings) - 1
    assert not sync(settings).changed
    names = {getattr(c, "name", c) for c in client.list_collections()}
    assert names == {builder.collection_name(settings, second.generation)}
    assert no_network == []
