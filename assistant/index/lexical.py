"""Lexical retrieval: BM25 (rank-bm25) over a light, deterministic tokenisation."""

from __future__ import annotations

import re

from rank_bm25 import BM25Okapi

TOKEN = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be been but by can do does did for from had has have how i if in into is it its "
    "of on or our so that the their them then there these they this to was we were what when where which "
    "who whom why will with would you your us my me should could".split()
)


TYPOGRAPHY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "‐": "-", "‑": "-", "–": "-", "—": "-",
                            "\u00a0": " "})


def normalise(text: str) -> str:
    """Fold typographic variants (curly quotes, non-breaking hyphens and spaces) to plain ASCII."""
    return text.translate(TYPOGRAPHY)


def stem(word: str) -> str:
    """A tiny suffix stripper: enough to match 'volunteers'/'volunteer', 'producing'/'produce'."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ers", "er"), ("ed", ""), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: len(word) - len(suffix)] + keep
            break
    # A final silent 'e' goes too, so 'produce', 'produced' and 'producing' meet at 'produc'.
    return word[:-1] if word.endswith("e") and len(word) >= 5 else word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed tokens; 'co-production' yields 'co' + 'production' + 'coproduction'."""
    text = normalise(text).lower()
    tokens = []
    for word in TOKEN.findall(text.replace("co-", "co")):
        if word not in STOPWORDS:
            tokens.append(stem(word))
    return tokens


class LexicalIndex:
    """BM25 over a fixed list of (id, text) pairs."""

    def __init__(self, ids: list[str], texts: list[str]):
        self.ids = ids
        self._bm25 = BM25Okapi([tokenize(t) or ["_"] for t in texts]) if texts else None

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The best ``k`` (id, score) pairs with a positive score, best first, ties by id."""
        if self._bm25 is None:
            return []
        terms = tokenize(query)
        if not terms:
            return []
        scores = self._bm25.get_scores(terms)
        ranked = sorted(((float(s), i) for i, s in zip(self.ids, scores) if s > 0), key=lambda p: (-p[0], p[1]))
        return [(i, s) for s, i in ranked[:k]]
