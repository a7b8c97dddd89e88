"""Fingerprints: stable hashes that ignore layout and typography but not content."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from service.stages.fingerprint import (
    content_hash,
    fingerprint,
    simhash,
    text_word_hashes,
    word_hashes,
    words,
)

BODY = ("Rescue teams searched the rubble on Tuesday after a magnitude 6.1 earthquake struck the "
        "coastal town, officials said. At least 40 people were injured and hundreds of homes "
        "were damaged, according to the regional governor, who asked for national help.")


def _hamming(left: str, right: str) -> int:
    return bin(int(left, 16) ^ int(right, 16)).count("1")


def test_shapes_are_32_and_16_hex_characters() -> None:
    fp = fingerprint(BODY)
    assert len(fp.content) == 32 and int(fp.content, 16) >= 0
    assert len(fp.simhash) == 16 and int(fp.simhash, 16) >= 0


def test_content_hash_ignores_whitespace_layout_but_not_words() -> None:
    rewrapped = BODY.replace(". ", ".\n\n").replace(" ", "  ")
    assert content_hash(rewrapped) == content_hash(BODY)
    assert content_hash(BODY.replace("40", "41")) != content_hash(BODY)


def test_simhash_is_close_for_a_light_edit_and_far_for_another_text() -> None:
    edited = BODY.replace("Tuesday", "Wednesday").replace("'", "\u2019")
    other = ("The central bank raised its benchmark rate by half a point to curb inflation, "
             "surprising markets that had expected a smaller move; shares fell in early trade.")
    near = _hamming(fingerprint(BODY).simhash, fingerprint(edited).simhash)
    far = _hamming(fingerprint(BODY).simhash, fingerprint(other).simhash)
    assert near <= 12 < far


def test_hashes_do_not_depend_on_the_process_hash_seed() -> None:
    code = ("from service.stages.fingerprint import fingerprint as f; import sys; "
            "print(f(sys.argv[1]))")
    outputs = {subprocess.run([sys.executable, "-c", code, BODY], check=True, text=True,
                              capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed}
                              ).stdout for seed in ("1", "2")}
    assert len(outputs) == 1 and str(fingerprint(BODY)) in outputs.pop()


def test_empty_text_has_a_fingerprint() -> None:
    fp = fingerprint("")
    assert fp.simhash == "0" * 16 and len(fp.content) == 32


@pytest.mark.parametrize("text", [
    BODY, "", "   ", "a", "\u201cQuoted\u201d \u2014 it\u2019s 6.1%, snake_case",
    "Stra\u00dfe \u0130stanbul d\u00e9j\u00e0-vu \u6771\u4eac \u03a3\u0391\u03a3 \u00a92024 \u2122",
    "emoji\U0001f600between \U0001d49cbc\U0001d49c \U0001f600",
])
def test_word_hashes_of_a_text_are_those_of_its_words(text: str) -> None:
    """The array pass over a whole text (ASCII, other scripts, astral code points) splits and
    hashes exactly as the word list does, one hash per word."""
    expected = word_hashes(words(text))
    assert len(expected) == len(words(text))
    assert np.array_equal(text_word_hashes(text), expected)


def test_distinct_words_get_distinct_hashes() -> None:
    vocabulary = sorted({w for n in range(2000) for w in (f"w{n}", f"{n}", f"x{n:x}y")})
    hashes = word_hashes(vocabulary)
    assert len(set(hashes.tolist())) == len(vocabulary)
    assert word_hashes(["ab", "ba"])[0] != word_hashes(["ab", "ba"])[1]


def test_word_hashes_stay_right_when_the_memo_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    import service.stages.fingerprint as module

    tokens = words(BODY)
    expected = text_word_hashes(BODY)
    monkeypatch.setattr(module, "_CACHE_LIMIT", 8)
    module._cache.clear()
    for _ in range(3):  # hits and misses in one call, the memo cleared on the way
        assert np.array_equal(word_hashes(tokens[:5]), expected[:5])
        assert np.array_equal(word_hashes(tokens), expected)


def test_simhash_bits_are_the_majority_of_each_bit() -> None:
    rng = np.random.default_rng(9)
    # counted 255 hashes a block: counts at, around and past the block (and a bit that every
    # hash sets, which fills a block's count) must still add up
    random = [rng.integers(0, 2**64, size=count, dtype=np.uint64)
              for count in (1, 2, 3, 64, 254, 255, 256, 510, 511, 701)]
    every_bit = [np.full(count, 2**64 - 1, dtype=np.uint64) for count in (255, 256, 600)]
    alternating = [np.array([2**64 - 1, 0] * 300 + [2**64 - 1], dtype=np.uint64)]
    for shingles in random + every_bit + alternating:
        count = len(shingles)
        expected = 0
        for bit in range(64):
            ones = sum(int(value) >> bit & 1 for value in shingles)
            expected |= (2 * ones > count) << bit
        assert simhash(shingles) == expected
