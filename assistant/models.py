"""Data models shared by every layer: passages, search hits and the answer contract."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DocKind = Literal["source", "rule", "fact"]


class Chunk(BaseModel):
    """A citable passage with its provenance; ``text`` is stored verbatim."""

    model_config = ConfigDict(frozen=True)

    id: str  # "<source-id>#<locator>"
    source_id: str
    title: str
    locator: str
    heading: str | None = None
    start: int  # character offsets into the document body
    end: int
    text: str
    kind: DocKind = "source"
    evidence_id: str | None = None  # for rule/fact documents: the source passage they quote

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (no None values)."""
        data = self.model_dump(exclude={"id", "text"})
        return {k: v for k, v in data.items() if v is not None}


class SearchHit(BaseModel):
    """One retrieved passage with its fused score and per-retriever ranks."""

    id: str
    source_id: str
    title: str
    locator: str
    kind: DocKind = "source"
    score: float
    text: str
    heading: str | None = None
    evidence_id: str | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    similarity: float | None = None  # cosine similarity to the query, when the dense search found it


Coproduction = Literal["yes", "no", "unclear"]
Mode = Literal["obligatory", "optional"]
Recommendation = Literal["recommend", "conditional", "not_recommended"]
Value = Literal["public", "private", "both"]


class Verdict(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    coproduction: Coproduction | None = None
    mode: Mode | None = None
    recommendation: Recommendation | None = None
    value: Value | None = None


class Citation(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    marker: int
    id: str
    source_id: str
    title: str
    locator: str
    text: str


class Check(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    name: str
    passed: bool
    detail: str = ""


class Answer(BaseModel):
    """The answer contract: identical in the CLI, the web chat, the webhook and the evals."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    question: str
    in_scope: bool
    verdict: Verdict = Field(default_factory=Verdict)
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    follow_up: list[str] = Field(default_factory=list)
    facts: dict[str, Any] = Field(default_factory=dict)
    trace: list[dict[str, Any]] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    generator: str = "composer"
    conversation_id: str
    latency_ms: float = 0.0
