"""``aggregator feeds`` as a person reads it: columns aligned on the screen, times with their
zone, and a read-only look that creates nothing."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from server import FIXTURE_FEEDS, LoopbackServer, Workspace, serve_fixture_feeds

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def cells(text: str) -> int:
    """Terminal cells: wide and full-width characters (CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def column_starts(line: str, values: list[str]) -> list[int]:
    """The screen column where each value begins on the line, in order."""
    starts, at = [], 0
    for value in values:
        at = line.index(value, at)
        starts.append(cells(line[:at]))
        at += len(value)
    return starts


def test_columns_line_up_on_screen_with_chinese_names(ws: Workspace) -> None:
    feeds = [
        {"name": "中文新闻", "url": "http://127.0.0.1:9/zh.xml"},
        {"name": "Plain", "url": "http://127.0.0.1:9/plain.xml"},
        {"name": "日本語のニュース速報", "url": "http://127.0.0.1:9/ja.xml"},
    ]
    ws.write_config(feeds)

    run = ws.run("feeds")

    assert run.returncode == 0, run.stderr
    header, *rows = run.stdout.splitlines()
    expected = column_starts(header, ["NAME", "URL", "LAST FETCH", "STATUS"])
    assert len(rows) == len(feeds)
    for feed in feeds:
        (line,) = [row for row in rows if row.startswith(f"{feed['name']} ")]
        assert column_starts(line, [str(feed["name"]), str(feed["url"]), "never", "-"]) == (
            expected
        ), run.stdout


@pytest.mark.parametrize(
    ("tz", "offset", "suffix"),
    [
        ("XST-8", timedelta(hours=8), "+08:00"),
        ("XST+5:30", -timedelta(hours=5, minutes=30), "-05:30"),
    ],
    ids=["utc+8", "utc-5:30"],
)
def test_times_show_local_time_with_its_offset(
    loopback: LoopbackServer, ws: Workspace, tz: str, offset: timedelta, suffix: str
) -> None:
    ws.write_config(serve_fixture_feeds(loopback, FIXTURE_FEEDS[:1]))
    assert ws.fetch().returncode == 0
    env = {"TZ": tz}  # POSIX zone strings: no tz database needed

    table = ws.run("feeds", env=env)
    listed = ws.run("feeds", "--json", env=env)

    assert table.returncode == 0 and listed.returncode == 0, table.stderr + listed.stderr
    (feed,) = json.loads(listed.stdout)
    last_fetch = datetime.fromisoformat(feed["last_fetch"])
    assert last_fetch.utcoffset() is not None, "--json stays RFC 3339 with its offset"
    local = last_fetch.astimezone(timezone(offset)).strftime("%Y-%m-%d %H:%M:%S")
    (row,) = table.stdout.splitlines()[1:]
    assert f"  {local}{suffix}  " in row, table.stdout
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d([+-]\d\d:\d\d)", row)
    assert times == [suffix, suffix], "last fetch and next check, both with the zone"


def test_feeds_before_any_fetch_lists_the_config_and_creates_nothing(ws: Workspace) -> None:
    ws.write_config(
        [
            {"name": "B", "url": "http://127.0.0.1:9/b.xml"},
            {"name": "A", "url": "http://127.0.0.1:9/a.xml", "enabled": False},
        ]
    )
    before = set(ws.root.rglob("*"))

    table = ws.run("feeds")
    listed = ws.run("feeds", "--json")

    assert table.returncode == 0 and listed.returncode == 0, table.stderr + listed.stderr
    assert table.stderr == (
        f"{ws.database}: no database yet (`aggregator fetch` creates it); "
        "the configured feeds have never been fetched\n"
    )
    rows = [line.split() for line in table.stdout.splitlines()[1:]]
    assert [row[:3] for row in rows] == [
        ["A", "http://127.0.0.1:9/a.xml", "never"],
        ["B", "http://127.0.0.1:9/b.xml", "never"],
    ]
    assert table.stdout.splitlines()[1].endswith("disabled (config)")
    feeds = json.loads(listed.stdout)
    jsonschema.validate(feeds, json.loads((SCHEMAS / "feeds.schema.json").read_text()))
    assert [(f["name"], f["enabled"], f["last_fetch"]) for f in feeds] == [
        ("A", False, None),
        ("B", True, None),
    ]
    created = set(ws.root.rglob("*")) - before
    assert created == {ws.root / "cwd"}, "no database, no data folder: only the run's cwd"
