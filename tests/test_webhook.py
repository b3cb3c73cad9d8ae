"""The webhook service for real: `coprod serve-webhook` under uvicorn on 127.0.0.1, a fake Slack beside it.

One server (one worker, DEBUG logging) serves the whole module; its log is checked for secrets at the
end. The multi-worker and schemathesis runs are in tests/test_webhook_slow.py.
"""

from __future__ import annotations

import json
import sqlite3
import time
from urllib.parse import urlencode

import httpx
import jsonschema
import pytest

from assistant.webhook.blocks import check_message, parse_feedback_value
from assistant.webhook.testing import SAMPLE_QUESTION, ServerProcess, event_body, sign, slash_body

SECRET = "whsec-signing-7Hq2-test-only"
BOT_TOKEN = "xoxb-4242-test-bot-token-only"
API_TOKEN = "api-token-9f8e7d-test-only"
MM_TOKEN = "mm-token-5c5c-test-only"
SECRETS = (SECRET, BOT_TOKEN, API_TOKEN, MM_TOKEN)
RATE = 6  # questions per user and minute on this server
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_CT = {"Content-Type": "application/json"}


VAGUE = "Is our new approach with households co-production?"  # the rules need to know who does the work
REPLY = "Households sort their waste at home, doing work the depot staff used to do."


@pytest.fixture(scope="module")
def server(built_settings, fake_slack):
    env = {"COPROD_DATA_DIR": str(built_settings.data_dir), "COPROD_SLACK_SIGNING_SECRET": SECRET,
           "COPROD_SLACK_BOT_TOKEN": BOT_TOKEN, "COPROD_API_TOKEN": API_TOKEN, "COPROD_MATTERMOST_TOKEN": MM_TOKEN,
           "COPROD_SLACK_API_URL": fake_slack.api_url, "COPROD_RATE_LIMIT_PER_MINUTE": str(RATE),
           "COPROD_WEBHOOK_MAX_BODY_BYTES": "16000", "COPROD_LLM": "none"}
    with ServerProcess(env, log_level="debug") as proc:
        yield proc


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def advisor_calls(client) -> int:
    return client.get("/healthz").json()["metrics"].get("advisor_calls", 0)


def turns(settings) -> int:
    with sqlite3.connect(settings.state_db) as db:
        return db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]


def signed_post(client, path: str, body: bytes, content_type: dict, secret: str = SECRET, ts: int | None = None,
                **headers):
    return client.post(path, content=body, headers={**sign(secret, body, ts), **content_type, **headers})


def command(client, fake_slack, name: str, text: str = SAMPLE_QUESTION, user: str = "U100", **kw):
    body = slash_body(text, fake_slack.response_url(name), user=user, **kw)
    started = time.perf_counter()
    response = signed_post(client, "/slack/commands", body, FORM)
    return response, time.perf_counter() - started


def verdict_text(message: dict) -> str:
    return message["blocks"][0]["text"]["text"]


# -- slash command -----------------------------------------------------------------------------------------
def test_signed_slash_command_acknowledged_then_answered_on_response_url(client, fake_slack):
    response, elapsed = command(client, fake_slack, "slash-1")
    assert response.status_code == 200 and elapsed < 3
    ack = response.json()
    assert ack["response_type"] == "ephemeral" and "Thinking about" in ack["text"]
    [post] = fake_slack.wait_for("/response/slash-1")
    message = post.body
    assert message["response_type"] == "ephemeral" and message["replace_original"] is False
    assert check_message(message) == []
    assert "*Co-production:* yes" in verdict_text(message)
    assert any(b["type"] == "context" for b in message["blocks"])  # sources
    assert message["blocks"][-1]["type"] == "actions"  # feedback buttons


def test_public_prefix_posts_in_channel(client, fake_slack):
    response, _ = command(client, fake_slack, "slash-public", text="public " + SAMPLE_QUESTION, user="U101")
    assert response.status_code == 200
    [post] = fake_slack.wait_for("/response/slash-public")
    assert post.body["response_type"] == "in_channel"


def test_empty_command_gets_help_without_the_advisor(client, fake_slack):
    before = advisor_calls(client)
    response, _ = command(client, fake_slack, "slash-help", text="  ", user="U102")
    assert response.status_code == 200 and "/coprod" in response.json()["text"]
    assert advisor_calls(client) == before


def test_replayed_command_is_answered_once(client, fake_slack):
    body = slash_body(SAMPLE_QUESTION, fake_slack.response_url("replay"), user="U103", trigger_id="trigger-replay-1")
    headers = {**sign(SECRET, body), **FORM}
    first = client.post("/slack/commands", content=body, headers=headers)
    second = client.post("/slack/commands", content=body, headers=headers)  # the very same request again
    assert first.status_code == 200 and second.status_code == 200
    fake_slack.wait_for("/response/replay")
    time.sleep(1.0)
    assert len(fake_slack.posts("/response/replay")) == 1


