"""Webhook pieces without a server: Block Kit limits, mrkdwn, log redaction, and `serve` refusing to start."""

from __future__ import annotations

import logging

from assistant.config import Settings
from assistant.models import Answer, Citation, Verdict
from assistant.webhook import logs
from assistant.webhook.blocks import (
    MAX_BLOCKS,
    NO_CITATION_WARNING,
    SECTION_LIMIT,
    answer_message,
    check_message,
    parse_feedback_value,
    split_text,
    to_mrkdwn,
)


def make_answer(text: str, citations: int = 2, follow_up: list[str] | None = None, **verdict) -> Answer:
    cites = [Citation(marker=i, id=f"doc-{i}#p{i}", source_id=f"doc-{i}", title=f"Source number {i}",
                      locator=f"p. {i}", text="quoted") for i in range(1, citations + 1)]
    return Answer(question="q", in_scope=True, verdict=Verdict(**(verdict or {"coproduction": "yes"})),
                  answer=text, citations=cites, follow_up=follow_up or [], conversation_id="slack:T1:C1:1.2")


def test_very_long_answer_stays_within_block_kit_limits():
    paragraph = "Co-production means citizens do part of the work of delivering the service [1]. " * 30
    answer = make_answer("\n\n".join([paragraph] * 120) + "\n\n" + "x" * 9000, citations=37,
                         follow_up=["Who does the sorting?"])
    message = answer_message(answer, turn=3)
    blocks = message["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert check_message(message) == []
    sections = [b for b in blocks if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in sections)
    assert "too long for one Slack message" in sections[-1]["text"]["text"]
    assert blocks[-1]["type"] == "actions"  # the feedback buttons survive the cut
    contexts = [b for b in blocks if b["type"] == "context"]
    assert sum(len(b["elements"]) for b in contexts) == 37 and all(len(b["elements"]) <= 10 for b in contexts)
    assert 0 < len(message["text"]) <= 3000


def test_answer_with_sources_and_feedback_buttons():
    message = answer_message(make_answer("**Yes.** It is [1][2].", coproduction="yes", mode="optional",
                                         recommendation="conditional"), turn=2)
    blocks = message["blocks"]
    assert blocks[0]["type"] == "section" and "*Co-production:* yes" in blocks[0]["text"]["text"]
    assert "*Advice:* use it under conditions" in blocks[0]["text"]["text"]
    assert blocks[1]["text"]["text"] == "*Yes.* It is [1][2]."
    assert any(b["type"] == "context" and "[1] Source number 1" in b["elements"][0]["text"] for b in blocks)
    buttons = blocks[-1]["elements"]
    values = [parse_feedback_value(b["value"]) for b in buttons]
    assert values == [("slack:T1:C1:1.2", 2, 1), ("slack:T1:C1:1.2", 2, -1)]
    assert NO_CITATION_WARNING not in str(blocks)


def test_warning_when_nothing_is_cited():
    message = answer_message(make_answer("An answer without sources.", citations=0))
    assert any(b["type"] == "context" and b["elements"][0]["text"] == NO_CITATION_WARNING for b in message["blocks"])


def test_clarifying_question_has_its_own_section():
    message = answer_message(make_answer("Can't tell yet.", follow_up=["Do residents do the work?"],
                                         coproduction="unclear"), follow_up_hint="Reply in this thread")
    text = message["blocks"][1]["text"]["text"]
    assert "Do residents do the work?" in text and "Reply in this thread" in text


def test_mrkdwn_escapes_and_converts():
    assert to_mrkdwn("**A** <b> & [site](https://example.org)\n- item") == \
        "*A* &lt;b&gt; &amp; <https://example.org|site>\n• item"


def test_split_text_never_exceeds_the_limit():
    text = ("word " * 2000) + ("y" * 7000)
    pieces = split_text(text, 3000)
    assert all(len(p) <= 3000 for p in pieces) and "".join(pieces).replace(" ", "") == text.replace(" ", "")


# -- logs ----------------------------------------------------------------------------------------------
def test_redaction_of_configured_and_shaped_secrets():
    settings = Settings(slack_signing_secret="sig-secret-123456", api_token="api-token-abcdef")
    logs.register_secrets(settings)
    line = logs.redact("secret sig-secret-123456 api=api-token-abcdef hdr {'Authorization': 'Bearer xoxb-1-2-abc'} "
                       "sig v0=" + "a" * 64 + " form token=abc123&x=1")
    for leaked in ("sig-secret-123456", "api-token-abcdef", "xoxb-1-2-abc", "a" * 64, "abc123"):
        assert leaked not in line
    assert "x=1" in line


def test_redacting_formatter_covers_arguments_and_tracebacks():
    logs.register_secrets(Settings(slack_bot_token="xoxb-999-secret-bot"))
    formatter = logs.RedactingFormatter("%(message)s")
    try:
        raise RuntimeError("token xoxb-999-secret-bot rejected")
    except RuntimeError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "sending %s", ("xoxb-999-secret-bot",),
                                   sys.exc_info())
    assert "xoxb-999-secret-bot" not in formatter.format(record)


# -- serve ---------------------------------------------------------------------------------------------
def test_serve_refuses_without_a_signing_secret(capsys, make_settings):
    from assistant.webhook.server import serve

    assert serve(make_settings(slack_signing_secret=None), port=1) == 2
    err = capsys.readouterr().err
    assert "COPROD_SLACK_SIGNING_SECRET" in err and "--insecure-dev" in err


def test_cli_serve_webhook_refuses_without_a_signing_secret(run_cli, make_settings, monkeypatch):
    monkeypatch.delenv("COPROD_SLACK_SIGNING_SECRET", raising=False)
    result = run_cli(make_settings(), "serve-webhook", "--port", "1")
    assert result.exit_code == 2
    assert "Refusing to start" in result.output + getattr(result, "stderr", "")


def test_settings_travel_to_workers(make_settings):
    import json

    from assistant.webhook.server import settings_json

    settings = make_settings(slack_signing_secret="s3cret-value", rate_limit_per_minute=7)
    data = json.loads(settings_json(settings))
    rebuilt = Settings(**data)
    assert rebuilt.slack_signing_secret.get_secret_value() == "s3cret-value"
    assert rebuilt.rate_limit_per_minute == 7 and rebuilt.data_dir == settings.data_dir
