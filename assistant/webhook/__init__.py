"""The webhook service: Slack (slash command, events, interactions), Mattermost and a JSON API.

``create_app(settings)`` builds the FastAPI application; ``serve(settings, ...)`` runs it under uvicorn
(``coprod serve-webhook``).
"""

from assistant.webhook.app import create_app
from assistant.webhook.server import serve

__all__ = ["create_app", "serve"]