# -- verification: none of these reach the advisor ------------------------------------------------------------
@pytest.mark.parametrize("case", ["unsigned", "forged", "stale", "future", "tampered", "garbage-timestamp"])
def test_bad_signatures_are_401_and_never_reach_the_advisor(client, fake_slack, built_settings, case):
    name = f"bad-{case}"
    body = slash_body(SAMPLE_QUESTION, fake_slack.response_url(name), user="U110")
    now = int(time.time())
    headers = {
        "unsigned": {},
        "forged": sign("not-the-secret", body),
        "stale": sign(SECRET, body, now - 6 * 60),
        "future": sign(SECRET, body, now + 6 * 60),
        "tampered": sign(SECRET, body.replace(b"U110", b"U111")),
        "garbage-timestamp": {**sign(SECRET, body), "X-Slack-Request-Timestamp": "yesterday"},
    }[case]
    before_calls, before_turns = advisor_calls(client), turns(built_settings)
    for path, content_type in (("/slack/commands", FORM), ("/slack/interactions", FORM)):
        response = client.post(path, content=body, headers={**headers, **content_type})
        assert response.status_code == 401, (path, response.text)
    events = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    ev_headers = {"unsigned": {}, "forged": sign("x", events), "stale": sign(SECRET, events, now - 400),
                  "future": sign(SECRET, events, now + 400), "tampered": sign(SECRET, events + b" "),
                  "garbage-timestamp": {**sign(SECRET, events), "X-Slack-Request-Timestamp": "soon"}}[case]
    assert client.post("/slack/events", content=events, headers={**ev_headers, **JSON_CT}).status_code == 401
    time.sleep(0.3)
    assert fake_slack.posts(f"/response/{name}") == []
    assert advisor_calls(client) == before_calls and turns(built_settings) == before_turns


