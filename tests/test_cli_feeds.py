"""``aggregator feeds`` as a person reads it: columns aligned on the screen, times with their
zone, and a read-only look that creates nothing."""

from __future__ import annotations

import unicodedata

from server import Workspace


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
