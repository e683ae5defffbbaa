"""Everyday use with the real CLI and a loopback server: machine-readable output checked
against the published JSON schemas, secrets kept out of every output, JSON logs, feed
management (disable, enable, enabled = false, prune), ``fetch --due`` and the proxy."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from server import (
    FIXTURE_FEEDS,
    FeedResource,
    LoopbackServer,
    Workspace,
    serve_fixture_feeds,
    status,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
SECRET = "sk-live-3f9a7c1e55d24b"


def validate(document: Any, schema: str) -> None:
    jsonschema.validate(document, json.loads((SCHEMAS / schema).read_text()))


def dates_in(document: Any) -> list[str]:
    """Every non-null next_check / last_fetch value, however deep."""
    if isinstance(document, list):
        return [d for v in document for d in dates_in(v)]
    if not isinstance(document, dict):
        return []
    found = [v for k, v in document.items() if k in ("next_check", "last_fetch") and v]
    return found + [d for v in document.values() for d in dates_in(v)]


@pytest.fixture
def three_feeds(loopback: LoopbackServer, ws: Workspace) -> list[dict[str, object]]:
    """Two fixture feeds (one behind an access key) and one that fails."""
    tables = serve_fixture_feeds(loopback, FIXTURE_FEEDS[:2])
    tables[0]["headers"] = {"X-Access-Key": SECRET}
    loopback.routes["/broken.xml"] = status(500)
    tables.append({"name": "Broken", "url": loopback.url("/broken.xml")})
    ws.write_config(tables)
    return tables


def test_json_outputs_match_their_schemas(
    ws: Workspace, three_feeds: list[dict[str, object]]
) -> None:
    fetched = ws.fetch("--json")
    assert fetched.returncode == 1, "one feed failed"
    report = json.loads(fetched.stdout)
    validate(report, "fetch.schema.json")
    assert [f["status"] for f in report["feeds"]] == ["ok", "failed", "ok"]  # by name
    assert report["summary"]["feeds_failed"] == 1 and report["summary"]["new"] == 4

    listed = ws.run("feeds", "--json")
    assert listed.returncode == 0, listed.stderr
    feeds = json.loads(listed.stdout)
    validate(feeds, "feeds.schema.json")
    assert {f["name"]: f["articles"] for f in feeds} == {"Atom Feed": 2, "Broken": 0, "RSS Two": 2}
    for value in dates_in(report) + dates_in(feeds):
        assert datetime.fromisoformat(value).tzinfo is not None, value


def test_secret_headers_reach_the_server_and_no_output(
    loopback: LoopbackServer, ws: Workspace, three_feeds: list[dict[str, object]]
) -> None:
    outputs = [ws.fetch("--json", "--log-level", "debug")]
    (request,) = loopback.requests_for("/rss2.xml")
    assert request.header("X-Access-Key") == SECRET
    outputs += [ws.run("feeds"), ws.run("feeds", "--json"), ws.run("check"), ws.run("export-opml")]
    outputs.append(ws.fetch("--log-level", "debug", "--log-format", "json"))
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr, result.args
    assert "GET" in outputs[0].stderr or "HTTP" in outputs[0].stderr, "debug logs were written"


def test_json_logs_are_one_object_per_line(
    ws: Workspace, three_feeds: list[dict[str, object]]
) -> None:
    result = ws.fetch("--log-format", "json", "--log-level", "info")
    lines = result.stderr.splitlines()
    records = [json.loads(line) for line in lines]  # every line, the summary included
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any("Broken" in r["message"] and r["level"] in ("warning", "error") for r in records)
    closing = [r["message"] for r in records[-3:]]  # the summary, then where to look
    assert "articles:" in closing[0], "the closing summary"
    assert closing[1].startswith("posts: ") and closing[2].startswith("atom: "), closing


def test_disable_enable_and_enabled_false(
    loopback: LoopbackServer, ws: Workspace, three_feeds: list[dict[str, object]]
) -> None:
    assert ws.run("disable", "Broken").returncode == 0
    assert ws.fetch().returncode == 0, "the disabled feed is not fetched, so nothing failed"
    assert loopback.requests_for("/broken.xml") == []
    state = {f["name"]: f for f in json.loads(ws.run("feeds", "--json").stdout)}
    assert state["Broken"]["enabled"] is False and state["Broken"]["disabled_reason"] == "user"

    assert ws.run("enable", "Broken").returncode == 0
    assert ws.fetch().returncode == 1
    assert len(loopback.requests_for("/broken.xml")) >= 1

    assert ws.run("disable", "Nope").returncode == 2, "an unknown name is a usage error"

    tables = [dict(t) for t in three_feeds]
    tables[2]["enabled"] = False
    ws.write_config(tables)
    loopback.clear_log()
    assert ws.fetch().returncode == 0
    assert loopback.requests_for("/broken.xml") == []


def test_prune_removes_articles_posts_and_feed_entries(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    tables = serve_fixture_feeds(loopback, FIXTURE_FEEDS[:2])
    ws.write_config(tables)
    assert ws.fetch().returncode == 0
    before = ws.posts()
    assert len(before) == 4
    assert ws.run("prune", "RSS Two").returncode == 2, "still configured: refused"

    ws.write_config(tables[1:])  # RSS Two removed from the config: kept until pruned
    assert ws.fetch().returncode == 0
    assert len(ws.posts()) == 4
    assert "RSS first story" in ws.atom_path.read_text()

    manifest = ws.root / "manifest.json"
    hook = ["python3", "-c", f"import sys; open({str(manifest)!r}, 'w').write(sys.stdin.read())"]
    ws.write_config(tables[1:], output={"on_change": hook})
    result = ws.run("prune", "RSS Two")
    assert result.returncode == 0, result.stderr
    after = ws.posts()
    assert len(after) == 2 and set(after) < set(before)
    atom = ws.atom_path.read_text()
    assert "RSS first story" not in atom and "Atom first entry" in atom
    assert ws.query("SELECT count(*) FROM feeds WHERE name = 'RSS Two'") == [(0,)]
    removed = json.loads(manifest.read_text())["removed"]
    assert sorted(r["path"].rsplit("/", 1)[-1] for r in removed) == sorted(set(before) - set(after))
    assert ws.run("prune", "RSS Two").returncode == 2, "gone now"


def test_fetch_due_fetches_only_due_feeds(loopback: LoopbackServer, ws: Workspace) -> None:
    tables = serve_fixture_feeds(loopback, FIXTURE_FEEDS[:2])
    ws.write_config(tables, schedule={"interval": "1h", "min_interval": "1h"})
    assert ws.fetch("--due").returncode == 0, "never fetched: due"
    assert len(loopback.requests) == 2
    loopback.clear_log()
    assert ws.fetch("--due").returncode == 0
    assert loopback.requests == [], "checked a moment ago, next check in an hour"
    assert ws.fetch().returncode == 0
    assert len(loopback.requests) == 2, "without --due every enabled feed is fetched"


def test_the_proxy_carries_feed_requests(loopback: LoopbackServer, ws: Workspace) -> None:
    """The loopback server plays the proxy: it receives the absolute URL of a host that
    does not exist, which only a proxy request can reach."""
    feed = FIXTURE_FEEDS[1]
    body = (Path(__file__).parent / "fixtures" / "feeds" / feed.file).read_bytes()
    loopback.routes["http://feeds.invalid/atom.xml"] = FeedResource(body, feed.content_type)
    ws.write_config(
        [{"name": "Via proxy", "url": "http://feeds.invalid/atom.xml"}],
        fetch={"proxy": loopback.url("")},
    )
    result = ws.fetch()
    assert result.returncode == 0, result.stderr
    assert [r.path for r in loopback.requests] == ["http://feeds.invalid/atom.xml"]
    assert ws.query("SELECT count(*) FROM articles") == [(2,)]


def test_version(ws: Workspace) -> None:
    result = ws.run("--version", config_first=False)
    assert result.returncode == 0 and result.stdout.startswith("aggregator ")


ONE_ITEM = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>One</title>'
    b"<item><guid>only-1</guid><title>The only story</title>"
    b"<link>https://one.example/1</link><description>Text.</description></item>"
    b"</channel></rss>"
)


def test_a_count_of_one_is_singular_everywhere(loopback: LoopbackServer, ws: Workspace) -> None:
    loopback.routes["/one.xml"] = FeedResource(ONE_ITEM, "application/rss+xml")
    tables: list[dict[str, object]] = [{"name": "One", "url": loopback.url("/one.xml")}]
    ws.write_config(tables)
    opml = ws.root / "one.opml"

    checked = ws.run("check")
    exported = ws.run("export-opml", "-o", str(opml))
    fetched = ws.fetch()
    for post in ws.posts_dir.iterdir():
        post.unlink()  # for render to re-create
    rendered = ws.run("render")
    ws.write_config([])
    pruned = ws.run("prune", "One")
    imported = ws.run("import-opml", str(opml))

    assert checked.stderr == f"{ws.config_path}: ok (1 feed)\n"
    assert exported.stderr == "exported 1 feed\n"
    assert "articles: 1 new" in fetched.stderr
    assert rendered.stderr.startswith("rendered: 1 post re-created, 0 rewritten"), rendered.stderr
    assert pruned.stderr == "pruned One: 1 article and its post\n"
    assert f"{ws.config_path}: 1 feed added, 0 skipped" in imported.stderr
