"""Content-Encoding decoding that bounds every layer's output as the bytes stream in.

httpx decodes a response's whole stack of codings chunk by chunk with no bound between layers, so
264 bytes sent as ``gzip, gzip, gzip`` grew to gigabytes before the body's size was checked. Here
each layer inflates at most ``_PIECE`` bytes at a time and counts what it produced against the
limit, so memory stays near the limit whatever the stack, and the work near layers x limit.
Unknown codings are refused before a byte is inflated, and so are stacks deeper than any server
sends (as too large: only a bomb needs them).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

# What we send as Accept-Encoding: the codings decoded here (brotli is an optional package).
ACCEPTED = "gzip, deflate"
MAX_LAYERS = 4  # servers apply one coding, a proxy may add one; deeper stacks are bombs
_PIECE = 65536
_GZIP = frozenset({"gzip", "x-gzip"})


class EncodingRefused(ValueError):
    """A coding we do not decode."""


class CorruptEncoding(ValueError):
    """The bytes are not valid for their declared coding."""


class OverLimit(ValueError):
    """A layer produced more than the limit, or the stack is deeper than ``MAX_LAYERS``."""


def codings(header: str) -> list[str]:
    """The codings of a Content-Encoding header in the order they were applied (identity left
    out), refused when unknown or stacked deeper than ``MAX_LAYERS``."""
    applied = [name.strip().lower() for name in header.split(",")]
    applied = [name for name in applied if name and name != "identity"]
    for name in applied:
        if name not in _GZIP and name != "deflate":
            raise EncodingRefused(f"unsupported Content-Encoding {name[:40]!r}")
    if len(applied) > MAX_LAYERS:
        raise OverLimit(f"{len(applied)} stacked Content-Encodings (at most {MAX_LAYERS}): "
                        "a likely decompression bomb")
    return applied


class _Inflate:
    """One gzip or deflate layer, inflating ``_PIECE`` bytes at a time."""

    def __init__(self, coding: str, limit: int) -> None:
        self._coding = coding
        self._limit = limit
        self._produced = 0
        self._head = b""  # deflate: the first bytes, until they say zlib-wrapped or raw
        self._inflater: zlib._Decompress | None = (
            zlib.decompressobj(16 + zlib.MAX_WBITS) if coding in _GZIP else None)

    def feed(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for data in pieces:
            yield from self._inflate(data)

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            # RFC 9110's deflate is zlib-wrapped; some servers send raw deflate (as httpx allows).
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        inflater = self._inflater
        while True:
            try:
                out = inflater.decompress(data, _PIECE)
            except zlib.error as exc:
                raise CorruptEncoding(f"invalid {self._coding} data: {exc}") from exc
            data = inflater.unconsumed_tail
            if out:
                self._produced += len(out)
                if self._produced > self._limit:
                    raise OverLimit(f"body decoded from {self._coding} exceeds {self._limit} "
                                    f"bytes")
                yield out
            if inflater.eof:
                data = inflater.unused_data
                if not data or self._coding not in _GZIP:
                    return
                inflater = self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # member
            elif not data and len(out) < _PIECE:
                return


class BoundedDecoder:
    """Decodes a body stream for its Content-Encoding; each layer's output and the body are
    bounded by ``limit`` bytes (``OverLimit``)."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._layers = [_Inflate(coding, limit) for coding in reversed(codings(content_encoding))]

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """The decoded pieces of one raw chunk, as they are inflated."""
        pieces: Iterable[bytes] = (chunk,)
        for layer in self._layers:
            pieces = layer.feed(pieces)
        for piece in pieces:
            self._size += len(piece)
            if self._size > self._limit:
                raise OverLimit(f"body exceeds {self._limit} bytes")
            yield piece
