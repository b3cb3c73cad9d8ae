"""Turn feedback on real answers into evaluation cases (the dataset format) for maintainers to label."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.config import Settings
from assistant.state import ConversationStore, FeedbackStore, StateStore


def export_feedback(settings: Settings, out: Path) -> int:
    """Write one case per feedback row; the expectation is pre-filled with what the assistant said,
    flagged ``needs_label`` so a maintainer confirms or corrects it. Returns the number of cases."""
    state = StateStore(settings.state_db)
    conversations = ConversationStore(state)
    rows = FeedbackStore(state).all()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        for row in rows:
            history = []
            if row["conversation_id"]:
                turns = [q for q, _ in conversations.history(row["conversation_id"])]
                if row["question"] in turns:
                    history = turns[: turns.index(row["question"])]
            verdict = row["verdict"]
            case = {
                "id": f"feedback-{row['id']}",
                "question": row["question"],
                "history": history,
                "expect": {
                    "in_scope": bool(row["in_scope"]),
                    "coproduction": verdict.get("coproduction"),
                    "mode": verdict.get("mode"),
                    "recommendation": verdict.get("recommendation"),
                    "cite_contains": [],
                },
                "needs_label": True,
                "feedback": {"rating": row["rating"], "comment": row["comment"], "channel": row["channel"]},
                "answer_given": row["answer"],
                "rationale": "exported from user feedback; confirm or correct the expectation",
            }
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")
    return len(rows)
