"""The JSON API: ``POST /api/ask`` (bearer token) returns the answer contract; ``GET /healthz``."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.models import Answer
from assistant.webhook.guards import problem, same_secret, too_many

router = APIRouter(tags=["api"])
bearer = HTTPBearer(auto_error=False, description="The value of COPROD_API_TOKEN.")


class AskRequest(BaseModel):
    """One question, optionally continuing a conversation."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "question": "We want households to sort recycling instead of depot staff — is that co-production, "
                    "should we do it?"}]})

    question: str = Field(min_length=1, max_length=20_000, description="The situation or question.")
    conversation_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9:._-]{1,200}$",
        description="Continue this conversation (the `conversation_id` of an earlier answer).")

    @field_validator("question")
    @classmethod
    def encodable(cls, value: str) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("the question is not valid Unicode text") from exc
        return value


class Problem(BaseModel):
    detail: str


class Health(BaseModel):
    status: str
    advisor: str = Field(description="ready, starting or error")
    pid: int
    metrics: dict[str, int]


ERRORS = {
    400: {"model": Problem, "description": "The advisor refused the question (empty or too long)."},
    401: {"model": Problem, "description": "Missing or wrong bearer token."},
    413: {"model": Problem, "description": "Request body over the size limit."},
    415: {"model": Problem, "description": "Content type other than application/json."},
    429: {"model": Problem, "description": "Too many questions; see Retry-After.",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}},
}


async def require_token(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """401 unless the bearer token matches COPROD_API_TOKEN (checked before the body is validated)."""
    service = request.app.state.service
    expected = service.settings.api_token
    if not same_secret(credentials.credentials if credentials else None,
                       expected.get_secret_value() if expected else None):
        service.count("rejected_token")
        raise HTTPException(401, "missing or invalid bearer token" if expected
                            else "the JSON API is disabled: set COPROD_API_TOKEN",
                            headers={"WWW-Authenticate": "Bearer"})


@router.post("/api/ask", response_model=Answer, responses=ERRORS, summary="Ask the advisor",
             operation_id="ask", dependencies=[Depends(require_token)])
async def ask(request: Request, body: AskRequest):
    """Answer one question with the answer contract (the same JSON as `coprod ask --json`)."""
    service = request.app.state.service
    client = request.client.host if request.client else "unknown"
    if (wait := await run_in_threadpool(service.rate, f"api:{client}")) > 0:
        service.count("rate_limited")
        return too_many(wait)

    from assistant.advisor import AdvisorInputError

    try:
        answer = await service.run_blocking(service.ask, body.question, body.conversation_id)
    except AdvisorInputError as exc:
        return problem(400, str(exc))
    return JSONResponse(answer.model_dump(mode="json"))


@router.get("/healthz", response_model=Health, summary="Liveness and advisor readiness")
async def healthz(request: Request) -> Health:
    service = request.app.state.service
    return Health(status="ok", advisor=service.advisor_status, pid=os.getpid(), metrics=dict(service.metrics))
