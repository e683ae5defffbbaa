"""Errors as the person at the terminal sees them, with the real CLI: the right words, the
culprit named, the documented exit code, and never a traceback."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

import pytest
from server import FIXTURE_FEEDS, LoopbackServer, Workspace, serve_fixture_feeds

REFUSED = 4


@pytest.mark.parametrize(
    "command", [["feeds"], ["fetch", "--no-progress"], ["render"], ["disable", "A"]]
)
def test_a_database_path_that_is_a_folder_is_refused_cleanly(
    ws: Workspace, command: list[str]
) -> None:
    ws.write_config([{"name": "A", "url": "http://127.0.0.1:9/a.xml"}])
    ws.database.mkdir(parents=True)
    for _ in range(5):  # the stray traceback came in a few runs of 20 (tests/test_store.py)
        run = ws.run(*command)
        assert run.returncode == REFUSED, run.stderr
        assert f"{ws.database}: cannot open the database: is a directory" in run.stderr
        assert "Traceback" not in run.stderr and "Exception in thread" not in run.stderr, run.stderr


@pytest.mark.parametrize(
    ("posts", "reason"),
    [
        ("blocker/posts", "{blocker} is a file, not a folder"),
        ("blocker", "it is a file, not a folder"),
    ],
    ids=["under-a-file", "a-file"],
)
def test_an_unwritable_posts_folder_still_gets_the_summary_and_every_other_output(
    loopback: LoopbackServer, ws: Workspace, posts: str, reason: str
) -> None:
    """The fault is at the output boundary: a regular file where the posts folder (or the
    folder above it) must be; mkdir fails for root too."""
    blocker = ws.root / "blocker"
    blocker.write_text("a file, not a folder")
    posts_dir = ws.root / posts
    json_feed = ws.root / "data" / "feed.json"
    feeds = serve_fixture_feeds(loopback, FIXTURE_FEEDS[:2])
    ws.write_config(feeds, output={"posts_dir": str(posts_dir), "json_feed_path": str(json_feed)})

    run = ws.fetch()

    assert run.returncode == REFUSED, run.stderr
    assert "feeds: 2 ok, 0 failed" in run.stderr and "articles: 4 new" in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("aggregator: ")]
    why = reason.format(blocker=blocker)
    assert errors == [f"aggregator: {posts_dir}: cannot write: {why}"], run.stderr
    assert "Traceback" not in run.stderr
    titles = {t for feed in FIXTURE_FEEDS[:2] for t in feed.titles}
    atom = ws.atom_path.read_text(encoding="utf-8")
    assert all(escape(t) in atom for t in titles), "the Atom document is written"
    items = json.loads(json_feed.read_text(encoding="utf-8"))["items"]
    assert {i["title"] for i in items} == titles, "the JSON Feed is written"

    rendered = ws.run("render")
    assert rendered.returncode == REFUSED and str(posts_dir) in rendered.stderr, rendered.stderr

    blocker.unlink()  # the fault gone, the posts kept pending all come
    again = ws.fetch()
    assert again.returncode == 0, again.stderr
    assert len(list(posts_dir.glob("*.md"))) == 4


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["prune", "Gone"], "no feed named 'Gone' in the database ({database})"),
        (["prune", "A"], "feed 'A' is still in {config}: remove it there first"),
        (["enable", "Nobody"], "no feed named 'Nobody' in {config} or in the database"),
        (["disable", "Nobody"], "no feed named 'Nobody' in {config} or in the database"),
        (["fetch", "--feed", "Nobody"], "no feed named 'Nobody' in {config}"),
    ],
    ids=["prune-unknown", "prune-configured", "enable", "disable", "fetch-feed"],
)
def test_a_name_that_is_not_there_is_a_usage_error_in_its_own_words(
    ws: Workspace, command: list[str], message: str
) -> None:
    ws.write_config([{"name": "A", "url": "http://127.0.0.1:9/a.xml"}])

    run = ws.run(*command)

    assert run.returncode == 2, run.stderr
    expected = message.format(config=ws.config_path, database=ws.database)
    assert run.stderr == f"aggregator: {expected}\n"
