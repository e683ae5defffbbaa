"""One ``aggregator fetch`` over the whole hostile corpus (tests/hostile/corpus.py), then a rerun.

Each misbehaving feed must fail or degrade alone with an error naming it; the pass ends (a
deadline far above what the corpus' 3 s timeouts allow: a feed that could hold the pass would
hang it; how long a pass takes is the benchmarks' business, not a test's); the CLI's process
tree stays under MEMORY_BOUND (stated in docs/security.md); the database is sound; every post
is valid front matter with nothing executable in it or in the Atom document; nothing is
written outside the data folder; a local file named by an external entity never shows up;
duplicates collapse; and the rerun writes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from server import Workspace, running_server

from aggregator.steps.digest import MAX_ENTRIES

from .corpus import HUGE_DATED, HUGE_ITEMS, SECRET, Hostile, serve_corpus
from .support import (
    check_atom,
    check_post,
    check_posts_in_sync,
    dangers,
    files_under,
    integrity,
    query,
    run_measured,
)

pytestmark = pytest.mark.slow

MEMORY_BOUND = 400 * 2**20  # bytes: the CLI and its parser workers together, each at its peak
DEADLINE = 150  # seconds: a hang, not a slow machine (one pass takes ~15-40 s on 2 cores)
FETCH = {
    "timeout": "3s",
    "max_bytes": 12_000_000,
    "retries": 0,
    "max_redirects": 5,
    "max_retry_wait": "2s",
    "concurrency": 64,
    "per_host": 64,
}


@pytest.mark.timeout(2 * DEADLINE + 60)
def test_hostile_feeds_fail_or_degrade_alone(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    with running_server() as server:
        corpus = serve_corpus(server, secret)
        ws.write_config(
            [
                {"name": h.name, "url": server.url(h.path), "categories": ["hostile", h.name]}
                for h in corpus
            ],
            fetch=FETCH,
        )

        first, peak, seconds = run_measured(ws, "fetch", "--no-progress", timeout=DEADLINE)
        print(
            f"first pass: {seconds:.1f}s, peak RSS {peak.sum_hwm / 2**20:.0f} MiB "
            f"(each process at its own peak, summed) / {peak.sum_rss / 2**20:.0f} MiB "
            f"(largest sampled sum), {len(peak.hwm)} processes, {peak.samples} samples "
            f"{sorted(v // 2**20 for v in peak.hwm.values())}"
        )
        assert first.returncode == 1, first.stderr
        assert "Traceback" not in first.stderr and "internal error" not in first.stderr, (
            first.stderr
        )
        assert peak.samples > 10
        assert peak.sum_hwm < MEMORY_BOUND, f"{peak.sum_hwm / 2**20:.0f} MiB"

        check_outcomes(ws, corpus, first.stderr)
        check_outputs(ws, tmp_path)
        check_specific_feeds(ws)
        assert not server.requests_for("/evil.dtd"), "an external DTD was fetched"
        assert not server.requests_for("/xxe-http"), "an external entity was fetched"
        assert not server.requests_for("/xxe-param"), "an external parameter entity was fetched"
        assert SECRET not in first.stdout + first.stderr

        # The rerun: same failures, no file written, the same rows.
        stamps = ws.stamps()
        articles = query(ws.database, "SELECT * FROM articles ORDER BY id")
        entries = entries_but_churning(ws)
        second, _, _ = run_measured(ws, "fetch", "--no-progress", timeout=DEADLINE)
        assert second.returncode == 1, second.stderr
        assert "Traceback" not in second.stderr
        assert ws.stamps() == stamps, "the rerun rewrote files"
        assert query(ws.database, "SELECT * FROM articles ORDER BY id") == articles
        assert entries_but_churning(ws) == entries
        check_outputs(ws, tmp_path)


def entries_but_churning(ws: Workspace) -> list[tuple[object, ...]]:
    """The churning feed adds an alias key per fetch (a new guid for a known article)."""
    return query(
        ws.database,
        "SELECT e.* FROM entries e JOIN feeds f ON f.id = e.feed_id"
        " WHERE f.name != 'churning-guids' ORDER BY e.feed_id, e.entry_key",
    )


def check_outcomes(ws: Workspace, corpus: list[Hostile], stderr: str) -> None:
    """Each feed ended as expected, with its own error, named in the summary."""
    rows = {
        r[0]: r[1:]
        for r in query(
            ws.database,
            "SELECT f.name, f.last_status, coalesce(f.last_error, ''), f.disabled_reason,"
            " (SELECT count(*) FROM articles a WHERE a.feed_id = f.id) FROM feeds f",
        )
    }
    problems = []
    for h in corpus:
        status, error, _disabled, count = rows[h.name]
        expected = {h.status} if h.status else {"ok", "failed"}
        if status not in expected or h.error not in error:
            problems.append(f"{h.name}: {status} {error!r}, expected {h.status} {h.error!r}")
        if "\n" in error or "Traceback" in error:
            problems.append(f"{h.name}: its error is not one clear line: {error!r}")
        if status == "failed" and f"failed: {h.name}: " not in stderr:
            problems.append(f"{h.name}: its failure is not in the summary")
        if h.articles is not None and count != h.articles:
            problems.append(f"{h.name}: {count} articles, expected {h.articles}")
    assert not problems, "\n".join(problems)
    assert rows["http-410"][2] == "gone"


def check_outputs(ws: Workspace, tmp_path: Path) -> None:
    assert integrity(ws.database) == "ok"
    by_path = check_posts_in_sync(ws)
    titles = {r[0]: r[1] for r in query(ws.database, "SELECT post_path, title FROM articles")}
    for path in by_path:
        text = (ws.posts_dir / path).read_text(encoding="utf-8")
        data = check_post(path, text)
        assert not dangers(text), (path, dangers(text))
        # The title reads back exactly as stored (ASCII quotes shown as '_').
        assert data["title"] == titles[path].replace('"', "_").replace("'", "_"), path
    for title in titles.values():
        assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in title), repr(title)
        assert title == title.strip()
    check_atom(ws.atom_path)

    # Nothing outside the data folder; nothing but the database, the Atom and the posts in it.
    allowed = re.compile(
        r"^(config\.toml|data/aggregator\.sqlite3(-wal|-shm)?|data/atom\.xml|data/posts/[^/]+)$"
    )
    stray = [
        p for p in files_under(ws.root) if not allowed.match(p.relative_to(ws.root).as_posix())
    ]
    assert not stray, stray
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.txt", "ws"]
    assert not Path("/tmp/escaped").exists()
    # The secret file's content is nowhere: posts, Atom, database (with its WAL).
    for path in files_under(ws.root):
        assert SECRET.encode() not in path.read_bytes(), path


def check_specific_feeds(ws: Workspace) -> None:
    def titles(feed: str) -> set[str]:
        return {
            r[0]
            for r in query(
                ws.database,
                "SELECT a.title FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.name = ?",
                (feed,),
            )
        }

    # First occurrence wins within a document.
    assert titles("duplicate-guids") == {"dup first A", "dup B", "dup C"}
    # The original and its syndicated copy: three stories stored once, by whichever feed came
    # first, and each entry of the other feed maps onto one of them.
    stories = {f"good story {i}" for i in range(3)}
    owners = [f for f in ("good-rss", "syndicated-copy") if titles(f)]
    assert len(owners) == 1 and titles(owners[0]) == stories, owners
    (other,) = {"good-rss", "syndicated-copy"} - set(owners)
    copies = query(
        ws.database,
        "SELECT count(*) FROM entries e JOIN feeds f ON f.id = e.feed_id"
        " JOIN articles a ON a.id = e.article_id JOIN feeds o ON o.id = a.feed_id"
        " WHERE f.name = ? AND o.name = ?",
        (other, owners[0]),
    )
    assert copies == [(3,)]
    # A truncated document keeps its good items.
    assert {f"trunc story {i}" for i in range(3)} <= titles("truncated-xml")
    # The huge feed: capped, the newest (dated) items kept.
    huge = titles("huge-feed")
    assert len(huge) == MAX_ENTRIES
    assert {f"huge {i}" for i in range(HUGE_ITEMS - HUGE_DATED, HUGE_ITEMS)} <= huge
    # Titles are never truncated; what breaks YAML still reads back (checked for every post).
    assert "x" * 2000 in titles("nasty-titles")
    assert "line one line two line three" in titles("nasty-titles")
    # Absurd dates are dropped (first-seen is used): every stored date is sane.
    now = datetime.now(UTC)
    for (published,) in query(ws.database, "SELECT published FROM articles"):
        if published is not None:
            when = datetime.fromisoformat(published)
            assert datetime(1990, 1, 1, tzinfo=UTC) <= when <= now + timedelta(days=1)
    # Billion laughs never expanded.
    assert not any("lollol" in t for t in titles("billion-laughs"))
