"""The published JSON Schema of the answer contract (``assistant/answer.schema.json``)."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.models import Answer

SCHEMA_PATH = Path(__file__).resolve().parent / "answer.schema.json"


def answer_schema() -> dict:
    """The JSON Schema generated from the ``Answer`` model."""
    schema = Answer.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://coprod.invalid/answer.schema.json"
    return schema


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(json.dumps(answer_schema(), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":  # regenerate: python -m assistant.contract
    write_schema()
