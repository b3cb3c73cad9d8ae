"""Fast matching of the facts file's lexical patterns.

The vocabularies (``{citizen}``, ``{staff}``...) hold hundreds of terms and appear in most patterns, so a
plain scan tries every term at every word of a question. Two measures keep extraction within its budget
without changing what matches:

- a vocabulary's alternation groups the terms that start with a literal letter behind a one-letter
  lookahead, so a whole group is rejected at once;
- a pattern that *starts* with a vocabulary (``\\b{citizen}\\s+...``, lookbehinds allowed before it) is only
  tried where that vocabulary can start, positions found once per text by a zero-width scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

LEADING_VOCABULARY = re.compile(r"^(?:\(\?<![^()]*\))*\\b\{([a-z_]+)\}")


def vocabulary_alternation(terms: list[str]) -> str:
    """One regex alternation for a vocabulary, each term ending on a word boundary.

    Terms keep their order within a first-letter group; terms starting with anything else (a group, a
    lookaround) are tried as they are, after the groups.
    """
    groups: dict[str, list[str]] = {}
    others: list[str] = []
    for term in terms:
        first, rest = term[:1].lower(), term[1:2]
        if first.isalpha() and first.isascii() and rest not in ("?", "*", "{", "+"):
            groups.setdefault(first, []).append(term)
        else:
            others.append(term)
    branches = [f"(?={letter})(?:" + "|".join(f"(?:{t})\\b" for t in group) + ")" for letter, group in groups.items()]
    branches += [f"(?:{t})\\b" for t in others]
    return "(?:" + "|".join(branches) + ")"


def leading_vocabulary(pattern: str) -> str | None:
    """The vocabulary a (not yet expanded) pattern starts with, if it starts with one."""
    match = LEADING_VOCABULARY.match(pattern)
    return match.group(1) if match else None


@dataclass(frozen=True)
class LexicalPattern:
    """A compiled pattern and the vocabulary it starts with (None: scan the whole text)."""

    regex: re.Pattern
    lead: str | None = None


class TextMatcher:
    """Matches patterns against one text, finding each vocabulary's start positions once."""

    def __init__(self, text: str, scanners: dict[str, re.Pattern]):
        self.text, self.scanners = text, scanners
        self._starts: dict[str, list[int]] = {}

    def starts(self, vocabulary: str) -> list[int]:
        if vocabulary not in self._starts:
            self._starts[vocabulary] = [m.start() for m in self.scanners[vocabulary].finditer(self.text)]
        return self._starts[vocabulary]

    def finditer(self, pattern: LexicalPattern) -> Iterator[re.Match]:
        """The same matches as ``pattern.regex.finditer(text)``, in the same order."""
        if pattern.lead is None:
            yield from pattern.regex.finditer(self.text)
            return
        end = 0
        for pos in self.starts(pattern.lead):
            if pos < end:
                continue
            match = pattern.regex.match(self.text, pos)
            if match:
                end = max(match.end(), pos + 1)
                yield match


def vocabulary_scanners(vocabulary: dict[str, str]) -> dict[str, re.Pattern]:
    """Zero-width scanners that find every position where a vocabulary term can start."""
    return {name: re.compile(r"\b(?=" + alternation + ")", re.IGNORECASE) for name, alternation in vocabulary.items()}
