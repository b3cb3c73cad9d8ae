"""Cases written by someone who had not seen the rules (``tests/data/*.yaml``), loaded as pytest parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).parent / "data"


def load_cases(file_name: str) -> list[dict]:
    """The ``cases`` list of a data file."""
    return yaml.safe_load((DATA / file_name).read_text(encoding="utf-8"))["cases"]


def case_params(cases: list[dict]) -> list:
    """Each case as a parameter named by its id; one the rules still get wrong is kept, marked ``known_miss``
    with the reason, and runs as a strict xfail."""
    return [pytest.param(case, id=case["id"], marks=[pytest.mark.xfail(strict=True, reason=case["known_miss"])]
                         if case.get("known_miss") else []) for case in cases]
