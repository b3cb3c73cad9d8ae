"""``coprod serve-webhook``: the webhook app under uvicorn, one process or several workers.

Several workers are separate processes started by uvicorn from an app factory (an import string);
they receive the settings through the environment and share their state through SQLite.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from assistant.config import Settings
from assistant.webhook import logs
from assistant.webhook.app import INSECURE_ENV, SETTINGS_ENV, create_app

log = logging.getLogger("assistant.webhook")

REFUSAL = ("Refusing to start: COPROD_SLACK_SIGNING_SECRET is not set, so Slack requests could not be verified. "
           "Set it to your Slack app's signing secret, or pass --insecure-dev for local development only.")


def settings_json(settings: Settings) -> str:
    """The settings as JSON for worker processes, secrets included (they stay in the environment)."""
    data = {}
    for name, value in settings:
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        data[name] = value
    return json.dumps(data, default=str)


def has_signing_secret(settings: Settings) -> bool:
    secret = settings.slack_signing_secret
    return secret is not None and bool(secret.get_secret_value().strip())


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
          insecure_dev: bool = False) -> int:
    """Run the service until interrupted; returns the process exit code."""
    import uvicorn

    if not has_signing_secret(settings):
        if not insecure_dev:
            print(REFUSAL, file=sys.stderr)
            return 2
        print("WARNING: --insecure-dev: Slack request signatures are NOT verified. Never expose this server.",
              file=sys.stderr)
    logs.register_secrets(settings)
    log_config = logs.uvicorn_log_config()
    common = dict(host=host, port=port, log_config=log_config, timeout_graceful_shutdown=30,
                  server_header=False, proxy_headers=False)
    try:
        if workers > 1:
            os.environ[SETTINGS_ENV] = settings_json(settings)
            os.environ[INSECURE_ENV] = "1" if insecure_dev else "0"
            uvicorn.run("assistant.webhook.app:app_from_env", factory=True, workers=workers, **common)
        else:
            uvicorn.run(create_app(settings, insecure_dev=insecure_dev), **common)
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        return 0
    return 0
