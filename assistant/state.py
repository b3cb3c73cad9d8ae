"""SQLite state shared by every face and process: conversations, feedback, webhook de-duplication.

WAL mode plus a busy timeout makes one file safe for several processes (web chat, webhook workers,
CLI) at once; each call opens its own short-lived connection, so threads never share one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL,
    facts TEXT NOT NULL DEFAULT '{}', pending_fact TEXT
);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL, n INTEGER NOT NULL, created REAL NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, PRIMARY KEY (conversation_id, n)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, conversation_id TEXT,
    question TEXT NOT NULL, answer TEXT NOT NULL, verdict TEXT NOT NULL,
    rating INTEGER NOT NULL, comment TEXT, channel TEXT NOT NULL, user TEXT, in_scope INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS seen_keys (key TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rate_events (user TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rate_events_user ON rate_events (user, at);
"""


class StateStore:
    """Access to the state database (created on first use); one connection per thread, reused."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)  # idempotent; executescript manages its own transaction
        finally:
            db.close()

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt
            self._local.db = db
        return db

    @contextmanager
    def connect(self, immediate: bool = False):
        """This thread's connection, in a transaction (``BEGIN IMMEDIATE`` for read-modify-write)."""
        db = self._connection()
        db.row_factory = None
        db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


class ConversationStore:
    """Conversations: the facts gathered so far, the question last asked, and each turn."""

    def __init__(self, state: StateStore):
        self.state = state

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def load(self, conversation_id: str) -> tuple[dict[str, Any], str | None, int]:
        """(facts, pending fact id, number of turns) of a conversation; empty for a new one."""
        with self.state.connect() as db:
            row = db.execute("SELECT facts, pending_fact FROM conversations WHERE id = ?",
                             (conversation_id,)).fetchone()
            turns = db.execute("SELECT COUNT(*) FROM turns WHERE conversation_id = ?",
                               (conversation_id,)).fetchone()[0]
        if row is None:
            return {}, None, 0
        return json.loads(row[0]), row[1], turns

    def save_turn(self, conversation_id: str, question: str, answer_json: str,
                  facts: dict[str, Any], pending_fact: str | None) -> None:
        now = time.time()
        with self.state.connect(immediate=True) as db:
            db.execute(
                "INSERT INTO conversations (id, created, updated, facts, pending_fact) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated, facts = excluded.facts, "
                "pending_fact = excluded.pending_fact",
                (conversation_id, now, now, json.dumps(facts), pending_fact))
            n = db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation_id = ?",
                           (conversation_id,)).fetchone()[0]
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?)", (conversation_id, n, now, question, answer_json))

    def history(self, conversation_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(question, answer) pairs in order."""
        with self.state.connect() as db:
            rows = db.execute("SELECT question, answer FROM turns WHERE conversation_id = ? ORDER BY n",
                              (conversation_id,)).fetchall()
        return [(q, json.loads(a)) for q, a in rows]


COMMENT_MAX_CHARS = 2000


def _comment_text(comment: str | None) -> str:
    """A feedback comment as stored: trimmed and cut to ``COMMENT_MAX_CHARS`` ("" when there is none)."""
    return (comment or "").strip()[:COMMENT_MAX_CHARS]


class FeedbackStore:
    """Thumbs up/down (and a comment) on answers, exportable as evaluation cases."""

    def __init__(self, state: StateStore):
        self.state = state

    def add(self, *, question: str, answer: str, verdict: dict[str, Any], rating: int,
            comment: str | None = None, channel: str, conversation_id: str | None = None,
            user: str | None = None, in_scope: bool = True) -> int:
        if rating not in (-1, 1):
            raise ValueError("rating must be 1 (helpful) or -1 (not helpful)")
        with self.state.connect(immediate=True) as db:
            cursor = db.execute(
                "INSERT INTO feedback (created, conversation_id, question, answer, verdict, rating, comment, channel, "
                "user, in_scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), conversation_id, question, answer, json.dumps(verdict), rating,
                 _comment_text(comment) or None, channel, user, int(in_scope)))
            return int(cursor.lastrowid)

    def add_comment(self, feedback_id: int, comment: str) -> bool:
        """Attach a comment written after the rating to that rating; False when there is no such rating."""
        text = _comment_text(comment)
        if not text:
            return False
        with self.state.connect(immediate=True) as db:
            cursor = db.execute("UPDATE feedback SET comment = ? WHERE id = ?", (text, int(feedback_id)))
            return cursor.rowcount == 1

    def all(self) -> list[dict[str, Any]]:
        with self.state.connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [dict(row) | {"verdict": json.loads(row["verdict"])} for row in rows]


class SeenKeys:
    """Keys seen once (webhook event ids, retries); shared by every worker through the database."""

    def __init__(self, state: StateStore, ttl_s: float = 24 * 3600):
        self.state, self.ttl_s = state, ttl_s

    def first_time(self, key: str) -> bool:
        """True exactly once per key, across processes."""
        now = time.time()
        with self.state.connect(immediate=True) as db:
            db.execute("DELETE FROM seen_keys WHERE created < ?", (now - self.ttl_s,))
            cursor = db.execute("INSERT OR IGNORE INTO seen_keys VALUES (?, ?)", (key, now))
            return cursor.rowcount == 1


class RateLimiter:
    """Sliding one-minute window per user, shared by every worker through the database."""

    def __init__(self, state: StateStore, per_minute: int):
        self.state, self.per_minute = state, per_minute

    def check(self, user: str) -> float:
        """0 when the request may go ahead (and is counted), else seconds to wait."""
        now = time.time()
        with self.state.connect(immediate=True) as db:
            db.execute("DELETE FROM rate_events WHERE at < ?", (now - 60,))
            times = [r[0] for r in db.execute(
                "SELECT at FROM rate_events WHERE user = ? ORDER BY at", (user,)).fetchall()]
            if len(times) >= self.per_minute:
                return max(0.0, 60 - (now - times[0]))
            db.execute("INSERT INTO rate_events VALUES (?, ?)", (user, now))
            return 0.0
