"""extract/page.py decode_html: a page's declared charset is untrusted input."""

from __future__ import annotations

import pytest

from aggregator.steps.extract.page import decode_html

PAGE = "<p>Café</p>".encode()

# Labels codecs.lookup knows that are no text encoding (bytes-to-bytes transforms), and text
# codecs that raise on decoding whatever the error handler.
NOT_PAGE_ENCODINGS = [
    *("rot13", "rot_13", "base64", "hex", "zlib", "uu", "bz2", "quopri"),
    *("idna", "undefined", "punycode"),
]


@pytest.mark.parametrize("label", NOT_PAGE_ENCODINGS)
def test_a_charset_that_is_no_page_encoding_in_the_header_falls_back_to_utf8(label: str) -> None:
    assert decode_html(PAGE + b"\xff", f"text/html; charset={label}") == "<p>Café</p>\ufffd"


@pytest.mark.parametrize("label", NOT_PAGE_ENCODINGS)
def test_a_charset_that_is_no_page_encoding_in_meta_falls_back_to_utf8(label: str) -> None:
    body = f'<meta charset="{label}">'.encode() + PAGE
    assert decode_html(body, "text/html").endswith("<p>Café</p>")


@pytest.mark.parametrize("label", NOT_PAGE_ENCODINGS)
def test_a_bad_header_charset_gives_way_to_the_meta_charset(label: str) -> None:
    body = b'<meta charset="iso-8859-1">' + "<p>Café</p>".encode("latin-1")
    assert "Café" in decode_html(body, f"text/html; charset={label}")
