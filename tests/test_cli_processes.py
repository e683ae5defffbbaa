"""Nothing of a one-shot command keeps running once it has exited: not its parser workers,
not multiprocessing's resource tracker; after success, after an error exit, after SIGTERM.
The CLI runs in a session of its own (every process there is its doing) under a subreaper
that adopts whatever it leaves behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from server import (
    CLI_TIMEOUT,
    FIXTURE_FEEDS,
    LoopbackServer,
    Reply,
    Request,
    Workspace,
    serve_fixture_feeds,
    wait_until,
)

TERMINATED = 143
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc and uses prctl (Linux)"
)


def session_processes(session: int) -> list[str]:
    """``pid command`` of every live (not zombie) process whose session id is ``session``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        state, _ppid, _group, sid = stat[stat.rindex(")") + 2 :].split()[:4]
        if int(sid) == session and state != "Z":
            found.append(f"{entry.name} {command[:100]}")
    return found


REAPER = Path(__file__).parent / "subreaper.py"


class Cli:
    """The CLI under tests/subreaper.py, which adopts whatever the CLI leaves behind: a
    process still running when the CLI exits, or one that exited a moment later unreaped,
    is reported either way (polling /proc after the exit would miss the quick ones)."""

    def __init__(self, ws: Workspace, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
        (ws.root / "cwd").mkdir(exist_ok=True)
        self._stderr = (ws.root / "stderr.txt").open("wb")
        argv = [sys.executable, "-m", "aggregator", "--config", str(ws.config_path), *args]
        self.reaper = subprocess.Popen(
            [sys.executable, str(REAPER), *argv],
            cwd=ws.root / "cwd",
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.reaper.stdout is not None
        started = self.reaper.stdout.readline()
        assert started.startswith("started "), started
        self.pid = int(started.split()[1])  # also its session id (a session of its own)

    def finish(self) -> tuple[int, list[dict[str, object]]]:
        """(exit code, processes it left behind) once the CLI has exited."""
        out, _ = self.reaper.communicate(timeout=CLI_TIMEOUT)
        self._stderr.close()
        report = json.loads(out.strip().splitlines()[-1])
        return int(report["returncode"]), list(report["left"])


def stderr(ws: Workspace) -> str:
    return (ws.root / "stderr.txt").read_text(encoding="utf-8")


def test_a_pass_leaves_no_process_behind(loopback: LoopbackServer, ws: Workspace) -> None:
    ws.write_config(serve_fixture_feeds(loopback))
    code, left = Cli(ws, "fetch", "--no-progress").finish()
    assert code == 0, stderr(ws)
    assert "articles: 8 new" in stderr(ws), "the parser workers had work"
    assert left == []


def test_an_error_exit_leaves_no_process_behind(loopback: LoopbackServer, ws: Workspace) -> None:
    (ws.root / "blocker").write_text("a file where the posts folder should be")
    feeds = serve_fixture_feeds(loopback, FIXTURE_FEEDS[:1])
    ws.write_config(feeds, output={"posts_dir": str(ws.root / "blocker" / "posts")})
    code, left = Cli(ws, "fetch", "--no-progress").finish()
    assert code == 4, stderr(ws)
    assert left == []


def test_sigterm_stops_the_pass_and_everything_it_started(
    loopback: LoopbackServer, ws: Workspace
) -> None:
    hung = threading.Event()

    def hang(request: Request) -> Reply:
        def write(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
            hung.set()
            stop.wait(CLI_TIMEOUT)  # never answers while the test runs

        return Reply(raw=write)

    loopback.routes["/hung.xml"] = hang
    feeds = serve_fixture_feeds(loopback, FIXTURE_FEEDS[:2])
    ws.write_config([*feeds, {"name": "Hung", "url": loopback.url("/hung.xml")}])
    cli = Cli(ws, "fetch", "--no-progress")
    # The hung feed waits; the others were parsed by then, so workers and tracker run.
    wait_until(lambda: hung.is_set() and len(ws.posts()) == 4, CLI_TIMEOUT, "the other feeds")
    assert len(session_processes(cli.pid)) >= 3, "the command, its workers, the tracker"

    os.kill(cli.pid, signal.SIGTERM)

    code, left = cli.finish()
    assert code == TERMINATED, stderr(ws)
    assert stderr(ws).strip().endswith("aggregator: stopped by SIGTERM (what was stored is kept)")
    assert "Traceback" not in stderr(ws)
    assert left == []
    assert session_processes(cli.pid) == []
