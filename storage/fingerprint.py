"""SimHash fingerprints for spotting reposts, cross-posts and copied reviews."""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata

import numpy as np

BITS = 64
BANDS = 4
BAND_BITS = BITS // BANDS
# Texts this close (in differing bits) are copies; four bands guarantee that any pair
# within the distance shares one band exactly.
MAX_DISTANCE = 3
# Short texts ("love it!", "doesn't work") collide by nature, not by copying.
MIN_TOKENS = 8

_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|#")
_WORD = re.compile(r"\w+", re.UNICODE)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def tokens(text: str) -> list[str]:
    """Lower-case words without accents, links or @handles."""
    folded = unicodedata.normalize("NFKD", _NOISE.sub(" ", text).casefold())
    # Only runs of non-ASCII characters can hold combining marks: most text is ASCII.
    return _WORD.findall(_NON_ASCII.sub(_without_combining, folded))


def _without_combining(match: re.Match[str]) -> str:
    return "".join(c for c in match.group() if not unicodedata.combining(c))


def simhash(text: str) -> int | None:
    """64-bit SimHash over word unigrams and bigrams; None for texts too short to judge."""
    words = tokens(text)
    if len(words) < MIN_TOKENS:
        return None
    features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    digests = b"".join([hashlib.blake2b(f.encode(), digest_size=8).digest() for f in features])
    # One row of 64 bits per feature (bit 0 = least significant); a bit is set in the
    # fingerprint when more features have it set than not.
    bits = np.unpackbits(
        np.frombuffer(digests, dtype=">u8").astype("<u8").view(np.uint8).reshape(-1, 8),
        axis=1,
        bitorder="little",
    )
    majority = bits.sum(axis=0, dtype=np.int64) * 2 > len(features)
    return int(np.packbits(majority, bitorder="little").view("<u8")[0])


def to_signed(value: int) -> int:
    """The unsigned 64-bit value as a signed one, to fit a SQL bigint."""
    return value - (1 << BITS) if value >= 1 << (BITS - 1) else value


def to_unsigned(value: int) -> int:
    """Back from the signed form."""
    return value + (1 << BITS) if value < 0 else value


def bands(value: int) -> tuple[int, ...]:
    """The four 16-bit bands of an unsigned fingerprint."""
    mask = (1 << BAND_BITS) - 1
    return tuple(value >> (i * BAND_BITS) & mask for i in range(BANDS))


def distance(a: int, b: int) -> int:
    """How many bits differ."""
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()