def test_guards_413_415_429_401_never_reach_the_advisor(client, fake_slack, built_settings, server):
    before_calls, before_turns = advisor_calls(client), turns(built_settings)
    big = slash_body("x" * 20_000, fake_slack.response_url("big"), user="U120")
    assert signed_post(client, "/slack/commands", big, FORM).status_code == 413

    def chunks():  # no Content-Length: the limit holds while reading too
        for _ in range(40):
            yield b"a" * 1000

    streamed = client.post("/slack/commands", content=chunks(), headers=FORM)
    assert streamed.status_code == 413
    small = slash_body(SAMPLE_QUESTION, fake_slack.response_url("ctype"), user="U120")
    assert signed_post(client, "/slack/commands", small, JSON_CT).status_code == 415
    assert signed_post(client, "/slack/events", b"{}", FORM).status_code == 415
    assert client.post("/api/ask", content=b"question=x", headers={**FORM, "Authorization": f"Bearer {API_TOKEN}"}
                       ).status_code == 415
    assert client.post("/api/ask", json={"question": SAMPLE_QUESTION}).status_code == 401
    assert client.post("/api/ask", json={"question": SAMPLE_QUESTION},
                       headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/mattermost", data={"token": "wrong", "text": SAMPLE_QUESTION}).status_code == 401
    assert client.post("/mattermost", data={"text": SAMPLE_QUESTION}).status_code == 401
    assert advisor_calls(client) == before_calls and turns(built_settings) == before_turns

    # The rate limit: RATE questions a minute per user; the next one is 429 with Retry-After.
    user = "U-rate"
    for i in range(RATE):
        response, _ = command(client, fake_slack, f"rate-{i}", user=user)
        assert response.status_code == 200
    for i in range(RATE):
        fake_slack.wait_for(f"/response/rate-{i}")
    calls = advisor_calls(client)
    limited, _ = command(client, fake_slack, "rate-limited", user=user)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    time.sleep(0.5)
    assert fake_slack.posts("/response/rate-limited") == [] and advisor_calls(client) == calls


# -- events ------------------------------------------------------------------------------------------------
def test_url_verification_answers_the_challenge(client):
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"}).encode()
    response = signed_post(client, "/slack/events", body, JSON_CT)
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def post_event(client, event: dict, event_id: str, **headers):
    return signed_post(client, "/slack/events", event_body(event, event_id=event_id), JSON_CT, **headers)


def chat_posts(fake_slack, channel: str):
    return [p for p in fake_slack.posts("/api/chat.postMessage") if p.body.get("channel") == channel]


def test_app_mention_is_answered_in_its_thread_through_the_web_api(client, fake_slack):
    event = {"type": "app_mention", "channel": "C-mention", "user": "U200", "ts": "1700000100.000100",
             "text": f"<@UBOT> {SAMPLE_QUESTION}"}
    assert post_event(client, event, "Ev-mention-1").status_code == 200
    [post] = wait_chat(fake_slack, "C-mention", 1)
    assert post.headers.get("Authorization") == f"Bearer {BOT_TOKEN}"
    assert post.body["thread_ts"] == "1700000100.000100"
    assert check_message(post.body) == [] and "*Co-production:* yes" in verdict_text(post.body)


def wait_chat(fake_slack, channel: str, count: int, timeout: float = 60) -> list:
    deadline = time.time() + timeout
    while len(chat_posts(fake_slack, channel)) < count and time.time() < deadline:
        time.sleep(0.05)
    return chat_posts(fake_slack, channel)


def test_direct_message_is_answered(client, fake_slack):
    event = {"type": "message", "channel_type": "im", "channel": "D-dm", "user": "U201", "ts": "1700000200.000100",
             "text": SAMPLE_QUESTION}
    assert post_event(client, event, "Ev-dm-1").status_code == 200
    [post] = wait_chat(fake_slack, "D-dm", 1)
    assert post.body["thread_ts"] == "1700000200.000100"


@pytest.mark.parametrize("event", [
    {"type": "message", "channel_type": "im", "channel": "D-bot", "user": "U300", "bot_id": "B1", "ts": "1.1",
     "text": SAMPLE_QUESTION},
    {"type": "message", "channel_type": "im", "channel": "D-bot", "user": "UBOT", "ts": "1.2", "text": SAMPLE_QUESTION},
    {"type": "message", "subtype": "bot_message", "channel_type": "im", "channel": "D-bot", "user": "U300",
     "ts": "1.3", "text": SAMPLE_QUESTION},
    {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D-bot", "user": "U300",
     "ts": "1.4", "text": SAMPLE_QUESTION},
    {"type": "message", "channel_type": "channel", "channel": "D-bot", "user": "U300", "ts": "1.5",
     "text": SAMPLE_QUESTION},  # a channel message outside any thread the bot answers
], ids=["bot_id", "own-user", "bot_message", "edit", "channel-chatter"])
def test_bot_messages_and_chatter_are_ignored(client, fake_slack, event):
    calls = advisor_calls(client)
    assert post_event(client, event, f"Ev-ignore-{event['ts']}").status_code == 200
    time.sleep(0.5)
    assert chat_posts(fake_slack, "D-bot") == [] and advisor_calls(client) == calls


def test_retries_and_duplicate_event_ids_are_answered_once(client, fake_slack):
    event = {"type": "app_mention", "channel": "C-retry", "user": "U210", "ts": "1700000300.000100",
             "text": f"<@UBOT> {SAMPLE_QUESTION}"}
    assert post_event(client, event, "Ev-retry-1").status_code == 200
    for n, reason in ((1, "http_timeout"), (2, "http_error")):
        retry = post_event(client, event, "Ev-retry-1", **{"X-Slack-Retry-Num": str(n),
                                                           "X-Slack-Retry-Reason": reason})
        assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    wait_chat(fake_slack, "C-retry", 1)
    time.sleep(1.0)
    assert len(chat_posts(fake_slack, "C-retry")) == 1


def test_thread_follow_up_refines_the_verdict(client, fake_slack, built_settings):
    from assistant.state import ConversationStore, StateStore

    root_ts = "1700000400.000100"
    vague = {"type": "app_mention", "channel": "C-thread", "user": "U220", "ts": root_ts,
             "text": "<@UBOT> " + VAGUE}
    assert post_event(client, vague, "Ev-thread-1").status_code == 200
    [first] = wait_chat(fake_slack, "C-thread", 1)
    assert first.body["thread_ts"] == root_ts
    assert "To decide, I need to know" in json.dumps(first.body["blocks"])
    reply = {"type": "message", "channel_type": "channel", "channel": "C-thread", "user": "U220",
             "ts": "1700000401.000100", "thread_ts": root_ts, "text": REPLY}
    assert post_event(client, reply, "Ev-thread-2").status_code == 200
    second = wait_chat(fake_slack, "C-thread", 2)[1]
    assert second.body["thread_ts"] == root_ts
    history = ConversationStore(StateStore(built_settings.state_db)).history(f"slack:T1:C-thread:{root_ts}")
    assert len(history) == 2
    (_, before), (_, after) = history
    assert before["follow_up"] and before["verdict"]["coproduction"] == "unclear"
    assert after["verdict"]["coproduction"] in ("yes", "no")
    assert after["verdict"] != before["verdict"]
    assert verdict_text(second.body) != verdict_text(first.body)


# -- interactions --------------------------------------------------------------------------------------------
def test_feedback_buttons_land_in_the_feedback_store(client, fake_slack, built_settings):
    from assistant.state import FeedbackStore, StateStore

    command(client, fake_slack, "fb-source", user="U230")
    [post] = fake_slack.wait_for("/response/fb-source")
    buttons = post.body["blocks"][-1]["elements"]
    down = next(b for b in buttons if b["action_id"] == "coprod_feedback_down")
    conversation_id, turn, rating = parse_feedback_value(down["value"])
    payload = {"type": "block_actions", "user": {"id": "U230"}, "team": {"id": "T1"},
               "response_url": fake_slack.response_url("fb-ack"),
               "actions": [{"action_id": down["action_id"], "block_id": "coprod_feedback", "value": down["value"],
                            "type": "button"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert signed_post(client, "/slack/interactions", body, FORM).status_code == 200
    assert signed_post(client, "/slack/interactions", body, FORM).status_code == 200  # a double click
    rows = [r for r in FeedbackStore(StateStore(built_settings.state_db)).all()
            if r["conversation_id"] == conversation_id]
    assert len(rows) == 1
    row = rows[0]
    assert row["rating"] == -1 and row["channel"] == "slack" and row["user"] == "U230"
    assert row["question"] == SAMPLE_QUESTION and row["verdict"]["coproduction"] == "yes"
    acks = fake_slack.wait_for("/response/fb-ack", 2)
    assert "recorded" in acks[0].body["text"] or "recorded" in acks[1].body["text"]


# -- Mattermost ------------------------------------------------------------------------------------------------
def test_mattermost_outgoing_webhook_and_slash_command(client):
    form = client.post("/mattermost", data={"token": MM_TOKEN, "text": f"coprod {SAMPLE_QUESTION}",
                                            "trigger_word": "coprod", "user_id": "mm1", "team_id": "t"})
    assert form.status_code == 200
    assert "co-production" in form.json()["text"] and "**Sources**" in form.json()["text"]
    as_json = client.post("/mattermost", json={"token": MM_TOKEN, "text": SAMPLE_QUESTION, "command": "/coprod",
                                               "user_id": "mm2"})
    assert as_json.status_code == 200 and as_json.json()["response_type"] == "ephemeral"


# -- JSON API --------------------------------------------------------------------------------------------------
def test_api_ask_returns_the_answer_contract(client):
    from assistant.contract import answer_schema

    response = client.post("/api/ask", json={"question": SAMPLE_QUESTION},
                           headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200
    data = response.json()
    jsonschema.validate(data, answer_schema())
    assert data["verdict"]["coproduction"] == "yes" and data["citations"]
    follow = client.post("/api/ask", json={"question": "What about the costs?", "conversation_id":
                                           data["conversation_id"]}, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert follow.status_code == 200 and follow.json()["conversation_id"] == data["conversation_id"]


def test_api_ask_rejects_bad_questions_with_their_message(client):
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    empty = client.post("/api/ask", json={"question": "   "}, headers=auth)
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    long = client.post("/api/ask", json={"question": "word " * 1500}, headers=auth)
    assert long.status_code == 400 and "limit" in long.json()["detail"]
    assert client.post("/api/ask", json={"q": "x"}, headers=auth).status_code == 422


def test_health_openapi_and_docs(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["advisor"] == "ready"
    spec = client.get("/openapi.json").json()
    assert "/api/ask" in spec["paths"] and "HTTPBearer" in json.dumps(spec["components"])
    assert client.get("/docs").status_code == 200


# -- last: the log of everything above -------------------------------------------------------------------------
def test_no_secret_in_any_log_line(client, server):
    # Put the secrets where a careless log line would pick them up: a query string, a header, a body.
    client.get(f"/healthz?token={API_TOKEN}&secret={SECRET}")
    client.post("/api/ask", json={"question": f"{BOT_TOKEN}"}, headers={"Authorization": f"Bearer {SECRET}"})
    client.post("/mattermost", data={"token": MM_TOKEN + "x", "text": "hi"})
    time.sleep(0.5)
    log = server.log()
    assert "chat.postMessage" in log  # DEBUG logging was on: slack-sdk logged its requests...
    assert "[redacted]" in log  # ...and their Authorization headers were redacted
    for secret in SECRETS:
        assert secret not in log, f"a secret leaked into the log: {secret[:6]}…"
