"""Evaluation datasets: JSONL, one case per line, in the fixed format of issue 8.

```
{"id": str, "question": str, "history": [str] (optional),
 "expect": {"in_scope": bool, "coproduction": "yes"|"no"|"unclear"|null,
            "mode": "obligatory"|"optional"|null,
            "recommendation": "recommend"|"conditional"|"not_recommended"|null,
            "cite_contains": [str]}}
```

Unknown keys (a rationale, a sector, tags) are kept and ignored. Every key of the format except ``history``
must be present (the nullable ones may be ``null``). Problems are reported as ``file:line: message`` and the
whole load fails, so a run never starts on a broken dataset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, field_validator


class DatasetError(ValueError):
    """One or more malformed lines; ``problems`` holds one ``file:line: message`` each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class Expect(BaseModel):
    model_config = ConfigDict(extra="allow")

    in_scope: StrictBool
    coproduction: Literal["yes", "no", "unclear"] | None
    mode: Literal["obligatory", "optional"] | None
    recommendation: Literal["recommend", "conditional", "not_recommended"] | None
    cite_contains: list[StrictStr]


class Case(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr
    question: StrictStr
    history: list[StrictStr] = Field(default_factory=list)
    expect: Expect
    # set by the loader, not part of the format
    split: str = Field(default="", exclude=True)
    source: str = Field(default="", exclude=True)

    @field_validator("id", "question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("history")
    @classmethod
    def _turns_not_blank(cls, value: list[str]) -> list[str]:
        if any(not turn.strip() for turn in value):
            raise ValueError("turns must not be empty")
        return value


class RetrievalCase(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr
    question: StrictStr
    gold: list[StrictStr] = Field(min_length=1)


@dataclass
class Dataset:
    path: Path
    split: str
    cases: list[Case]


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "line"
        message = item["msg"]
        if item["type"] == "missing":
            message = "missing key"
        elif item["type"] == "literal_error":
            message = f"{message}, got {item.get('input')!r}"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _read(path: Path, model: type[BaseModel]) -> tuple[list[tuple[int, BaseModel]], list[str]]:
    """Parse every non-blank line of ``path`` with ``model``; (line number, case) pairs and problems."""
    items: list[tuple[int, BaseModel]] = []
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return [], [f"{path}: no such file"]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: cannot be read ({exc})"]
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path}:{number}: expected a JSON object, got {type(data).__name__}")
            continue
        try:
            items.append((number, model.model_validate(data)))
        except ValidationError as exc:
            problems.append(f"{path}:{number}: {_describe(exc)}")
    if not items and not problems:
        problems.append(f"{path}: no cases")
    return items, problems


def split_names(paths: Iterable[Path]) -> list[str]:
    """A short name per dataset file: its stem, or its path where two files share a stem."""
    paths = list(paths)
    stems = [p.stem for p in paths]
    return [stem if stems.count(stem) == 1 else str(p) for p, stem in zip(paths, stems)]


def load_datasets(paths: Iterable[Path]) -> list[Dataset]:
    """Load and validate every dataset; raise ``DatasetError`` listing every problem (ids unique across files)."""
    paths = [Path(p) for p in paths]
    datasets: list[Dataset] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path, split in zip(paths, split_names(paths)):
        items, found = _read(path, Case)
        problems += found
        cases = []
        for number, case in items:
            where = f"{path}:{number}"
            if case.id in seen:
                problems.append(f"{where}: duplicate id {case.id!r} (first at {seen[case.id]})")
                continue
            seen[case.id] = where
            case.split, case.source = split, where
            cases.append(case)
        datasets.append(Dataset(path, split, cases))
    if problems:
        raise DatasetError(problems)
    return datasets


def load_retrieval(path: Path) -> list[RetrievalCase]:
    """The retrieval set (``id``, ``question``, ``gold`` chunk ids); ``DatasetError`` on a bad line."""
    items, problems = _read(Path(path), RetrievalCase)
    ids: dict[str, int] = {}
    for number, case in items:
        if case.id in ids:
            problems.append(f"{path}:{number}: duplicate id {case.id!r} (first at line {ids[case.id]})")
        ids.setdefault(case.id, number)
    if problems:
        raise DatasetError(problems)
    return [case for _, case in items]
