"""Content-Encoding decoding with a bound on every layer (decompression bombs)."""

from __future__ import annotations

import gzip
import zlib

import pytest

from service.edges.decompress import (
    MAX_LAYERS,
    BoundedDecoder,
    CorruptEncoding,
    EncodingRefused,
    OverLimit,
    codings,
)
from tests.fetch_server import gzip_bomb


def decode(body: bytes, header: str, limit: int, chunk: int = 4096) -> bytes:
    decoder = BoundedDecoder(header, limit)
    return b"".join(piece for start in range(0, len(body), chunk)
                    for piece in decoder.feed(body[start:start + chunk]))


PAGE = b"<html><body>" + b"<p>A paragraph of the article.</p>" * 200 + b"</body></html>"


@pytest.mark.parametrize("header, encode", [
    ("", lambda data: data),
    ("identity", lambda data: data),
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some send
    ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ("deflate, GZIP", lambda data: gzip.compress(zlib.compress(data))),
    ("gzip", lambda data: gzip.compress(data[:100]) + gzip.compress(data[100:])),  # two members
])
def test_each_supported_coding_round_trips_in_small_chunks(header: str, encode: object) -> None:
    assert callable(encode)
    assert decode(encode(PAGE), header, limit=len(PAGE), chunk=1) == PAGE
    assert decode(encode(PAGE), header, limit=len(PAGE), chunk=1 << 20) == PAGE


def test_a_body_one_byte_over_the_limit_is_refused() -> None:
    with pytest.raises(OverLimit):
        decode(gzip.compress(PAGE), "gzip", limit=len(PAGE) - 1)
    with pytest.raises(OverLimit):
        decode(PAGE, "", limit=len(PAGE) - 1)


def test_a_stacked_bomb_stops_at_the_limit_of_its_first_layer() -> None:
    """A 16 MiB gzip bomb, gzipped again: the inner layer stops once it passes the limit, long
    before it inflates the whole of it (a piece at a time, so memory stays near the limit)."""
    bomb = gzip.compress(gzip_bomb(16 << 20))
    assert len(bomb) < 2000
    decoder = BoundedDecoder("gzip, gzip", 1_000_000)
    produced = 0
    with pytest.raises(OverLimit, match="1000000"):
        for piece in decoder.feed(bomb):
            assert len(piece) <= 65536
            produced += len(piece)
    assert produced <= 1_000_000


@pytest.mark.parametrize("header", ["br", "zstd", "compress", "gzip, bogus", "gzip;q=1"])
def test_unknown_codings_are_refused_before_decoding(header: str) -> None:
    with pytest.raises(EncodingRefused, match="unsupported"):
        BoundedDecoder(header, 1000)


def test_more_stacked_layers_than_allowed_are_refused() -> None:
    assert codings(", ".join(["gzip"] * MAX_LAYERS)) == ["gzip"] * MAX_LAYERS
    with pytest.raises(OverLimit, match="stacked"):
        codings(", ".join(["gzip"] * (MAX_LAYERS + 1)))
    assert codings("identity, gzip, identity") == ["gzip"]


def test_bytes_that_are_not_gzip_are_corrupt() -> None:
    with pytest.raises(CorruptEncoding, match="gzip"):
        decode(b"plain text, not gzip at all", "gzip", limit=1000)
