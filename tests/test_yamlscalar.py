"""Front matter scalars: single-quoted, or plain exactly where plain YAML reads them back."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from aggregator.steps.render.yamlscalar import plain_or_quoted, quoted
from aggregator.steps.text import clean_line


def read_back(scalar: str) -> object:
    return yaml.safe_load(f"key: {scalar}\nlist:\n - {scalar}\n")


@pytest.mark.parametrize(
    "text",
    [
        "ZAKER",
        "新媒体",
        "source",
        "Tech News",
        "C++",
        "C#",
        "a:b",
        "http://x.example/a",
        "O'Reilly",
        'say "hi"',
        "AT&T",
        "e-mail",
        "100%",
        "a#b",
        "Ünïcödé",
        "emoji 😀",
        "مرحبا",
        "x-",
        "1a",
    ],
)
def test_plain_when_safe(text: str) -> None:
    assert plain_or_quoted(text) == text
    assert read_back(text) == {"key": text, "list": [text]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tech #1", "'Tech #1'"),
        ("#hash", "'#hash'"),
        ("a: b", "'a: b'"),
        ("ends:", "'ends:'"),
        ("yes", "'yes'"),
        ("No", "'No'"),
        ("on", "'on'"),
        ("OFF", "'OFF'"),
        ("true", "'true'"),
        ("null", "'null'"),
        ("~", "'~'"),
        ("y", "'y'"),
        ("123", "'123'"),
        ("-1.5", "'-1.5'"),
        ("1e3", "'1e3'"),
        ("1_000", "'1_000'"),
        ("12:30", "'12:30'"),
        ("0x1F", "'0x1F'"),
        ("+0x1F", "'+0x1F'"),
        ("-0b101", "'-0b101'"),
        ("0o17", "'0o17'"),
        (".inf", "'.inf'"),
        ("-.INF", "'-.INF'"),
        (".NaN", "'.NaN'"),
        ("2021-05-26", "'2021-05-26'"),
        ("2021-05-26 10:00", "'2021-05-26 10:00'"),
        ("<<", "'<<'"),
        ("=", "'='"),
        ("- x", "'- x'"),
        ("---", "'---'"),
        ("? q", "'? q'"),
        ("[list]", "'[list]'"),
        ("{map}", "'{map}'"),
        ("!tag", "'!tag'"),
        ("&anchor", "'&anchor'"),
        ("*alias", "'*alias'"),
        ("|block", "'|block'"),
        (">folded", "'>folded'"),
        ("%directive", "'%directive'"),
        ("@at", "'@at'"),
        ("`tick", "'`tick'"),
        ("'quoted'", "'''quoted'''"),
        ('"double"', "'\"double\"'"),
        (",comma", "',comma'"),
        (" padded", "' padded'"),
        ("tab\there", "'tab\there'"),
        ("nbsp\u00a0inside", "'nbsp\u00a0inside'"),
        ("", "''"),
    ],
    ids=lambda v: repr(v),
)
def test_quoted_when_plain_would_change(text: str, expected: str) -> None:
    assert plain_or_quoted(text) == expected
    assert read_back(expected) == {"key": text, "list": [text]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "''"), ("it's", "'it''s'"), ("''", "''''''"), ("a'b'c", "'a''b''c'")],
    ids=["empty", "apostrophe", "two-quotes", "several"],
)
def test_quoted_doubles_single_quotes(text: str, expected: str) -> None:
    assert quoted(text) == expected


_tricky = st.sampled_from(
    ["#", " #", ": ", ":", "-", "---", "'", '"', "\\", "yes", "0x", "+", "~", "!", "&", "*", "%"]
)
_texts = st.one_of(
    st.text(),
    st.lists(st.one_of(_tricky, st.text(max_size=3)), max_size=8).map("".join),
)


@given(_texts)
def test_any_clean_line_reads_back_exactly(raw: str) -> None:
    text = clean_line(raw)
    assert read_back(plain_or_quoted(text)) == {"key": text, "list": [text]}
    assert read_back(quoted(text)) == {"key": text, "list": [text]}


_letter = r"[A-Za-z\u4e00-\u9fff\u00c0-\u00ff]"
_word = rf"{_letter}[A-Za-z0-9\u4e00-\u9fff\u00c0-\u00ff]*"


@given(st.from_regex(rf"{_word}( {_word}| [0-9]+)*", fullmatch=True))
def test_words_are_plain_whenever_yaml_reads_them_back(text: str) -> None:
    # Starting with a letter: no YAML 1.2 number (1e3, 0o17 are strings to PyYAML only).
    # y / n are YAML 1.1 booleans by the spec (PyYAML reads them as strings): quoted anyway.
    assume(text not in {"y", "Y", "n", "N"})
    assume(yaml.safe_load(text) == text)
    assert plain_or_quoted(text) == text
