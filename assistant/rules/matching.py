"""Fast matching of the facts file's lexical patterns.

The vocabularies (``{citizen}``, ``{staff}``...) hold hundreds of terms and appear in most patterns, so a
plain scan tries every term at every word of a question. Three measures keep extraction within its budget
without changing which facts are read:

- a vocabulary's alternation groups the terms that start with a literal letter behind a one-letter
  lookahead, so a whole group is rejected at once;
- a pattern that *starts* with a vocabulary (``\\b{citizen}\\s+...``, lookbehinds allowed before it) is only
  tried where that vocabulary can start, positions found once per text by a zero-width scan;
- a pattern that is a whole vocabulary (``{own_effort}``), or that opens with a choice between a vocabulary and
  plain words (``\\b(?:{citizen}|they)...``), is split into parts so that each part can use the measure above.
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


WHOLE_VOCABULARY = re.compile(r"^\{([a-z_]+)\}$")
LEADING_CHOICE = re.compile(r"^\\b\(\?:((?:[^()|]+\|)+[^()|]+)\)(.*)$", re.DOTALL)


def split_vocabulary_patterns(patterns: list[str], vocabularies: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Each pattern as (regex source, source its lead is read from), split where that gives a fast start.

    - a pattern that is only ``{name}`` becomes one pattern per term of that vocabulary;
    - a pattern opening with a choice between a vocabulary and plain words (``\\b(?:{citizen}|they)...``)
      becomes one pattern starting with the vocabulary and one with the plain words.

    A detector takes its first match and sets one value, so trying the parts one by one sets the same value as
    the whole pattern would; only the quoted span may come from another part.
    """
    items: list[tuple[str, bool]] = []  # (source, is a vocabulary term: it ends on a word boundary)
    for pattern in patterns:
        whole = WHOLE_VOCABULARY.match(pattern)
        if whole and whole.group(1) in vocabularies:
            items += [(term, True) for term in vocabularies[whole.group(1)]]
        else:
            items.append((pattern, False))
    split: list[tuple[str, str]] = []
    for source, is_term in items:
        for part in _split_leading_choice(source):
            split.append((f"(?:{part})\\b" if is_term else part, part))
    return split


def _split_leading_choice(pattern: str) -> list[str]:
    choice = LEADING_CHOICE.match(pattern)
    if not choice or choice.group(2)[:1] in ("?", "*", "+", "{"):
        return [pattern]
    options = choice.group(1).split("|")
    leads = [o for o in options if WHOLE_VOCABULARY.match(o)]
    if len(leads) != 1:
        return [pattern]
    rest = "|".join(o for o in options if o != leads[0])
    return [f"\\b{leads[0]}{choice.group(2)}", f"\\b(?:{rest}){choice.group(2)}"]


def leading_vocabulary(pattern: str) -> str | None:
    """The vocabulary a (not yet expanded) pattern starts with, if it starts with one."""
    match = LEADING_VOCABULARY.match(pattern)
    return match.group(1) if match else None


@dataclass(frozen=True)
class LexicalPattern:
    """A compiled pattern, the vocabulary it starts with (None: scan the whole text) and strings every match
    contains (lower case; a text without one of them cannot match)."""

    regex: re.Pattern
    lead: str | None = None
    needs: tuple[str, ...] = ()


class TextMatcher:
    """Matches patterns against one text, finding each vocabulary's start positions once."""

    def __init__(self, text: str, scanners: dict[str, re.Pattern]):
        self.text, self.scanners = text, scanners
        self._starts: dict[str, list[int]] = {}
        # lower() folds ASCII exactly as the patterns' IGNORECASE does; other scripts are left to the regex
        self._folded = text.lower() if text.isascii() else None

    def starts(self, vocabulary: str) -> list[int]:
        if vocabulary not in self._starts:
            self._starts[vocabulary] = [m.start() for m in self.scanners[vocabulary].finditer(self.text)]
        return self._starts[vocabulary]

    def finditer(self, pattern: LexicalPattern) -> Iterator[re.Match]:
        """The same matches as ``pattern.regex.finditer(text)``, in the same order."""
        if self._folded is not None and any(need not in self._folded for need in pattern.needs):
            return
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
