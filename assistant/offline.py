"""Process-wide offline defaults: no hub downloads, no telemetry, no analytics.

Imported first by the package, so every face (CLI, web, webhook, tests) runs offline
unless the user explicitly overrides one of these variables in the environment.
"""

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply_offline_defaults() -> None:
    """Set the offline environment variables that the user has not set already."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
