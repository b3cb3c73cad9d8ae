"""Compiled detector patterns kept on disk between processes.

The facts file's patterns, once their vocabularies are expanded, are about 1.8 MB of regular expressions;
``re.compile`` parses them in pure Python, which takes 2-3 s at every start of a process. ``PatternCache``
stores what the parser produces (the regex engine's code, about 3.5 MB compressed) in the data dir's cache
and hands it straight to the engine the next time, which takes about 0.2 s.

The stored code belongs to one interpreter: the file name carries a key of the Python version and the
engine's magic number, so another interpreter never reads it. A pattern whose stored form is missing or
refused by the engine (which validates the code it is given) is compiled the ordinary way. The cache is a
private file of the user's data dir, like the index; it only ever holds what this code wrote there.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import os
import re
import sys
import zlib
from pathlib import Path

try:  # CPython's regex engine and its parser: the cache is used only where they are as expected
    import _sre
    from re import _compiler, _parser
except ImportError:  # pragma: no cover - another Python implementation
    _sre = None

FLAGS = re.IGNORECASE
Entry = tuple  # (flags, code, groups, groupindex, indexgroup): the arguments of ``_sre.compile`` after the pattern


def engine_key() -> str:
    """Names the interpreter and regex engine whose compiled code a cache file holds."""
    marker = f"{sys.version}|{getattr(_sre, 'MAGIC', None)}|{getattr(_sre, 'CODESIZE', None)}"
    return hashlib.sha256(marker.encode("utf-8")).hexdigest()[:16]


class PatternCache:
    """Compile case-insensitive patterns, reusing the compiled code stored under ``directory``.

    ``directory=None`` (or an interpreter without CPython's engine) compiles with ``re.compile``, once per process.
    Call ``save`` after a successful load: it keeps exactly the patterns compiled since, so patterns that
    left the rule set do not pile up.
    """

    def __init__(self, directory: Path | None):
        usable = directory is not None and _sre is not None and hasattr(_compiler, "_code")
        self.path = Path(directory) / f"patterns-{engine_key()}.marshal.z" if usable else None
        self._stored: dict[str, Entry] = self._read()
        self._used: dict[str, Entry] = {}
        self.compiled_fresh = 0  # patterns that were not in the cache (their code is new)

    def _read(self) -> dict[str, Entry]:
        if self.path is None:
            return {}
        try:
            data = marshal.loads(zlib.decompress(self.path.read_bytes()))
        except (OSError, EOFError, ValueError, TypeError, zlib.error):
            return {}
        return data if isinstance(data, dict) else {}

    def compile(self, expanded: str) -> re.Pattern:
        """The compiled pattern; raises ``re.error`` for an invalid one, as ``re.compile`` does."""
        if self.path is None:
            return _compile(expanded)
        entry = self._stored.get(expanded)
        if entry is not None:
            try:
                pattern = _sre.compile(expanded, *entry)
                self._used[expanded] = entry
                return pattern
            except (TypeError, ValueError, RuntimeError, OverflowError):
                pass  # refused by the engine: compile it afresh below
        entry, pattern = _compiled_form(expanded)
        self._used[expanded] = entry
        self.compiled_fresh += 1
        return pattern

    def save(self) -> None:
        """Write the patterns compiled through this cache, when that changes the file; a failure is ignored."""
        if self.path is None or (not self.compiled_fresh and self._used.keys() == self._stored.keys()):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(zlib.compress(marshal.dumps(self._used), 3))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only data dir only means the next start compiles again


@functools.lru_cache(maxsize=None)
def _compiled_form(expanded: str) -> tuple[Entry, re.Pattern]:
    """What ``re.compile`` does, keeping the engine code it makes; once per process, like ``_compile``."""
    parsed = _parser.parse(expanded, FLAGS)
    code = [int(op) for op in _compiler._code(parsed, FLAGS)]
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in parsed.state.groupdict.items():
        indexgroup[index] = name
    entry = (int(FLAGS | parsed.state.flags), code, parsed.state.groups - 1,
             dict(parsed.state.groupdict), tuple(indexgroup))
    return entry, _sre.compile(expanded, *entry)


@functools.lru_cache(maxsize=None)
def _compile(expanded: str) -> re.Pattern:
    """Compile once per process without a cache dir: a rule set loaded again (after an edit, in the tests,
    by each worker's reload) only compiles the patterns that changed."""
    return re.compile(expanded, FLAGS)
