"""Bounded Content-Encoding decoding: a small compressed chunk can expand a thousandfold, so
output comes out in pieces of at most ``PIECE`` bytes and the caller stops at its cap. httpx
decodes each network chunk whole, which would let a gzip or brotli bomb allocate far past
``max_bytes`` before any check could run."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import brotli  # type: ignore[import-untyped]

PIECE = 64 * 1024


class UnsupportedEncoding(ValueError):
    pass


class DecodeError(ValueError):
    pass


class _Zlib:
    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._obj = zlib.decompressobj(wbits)
        self._produced = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            while data and not self._obj.eof:
                out = self._obj.decompress(data, PIECE)
                data = self._obj.unconsumed_tail
                if out:
                    self._produced = True
                    yield out
        except zlib.error as e:
            if self._wbits == zlib.MAX_WBITS and not self._produced:
                # "deflate" is often raw deflate without the zlib header: retry as raw.
                self._wbits, self._obj = -zlib.MAX_WBITS, zlib.decompressobj(-zlib.MAX_WBITS)
                yield from self.feed(data)
                return
            raise DecodeError(str(e)) from None

    def flush(self) -> Iterator[bytes]:
        if out := self._obj.flush():
            yield out


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._obj.process(data, output_buffer_limit=PIECE)
            # Pending output comes out with empty input until a call yields nothing.
            while out:
                yield out
                if self._obj.is_finished():
                    return
                out = self._obj.process(b"", output_buffer_limit=PIECE)
        except brotli.error as e:
            raise DecodeError(str(e)) from None

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        for i in range(0, len(data), PIECE):
            yield data[i : i + PIECE]

    def flush(self) -> Iterator[bytes]:
        return iter(())


_Decoder = _Zlib | _Brotli | _Identity


def _decoder(coding: str) -> _Decoder:
    if coding in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return _Zlib(zlib.MAX_WBITS)
    if coding == "br":
        return _Brotli()
    if coding in ("identity", ""):
        return _Identity()
    raise UnsupportedEncoding(coding)


class BoundedDecoder:
    """Decodes a (possibly multiply) content-encoded stream in bounded pieces."""

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        # Encodings are listed in the order applied; decode in reverse.
        self._chain = [_decoder(c) for c in reversed(codings)] or [_Identity()]

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield from self._through(0, data)

    def flush(self) -> Iterator[bytes]:
        for i, decoder in enumerate(self._chain):
            for piece in decoder.flush():
                yield from self._through(i + 1, piece)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._chain):
            yield data
            return
        for piece in self._chain[index].feed(data):
            yield from self._through(index + 1, piece)
