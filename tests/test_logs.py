"""Secrets never reach stderr: header values, proxy and database passwords are masked in log
lines, their tracebacks, JSON logs and the messages commands print."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from server import FIXTURE_FEEDS, LoopbackServer, Workspace, serve_fixture_feeds

from aggregator.config import Config, FeedConfig, FetchConfig, OutputConfig, StorageConfig
from aggregator.run.logs import redact_secrets_of, report, setup_logging

KEY = "sk-live-0a1b2c3d4e"


def config() -> Config:
    return Config(
        path=Path("config.toml"),
        storage=StorageConfig(database="postgresql://agg:db-Pa55word@127.0.0.1:5432/agg"),
        output=OutputConfig(posts_dir=Path("posts"), atom_path=Path("atom.xml")),
        fetch=FetchConfig(proxy="http://user:proxy-pa55@127.0.0.1:3128"),
        feeds=(FeedConfig(name="F", url="https://f.example/", headers=(("X-Key", KEY),)),),
    )


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_every_kind_of_line_is_masked(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    setup_logging("info", fmt)
    redact_secrets_of(config())
    log = logging.getLogger("aggregator.test")
    log.warning("header %s and proxy %s", KEY, "proxy-pa55")
    try:
        raise RuntimeError(f"connect failed for db-Pa55word and {KEY}")
    except RuntimeError:
        log.error("with a traceback", exc_info=True)
    report(f"aggregator: failed: F: {KEY}")
    err = capsys.readouterr().err
    for secret in (KEY, "proxy-pa55", "db-Pa55word"):
        assert secret not in err, secret
    assert err.count("***") >= 5
    if fmt == "json":
        lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert len(lines) == 3 and "Traceback" in lines[1]["error"]


def test_short_values_are_not_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """A header value like "1" would turn every digit of every line into ***."""
    cfg = config()
    short = FeedConfig(name="G", url="https://g.example/", headers=(("X-Debug", "1"),))
    setup_logging("info")
    redact_secrets_of(Config(cfg.path, cfg.storage, cfg.output, feeds=(short,)))
    logging.getLogger("aggregator.test").warning("fetched 10 feeds")
    assert "fetched 10 feeds" in capsys.readouterr().err


def published_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " published " in line]


def test_info_logs_each_event_once_with_the_right_figures(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    ws.write_config(serve_fixture_feeds(loopback, FIXTURE_FEEDS[:2]))

    first = ws.fetch("--log-level", "info")
    again = ws.fetch("--log-level", "info")

    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert len(ws.posts()) == 4
    assert "HTTP Request" not in first.stderr + again.stderr, "httpx's own line per request"
    fetched = [line for line in first.stderr.splitlines() if "fetched feed=" in line]
    assert len(fetched) == 2, first.stderr
    assert [line.split(" published ")[1] for line in published_lines(first.stderr)] == [
        "added=4 updated=0 feeds_changed=True"
    ], first.stderr
    assert published_lines(again.stderr) == [], "nothing was written: nothing to say"


def test_debug_shows_the_http_libraries_lines(loopback: LoopbackServer, ws: Workspace) -> None:
    ws.write_config(serve_fixture_feeds(loopback, FIXTURE_FEEDS[:1]))
    run = ws.fetch("--log-level", "debug")
    assert run.returncode == 0, run.stderr
    assert "httpx: HTTP Request: GET" in run.stderr


def test_every_command_message_goes_through_the_reporter(
    loopback: LoopbackServer, ws: Workspace, tmp_path: Path
) -> None:
    """With --log-format json every stderr line of every command is one JSON object (a plain
    print would break the stream), and the feed's key never shows."""
    tables = serve_fixture_feeds(loopback, FIXTURE_FEEDS[:1])
    tables[0]["headers"] = {"X-Key": KEY}
    ws.write_config(tables)
    name = str(tables[0]["name"])
    opml = tmp_path / "subs.opml"
    commands = [
        ("fetch", "--no-progress"),
        ("check",),
        ("disable", name),
        ("enable", name),
        ("render",),
        ("atom",),
        ("export-opml", "-o", str(opml)),
        ("import-opml", str(opml)),
        ("prune", "no such feed"),
        ("import-opml", str(tmp_path / "missing.opml")),
    ]
    said = {}
    for command in commands:
        result = ws.run(*command, "--log-format", "json")
        lines = result.stderr.splitlines()
        assert lines, command
        messages = [json.loads(line)["message"] for line in lines]
        assert all(KEY not in m for m in messages), (command, messages)
        said[command[0] + (" " + command[1] if command[0] == "import-opml" else "")] = (
            result.returncode,
            messages,
        )
    assert said["check"] == (0, [f"{ws.config_path}: ok (1 feed)"])
    assert said["prune"][0] == 2 and "no feed named 'no such feed'" in said["prune"][1][0]
    assert said[f"import-opml {tmp_path / 'missing.opml'}"][0] == 2
