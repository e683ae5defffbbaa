"""Bounded Content-Encoding decoding: output in bounded pieces, so a bomb is cut off early."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from aggregator.edges.fetch.decode import PIECE, BoundedDecoder, DecodeError, UnsupportedEncoding

DATA = b"<rss>" + b"\xe4\xb8\xad" * 400_000 + b"</rss>"
ENCODED = {
    "gzip": gzip.compress(DATA),
    "x-gzip": gzip.compress(DATA),
    "deflate": zlib.compress(DATA),
    "deflate-raw": zlib.compress(DATA)[2:-4],
    "br": brotli.compress(DATA),
    "identity": DATA,
    "gzip, br": brotli.compress(gzip.compress(DATA)),
}


def decode(encoding: str | None, body: bytes, chunk: int = 1000) -> list[bytes]:
    decoder = BoundedDecoder(encoding)
    pieces = []
    for i in range(0, len(body), chunk):
        pieces += list(decoder.feed(body[i : i + chunk]))
    return pieces + list(decoder.flush())


@pytest.mark.parametrize("name", list(ENCODED))
def test_every_supported_encoding_round_trips(name: str) -> None:
    encoding = "deflate" if name == "deflate-raw" else name
    assert b"".join(decode(encoding, ENCODED[name])) == DATA


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_a_bomb_comes_out_in_bounded_pieces(encoding: str) -> None:
    bomb = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}[encoding](
        b"\0" * 50_000_000
    )
    decoder = BoundedDecoder(encoding)
    first = next(iter(decoder.feed(bomb)))  # the whole bomb in one network chunk
    assert len(first) <= 2 * PIECE


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(UnsupportedEncoding):
        BoundedDecoder("compress")


def test_corrupt_gzip_raises_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode("gzip", b"\x1f\x8b\x08\x00garbage-garbage-garbage")
