"""Compiled detector patterns kept on disk between processes.

The facts file's patterns, once their vocabularies are expanded, are about 1.8 MB of regular expressions;
``re.compile`` parses them in pure Python, which takes 2-3 s at every start of a process. ``PatternCache``
stores what the parser produces (the regex engine's code, about 3.5 MB compressed) in the data dir's cache
and hands it straight to the engine the next time, which takes about 0.2 s.

With the code it keeps, for each pattern, up to two strings that every match must contain (read off the
parsed pattern: literals in sequence, not in a branch, an optional part or a lookaround). The matcher skips a
pattern at once on an ASCII text that lacks one of them; about 580 of the 840 detector patterns have such
strings, and extraction takes about a third less time.

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
from array import array
from pathlib import Path

try:  # CPython's regex engine and its parser: the cache is used only where they are as expected
    import _sre
    from re import _compiler, _constants, _parser
except ImportError:  # pragma: no cover - another Python implementation
    _sre = None
CODE_TYPE = next((t for t in "IL" if _sre is not None and array(t).itemsize == _sre.CODESIZE), None)
ENGINE_USABLE = CODE_TYPE is not None and hasattr(_compiler, "_code")  # else plain re.compile, nothing cached

FLAGS = re.IGNORECASE.value  # a plain int: the parser tests flags at every node, and enum arithmetic is slow
Entry = tuple  # (flags, code, groups, groupindex, indexgroup): the arguments of ``_sre.compile`` after the pattern,
# with the code packed as bytes (millions of small ints kept as lists would slow every garbage collection)
MIN_LITERAL = 3  # shorter required strings filter too little to be worth a check


def engine_key() -> str:
    """Names the interpreter and regex engine whose compiled code a cache file holds."""
    marker = f"{sys.version}|{getattr(_sre, 'MAGIC', None)}|{getattr(_sre, 'CODESIZE', None)}"
    return hashlib.sha256(marker.encode("utf-8")).hexdigest()[:16]


class PatternCache:
    """Compile case-insensitive patterns, reusing the compiled code stored under ``directory``.

    ``directory=None`` compiles once per process and keeps nothing on disk. ``needs`` gives, for each compiled
    pattern, strings that every match contains, so a matcher can skip a text that lacks them.
    Call ``save`` after a successful load: it keeps exactly the patterns compiled since, so patterns that
    left the rule set do not pile up.
    """

    def __init__(self, directory: Path | None):
        usable = directory is not None and ENGINE_USABLE
        self.path = Path(directory) / f"patterns-{engine_key()}.marshal.z" if usable else None
        self._stored: dict[str, tuple[Entry, tuple[str, ...]]] = self._read()
        self._used: dict[str, tuple[Entry, tuple[str, ...]]] = {}
        self._needs: dict[str, tuple[str, ...]] = {}
        self.compiled_fresh = 0  # patterns that were not in the cache (their code is new)

    def _read(self) -> dict[str, tuple[Entry, tuple[str, ...]]]:
        if self.path is None:
            return {}
        try:
            data = marshal.loads(zlib.decompress(self.path.read_bytes()))
        except (OSError, EOFError, ValueError, TypeError, zlib.error):
            return {}
        return data if isinstance(data, dict) else {}

    def compile(self, expanded: str) -> re.Pattern:
        """The compiled pattern; raises ``re.error`` for an invalid one, as ``re.compile`` does."""
        stored = self._stored.get(expanded) if self.path is not None else None
        if stored is not None:
            try:
                entry, needs = stored
                pattern = _engine_compile(expanded, entry)
                self._used[expanded] = (entry, tuple(str(n) for n in needs))
                self._needs[expanded] = self._used[expanded][1]
                return pattern
            except (TypeError, ValueError, RuntimeError, OverflowError):
                pass  # refused by the engine: compile it afresh below
        if not ENGINE_USABLE:  # pragma: no cover - another Python implementation
            return re.compile(expanded, FLAGS)
        entry, pattern, needs = _compiled_form(expanded)
        self._needs[expanded] = needs
        if self.path is not None:
            self._used[expanded] = (entry, needs)
            self.compiled_fresh += 1
        return pattern

    def needs(self, pattern: re.Pattern) -> tuple[str, ...]:
        """Lower-case ASCII strings that every match of ``pattern`` contains (a cheap pre-check); may be empty."""
        return self._needs.get(pattern.pattern, ())

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
def _compiled_form(expanded: str) -> tuple[Entry, re.Pattern, tuple[str, ...]]:
    """What ``re.compile`` does, keeping the engine code it makes and the strings every match contains; once
    per process, so a rule set loaded again (after an edit, in the tests) only compiles what changed."""
    parsed = _parser.parse(expanded, FLAGS)
    code = array(CODE_TYPE, _compiler._code(parsed, FLAGS)).tobytes()
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in parsed.state.groupdict.items():
        indexgroup[index] = name
    entry = (int(FLAGS | parsed.state.flags), code, parsed.state.groups - 1,
             dict(parsed.state.groupdict), tuple(indexgroup))
    runs = {run for run in _required_runs(parsed) if len(run) >= MIN_LITERAL}
    needs = tuple(sorted(runs, key=lambda run: (-len(run), run))[:2])  # the two longest, in a fixed order
    return entry, _engine_compile(expanded, entry), needs


def _engine_compile(expanded: str, entry: Entry) -> re.Pattern:
    flags, code, groups, groupindex, indexgroup = entry
    return _sre.compile(expanded, flags, array(CODE_TYPE, code).tolist(), groups, groupindex, indexgroup)


def _required_runs(items) -> list[str]:
    """Runs of literal ASCII characters that any match must contain, from a parsed pattern (lower case).

    Only what is certainly consumed counts: literals in sequence, groups, and repeats of at least one; a
    branch, a class, an optional part or a lookaround ends the current run and adds nothing.
    """
    runs: list[str] = []
    current: list[str] = []

    def end_run() -> None:
        if current:
            runs.append("".join(current))
            current.clear()

    for op, arg in items:
        if op is _constants.LITERAL and chr(arg).isascii():
            current.append(chr(arg).lower())
        elif op is _constants.AT:
            continue  # zero width: \b, ^, $ keep the literals around them adjacent
        else:
            end_run()
            if op is _constants.SUBPATTERN:
                runs += _required_runs(arg[-1])
            elif op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT) and arg[0] >= 1:
                runs += _required_runs(arg[2])
    end_run()
    return runs
