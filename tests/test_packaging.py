"""A regular (non-editable) install finds the knowledge base and the prompts."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--wheel-dir", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return next(out.glob("coprod-*.whl"))


def test_wheel_carries_knowledge_and_prompts(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("assistant/_bundled/knowledge/sources/anzsog-2017.txt",
                   "assistant/_bundled/knowledge/rules/facts.yaml",
                   "assistant/_bundled/knowledge/scope.yaml",
                   "assistant/_bundled/prompts/composer.yaml",
                   "assistant/_bundled/prompts/system.md",
                   "assistant/answer.schema.json"):
        assert needed in names, needed


def test_installed_copy_resolves_its_bundled_data(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    probe = ("from assistant.config import Settings; from assistant.rules import check_rules; s = Settings(); "
             "print(s.knowledge_dir); print(s.prompts_dir); print(check_rules(s.rules_dir, s.sources_dir))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    knowledge, prompts, problems = run.stdout.strip().splitlines()
    assert knowledge.startswith(str(target)) and prompts.startswith(str(target))
    assert problems == "[]"
