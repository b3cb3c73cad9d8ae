"""Shared fixtures: a session-wide built index in a temp data dir, fresh data dirs, a no-network guard.

Every fixture passes ``Settings`` objects explicitly (``get_settings()`` is cached per process); the
index is real Chroma in temporary folders, embedded with the packaged model.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import pytest

import assistant  # noqa: F401  (applies the offline environment defaults first)
from assistant.config import Settings


# -- data dirs and the built index -------------------------------------------------------------------
@pytest.fixture
def make_settings(tmp_path_factory) -> Callable[..., Settings]:
    """Factory: ``make_settings(**overrides)`` gives Settings on a fresh, empty data dir."""

    def factory(**overrides) -> Settings:
        data_dir = tmp_path_factory.mktemp("coprod-data")
        return Settings(data_dir=data_dir, **overrides)

    return factory


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory) -> Settings:
    """Settings whose data dir holds an index of the knowledge base, built once per test session.

    Treat it as read-only: tests that change the index use ``make_settings`` instead.
    """
    from assistant.services import build_index

    settings = Settings(data_dir=tmp_path_factory.mktemp("coprod-built"))
    report = build_index(settings, progress=False)
    assert report.changed and report.generation
    return settings


@pytest.fixture(scope="module")
def advisor(built_settings):
    """The real advisor over the session index, one per test module."""
    from assistant.advisor import Advisor

    return Advisor(built_settings)


@pytest.fixture(scope="session")
def retriever(built_settings):
    """A retriever over the session index."""
    from assistant.services import open_retriever

    return open_retriever(built_settings)


# -- the CLI, in process -----------------------------------------------------------------------------
@pytest.fixture
def run_cli(monkeypatch):
    """``run_cli(settings, *args)`` runs ``coprod *args`` in process against ``settings.data_dir``.

    Returns typer's ``Result`` (``exit_code``, ``stdout``, ``stderr``).
    """
    from typer.testing import CliRunner

    from assistant.cli import app
    from assistant.config import get_settings

    runner = CliRunner()

    def invoke(settings: Settings, *args: str):
        monkeypatch.setenv("COPROD_DATA_DIR", str(settings.data_dir))
        if settings.chroma_url:
            monkeypatch.setenv("COPROD_CHROMA_URL", settings.chroma_url)
        get_settings.cache_clear()
        try:
            return runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            get_settings.cache_clear()

    yield invoke
    get_settings.cache_clear()


# -- the webhook ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake_slack():
    """A fake Slack Web API and response_url endpoint on 127.0.0.1, one per test module."""
    from assistant.webhook.testing import FakeSlack

    with FakeSlack() as slack:
        yield slack


# -- no network --------------------------------------------------------------------------------------
def _is_local(address) -> bool:
    """True for loopback TCP/UDP addresses and for non-IP sockets (Unix domain sockets)."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX path or abstract name
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost: would need DNS and a remote peer


class NetworkBlocked(OSError):
    """Raised by the ``no_network`` guard for any connection beyond the machine."""


@pytest.fixture
def no_network(monkeypatch) -> list[str]:
    """Make every outbound (non-loopback) connection attempt fail, and record it.

    Patches ``socket.socket.connect``/``connect_ex``, ``socket.create_connection`` and
    ``socket.getaddrinfo`` (name look-ups other than localhost). Yields the list of blocked
    attempts, so a test can also catch attempts that the code under test swallowed.
    """
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create_connection, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def refuse(what: str, address):
        attempts.append(f"{what} {address!r}")
        raise NetworkBlocked(f"no_network: blocked {what} to {address!r}")

    def connect(self, address):
        if not _is_local(address):
            refuse("connect", address)
        return real_connect(self, address)

    def connect_ex(self, address):
        if not _is_local(address):
            refuse("connect_ex", address)
        return real_connect_ex(self, address)

    def create_connection(address, *args, **kwargs):
        if not _is_local(address):
            refuse("create_connection", address)
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local((host, 0)):
            refuse("getaddrinfo", host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts


# -- the rule engine ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ruleset():
    """The curated rule set of ``knowledge/rules``, loaded and validated once."""
    from assistant.rules import load_ruleset

    settings = Settings()
    return load_ruleset(settings.rules_dir, settings.sources_dir)


@pytest.fixture(scope="session")
def extractor(ruleset):
    """A fact extractor with the packaged embedding model (prototypes embedded once per session)."""
    from assistant.embeddings import shared_embeddings
    from assistant.rules import FactExtractor

    return FactExtractor(ruleset, shared_embeddings())
