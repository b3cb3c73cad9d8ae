"""coprod: an advisory assistant on co-production of public services."""

from assistant.offline import apply_offline_defaults

apply_offline_defaults()

__version__ = "0.1.0"
