"""The compiled-pattern cache: what it hands back behaves exactly like ``re.compile``, and a damaged or foreign
cache file only costs a fresh compile."""

import re
from array import array

import pytest

from assistant.config import Settings
from assistant.rules import FactExtractor, load_ruleset
from assistant.rules.pattern_cache import PatternCache, engine_key

PATTERNS = [r"\bresidents?\s+(?:will\s+)?sort\w*", r"(?P<who>volunteers?) (?:drive|run)\b", r"(?<!no )\bfee\b",
            r"\b(?:it's|it is) the (?:[\w-]+ )?owners? who keep\b"]
TEXTS = ["Residents will sort their recycling.", "RESIDENTS SORTING", "volunteers drive patients", "no fee, a fee",
         "it's the cafe owners who keep the food safe", "nothing here"]


def _behaviour(pattern: re.Pattern) -> tuple:
    found = [(m.span(), m.groupdict()) for text in TEXTS for m in pattern.finditer(text)]
    return pattern.pattern, pattern.flags, pattern.groups, dict(pattern.groupindex), found


def test_patterns_from_the_cache_behave_like_re_compile(tmp_path):
    expected = [_behaviour(re.compile(p, re.IGNORECASE)) for p in PATTERNS]
    cold = PatternCache(tmp_path)
    assert [_behaviour(cold.compile(p)) for p in PATTERNS] == expected
    assert cold.compiled_fresh == len(PATTERNS)
    cold.save()
    assert (tmp_path / f"patterns-{engine_key()}.marshal.z").is_file()

    warm = PatternCache(tmp_path)
    assert [_behaviour(warm.compile(p)) for p in PATTERNS] == expected
    assert warm.compiled_fresh == 0


def test_a_damaged_cache_file_is_compiled_afresh_and_rewritten(tmp_path):
    cache = PatternCache(tmp_path)
    cache.path.write_bytes(b"\x00not a cache at all")
    cache = PatternCache(tmp_path)
    assert _behaviour(cache.compile(PATTERNS[0])) == _behaviour(re.compile(PATTERNS[0], re.IGNORECASE))
    assert cache.compiled_fresh == 1
    cache.save()
    assert PatternCache(tmp_path).compile(PATTERNS[0]).search("residents sort") is not None


def test_stored_code_the_engine_refuses_falls_back_to_a_fresh_compile(tmp_path):
    import marshal
    import zlib

    cache = PatternCache(tmp_path)
    refused = {PATTERNS[1]: ((int(re.IGNORECASE), array("I", [999, 1, 2]).tobytes(), 1, {}, (None, None)), ())}
    cache.path.write_bytes(zlib.compress(marshal.dumps(refused)))
    cache = PatternCache(tmp_path)
    assert _behaviour(cache.compile(PATTERNS[1])) == _behaviour(re.compile(PATTERNS[1], re.IGNORECASE))
    assert cache.compiled_fresh == 1


def test_only_the_patterns_still_in_use_are_kept(tmp_path):
    first = PatternCache(tmp_path)
    for p in PATTERNS:
        first.compile(p)
    first.save()
    second = PatternCache(tmp_path)
    second.compile(PATTERNS[0])
    second.save()
    third = PatternCache(tmp_path)
    third.compile(PATTERNS[0])
    third.compile(PATTERNS[1])
    assert third.compiled_fresh == 1  # PATTERNS[1] left the file when the second load did not use it


@pytest.mark.parametrize("pattern, needs", [
    (r"\benforc\w*", ("enforc",)),
    (r"(?<!nobody )\bunless (?:the )?{x}", ("residents", "unless ")),
    (r"(?:ab|cd)xyz(?:optional)?", ("xyz",)),
    (r"\bvolunteers? (?:drive|run) (?:patients )+home", ("patients ", "volunteer")),
    (r"No[- ]one", ("one",)),
    (r"[ab]+|cd", ()),
])
def test_the_strings_every_match_contains(tmp_path, pattern, needs):
    pattern = pattern.replace("{x}", "residents")
    for cache in (PatternCache(tmp_path), PatternCache(None)):
        assert cache.needs(cache.compile(pattern)) == needs
    cache = PatternCache(tmp_path)
    cache.compile(pattern)
    cache.save()
    warm = PatternCache(tmp_path)
    assert warm.needs(warm.compile(pattern)) == needs  # kept in the cache file with the code


def test_an_invalid_pattern_still_raises_re_error(tmp_path):
    with pytest.raises(re.error):
        PatternCache(tmp_path).compile(r"(unclosed")
    with pytest.raises(re.error):
        PatternCache(None).compile(r"(unclosed")


def test_an_unwritable_cache_dir_only_means_no_cache(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache dir would be")
    cache = PatternCache(blocked / "cache")
    cache.compile(PATTERNS[0])
    cache.save()  # must not raise
    assert not (blocked / "cache").exists()


def test_the_rule_set_reads_the_same_with_and_without_the_cache(tmp_path):
    settings = Settings()
    plain = load_ruleset(settings.rules_dir, settings.sources_dir)
    load_ruleset(settings.rules_dir, settings.sources_dir, tmp_path)  # fills the cache
    cached = load_ruleset(settings.rules_dir, settings.sources_dir, tmp_path)
    assert {k: [p.regex.pattern for p in v] for k, v in cached.patterns.items()} == \
           {k: [p.regex.pattern for p in v] for k, v in plain.patterns.items()}
    text = ("Every food business has to be registered; our officers inspect once a year, and the rest of the time "
            "it's the cafe owners who keep the food safe. Is this co-production?")
    read = {f: (r.value, r.span) for f, r in FactExtractor(cached).extract(text).facts.items()}
    assert read == {f: (r.value, r.span) for f, r in FactExtractor(plain).extract(text).facts.items()}
    assert read["who_does_work"][0] == "citizens"
