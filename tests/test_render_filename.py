"""post_filename: safe, short, stable ASCII names Hexo renders."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.steps.render.filename import MAX_NAME_BYTES, post_filename, slugify

NAME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[A-Za-z0-9._-]*\.md$")
DATE = datetime(2021, 5, 26, 1, 32, 46, tzinfo=UTC)
ID = "0d8c8f62-1c2b-5a3e-9f00-123456789abc"


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Hello, World!", "2021-05-26-hello-world-0d8c8f62.md"),
        ("  --Already--slugged--  ", "2021-05-26-already-slugged-0d8c8f62.md"),
        ("Café crème brûlée", "2021-05-26-cafe-creme-brulee-0d8c8f62.md"),
        ("新媒体", "2021-05-26-0d8c8f62.md"),
        ("", "2021-05-26-0d8c8f62.md"),
        ("../../etc/passwd", "2021-05-26-etc-passwd-0d8c8f62.md"),
        ("_draft", "2021-05-26-draft-0d8c8f62.md"),
        (".hidden", "2021-05-26-hidden-0d8c8f62.md"),
        ("a/b\\c", "2021-05-26-a-b-c-0d8c8f62.md"),
        ("ＦＵＬＬ ｗｉｄｔｈ", "2021-05-26-full-width-0d8c8f62.md"),
    ],
    ids=[
        "words",
        "dashes",
        "accents",
        "cjk",
        "empty",
        "traversal",
        "underscore",
        "dot",
        "slashes",
        "fullwidth",
    ],
)
def test_post_filename_table(title: str, name: str) -> None:
    assert post_filename(title, DATE, ID) == name


def test_long_titles_are_cut_to_the_byte_limit() -> None:
    name = post_filename("word " * 100, DATE, ID)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.endswith("-0d8c8f62.md")
    assert "--" not in name


def test_slugify() -> None:
    assert slugify("Ünïcödé & Friends") == "unicode-friends"
    assert slugify("!!!") == ""


@given(
    title=st.text(max_size=500),
    date=st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    ),
    uid=st.uuids(),
)
def test_post_filename_is_always_safe(title: str, date: datetime, uid: uuid.UUID) -> None:
    name = post_filename(title, date, str(uid))
    assert NAME.match(name), name
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert not name.startswith(("_", "."))
    assert "/" not in name and "\\" not in name
    assert ".." not in name
    assert name == post_filename(title, date, str(uid))  # stable


@given(title=st.text(max_size=200), a=st.uuids(), b=st.uuids())
def test_different_ids_give_different_names(title: str, a: uuid.UUID, b: uuid.UUID) -> None:
    if a.hex[:8] != b.hex[:8]:
        assert post_filename(title, DATE, str(a)) != post_filename(title, DATE, str(b))


def test_post_names_give_a_clash_the_whole_id() -> None:
    """Against a stored name and within the batch alike."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from aggregator.models import Article
    from aggregator.steps.render.filename import post_name, post_names

    now = datetime(2026, 1, 1, tzinfo=UTC)
    base = Article("", "F", "", None, None, "Same title", None, "", None, None, None, "", "")
    a = replace(base, id="aaaaaaaa-0000-5000-8000-000000000001")
    b = replace(base, id="aaaaaaaa-0000-5000-8000-000000000002")
    assert post_name(a, now) == post_name(b, now) == "2026-01-01-same-title-aaaaaaaa.md"
    names = post_names([a, b], now, taken=[])
    assert names[a.id] == "2026-01-01-same-title-aaaaaaaa.md"
    assert names[b.id] == "2026-01-01-same-title-aaaaaaaa-aaaaaaaa000050008000000000000002.md"
    assert post_names([a], now, taken=[names[a.id]])[a.id].endswith("000000000001.md")
