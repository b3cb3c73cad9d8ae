"""Shared SQLite state: safe for several processes writing at once."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from assistant.state import ConversationStore, FeedbackStore, RateLimiter, SeenKeys, StateStore

TURNS = 40


def _write_turns(path: str, worker: int) -> None:
    conversations = ConversationStore(StateStore(Path(path)))
    for n in range(TURNS):
        conversations.save_turn("shared", f"w{worker} q{n}", json.dumps({"n": n}), {"turn": n}, None)


def _claim(path: str, keys: list[str], out) -> None:
    seen = SeenKeys(StateStore(Path(path)))
    out.put([key for key in keys if seen.first_time(key)])


def test_four_processes_append_to_one_conversation(tmp_path):
    path = str(tmp_path / "state.sqlite3")
    StateStore(Path(path))
    processes = [multiprocessing.get_context("spawn").Process(target=_write_turns, args=(path, w)) for w in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(120)
        assert p.exitcode == 0
    history = ConversationStore(StateStore(Path(path))).history("shared")
    assert len(history) == 4 * TURNS
    assert len({q for q, _ in history}) == 4 * TURNS


def test_each_key_is_claimed_once_across_processes(tmp_path):
    path = str(tmp_path / "state.sqlite3")
    StateStore(Path(path))
    keys = [f"event-{i}" for i in range(60)]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_claim, args=(path, keys, queue)) for _ in range(3)]
    for p in processes:
        p.start()
    claimed = [key for _ in processes for key in queue.get(timeout=120)]
    for p in processes:
        p.join(60)
    assert sorted(claimed) == sorted(keys)


def test_rate_limiter_and_feedback(tmp_path):
    state = StateStore(tmp_path / "state.sqlite3")
    limiter = RateLimiter(state, per_minute=3)
    assert [limiter.check("u1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert 0 < limiter.check("u1") <= 60 and limiter.check("u2") == 0.0
    feedback = FeedbackStore(state)
    feedback.add(question="q", answer="a", verdict={"coproduction": "yes"}, rating=1, channel="web")
    assert feedback.all()[0]["verdict"] == {"coproduction": "yes"}
    try:
        feedback.add(question="q", answer="a", verdict={}, rating=5, channel="web")
    except ValueError as exc:
        assert "rating" in str(exc)
    else:
        raise AssertionError("a rating of 5 was accepted")
