"""Shared by the reliability suite: hand-written (misbehaving) replies, running the CLI while
measuring its process tree's memory, and the checks every pass over hostile input must meet.

Every server here is tests/server.py's LoopbackServer: it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, suppress
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from posts import front_matter
from server import Reply, Workspace, untraced

TEMP_PREFIX = ".aggregator-tmp-"
FRONT_MATTER_KEYS = ["title", "categories", "headimg", "author", "comments", "date", "thumbnail"]
POST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.md$")
ATOM = "{http://www.w3.org/2005/Atom}"

# What must never reach a post or the Atom document: script elements, event-handler
# attributes inside a tag, javascript: URLs (the corpus puts no such text in plain prose).
DANGER = (
    re.compile(r"<\s*script", re.IGNORECASE),
    re.compile(r"<[^>]*[\s/\"']on[a-z]+\s*=", re.IGNORECASE),
    re.compile(r"javascript\s*:", re.IGNORECASE),
    re.compile(r"vbscript\s*:", re.IGNORECASE),
)


# -- replies written by hand -------------------------------------------------------------


def _head(handler: BaseHTTPRequestHandler, headers: Mapping[str, str], status: int = 200) -> None:
    lines = [f"HTTP/1.1 {status} Whatever", *(f"{k}: {v}" for k, v in headers.items())]
    handler.wfile.write(("\r\n".join([*lines, "Connection: close", "", ""])).encode("latin-1"))


def raw_reply(write: Callable[[BaseHTTPRequestHandler, threading.Event], None]) -> Reply:
    def guarded(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        with suppress(OSError):  # the client hung up (which these endpoints want it to do)
            write(handler, stop)

    return Reply(raw=guarded)


def drip(document: bytes, every: float = 0.5) -> Callable[[Any], Reply]:
    """Headers at once, then one byte of ``document`` every ``every`` seconds, forever."""

    def write(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        _head(handler, {"Content-Type": "application/rss+xml"})
        i = 0
        while not stop.wait(every):
            handler.wfile.write(document[i % len(document) : i % len(document) + 1])
            i += 1

    return lambda request: raw_reply(write)


def stall(before_headers: bytes = b"", body: bytes = b"", length: int | None = None) -> Any:
    """Send ``before_headers`` raw (or headers and the start of ``body``), then nothing."""

    def write(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        if body or length is not None:
            headers = {"Content-Type": "application/rss+xml"}
            if length is not None:
                headers["Content-Length"] = str(length)
            _head(handler, headers)
            handler.wfile.write(body)
        else:
            handler.wfile.write(before_headers)
        stop.wait(60)

    return lambda request: raw_reply(write)


def cut_off(body: bytes, length: int) -> Any:
    """Promise ``length`` bytes, send ``body``, hang up."""

    def write(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        _head(handler, {"Content-Type": "application/rss+xml", "Content-Length": str(length)})
        handler.wfile.write(body)

    return lambda request: raw_reply(write)


def endless(chunk: bytes, headers: Mapping[str, str] | None = None) -> Any:
    """A body without length that never ends: ``chunk`` as fast as the client reads."""

    def write(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        _head(handler, {"Content-Type": "application/rss+xml", **(headers or {})})
        while not stop.is_set():
            handler.wfile.write(chunk)

    return lambda request: raw_reply(write)


# -- running the CLI while measuring it --------------------------------------------------


@dataclass
class MemoryPeak:
    """Peak resident memory of a process tree, sampled from /proc."""

    sum_rss: int = 0  # the largest sum of VmRSS over the tree seen in one sample (bytes)
    hwm: dict[int, int] = field(default_factory=dict)  # each process's VmHWM (its own peak)
    samples: int = 0

    @property
    def sum_hwm(self) -> int:
        """Every process's own peak added up: an upper bound of the tree's true peak."""
        return sum(self.hwm.values())


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ')'.
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(root: int) -> list[int]:
    children = _children()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += children.get(pid, [])
    return pids


def _memory_kb(pid: int) -> tuple[int, int]:
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def sample_memory(root: int, stop: threading.Event, peak: MemoryPeak) -> None:
    while not stop.is_set():
        total = 0
        for pid in process_tree(root):
            rss, hwm = _memory_kb(pid)
            total += rss
            peak.hwm[pid] = max(peak.hwm.get(pid, 0), hwm * 1024)
        peak.sum_rss = max(peak.sum_rss, total * 1024)
        peak.samples += 1
        stop.wait(0.02)


def cli(ws: Workspace, *args: str) -> list[str]:
    return [sys.executable, "-m", "aggregator", "--config", str(ws.config_path), *args]


def cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}


def run_measured(
    ws: Workspace, *args: str, timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], MemoryPeak, float]:
    """The CLI in a subprocess, its tree's memory sampled every 20 ms: (result, peak, seconds).
    Untraced: the time and memory are the product's."""
    cwd = ws.root / "cwd"
    cwd.mkdir(exist_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        cli(ws, *args),
        cwd=cwd,
        env=untraced(cli_env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    peak, stop = MemoryPeak(), threading.Event()
    sampler = threading.Thread(target=sample_memory, args=(proc.pid, stop, peak), daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"aggregator {' '.join(args)} ran over {timeout}s:\n{err}") from None
    finally:
        stop.set()
        sampler.join()
    seconds = time.monotonic() - started
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), peak, seconds


# -- checks --------------------------------------------------------------------------------


def query(database: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(database, timeout=30)) as db:
        return list(db.execute(sql, params))


def integrity(database: Path) -> str:
    return ", ".join(str(r[0]) for r in query(database, "PRAGMA integrity_check"))


def check_post(name: str, text: str) -> dict[str, Any]:
    assert POST_NAME.match(name) and len(name.encode()) <= 120, name
    data = front_matter(text)
    assert list(data) == FRONT_MATTER_KEYS, (name, list(data))
    assert isinstance(data["title"], str), name
    assert isinstance(data["categories"], list), name
    assert all(isinstance(c, str) for c in data["categories"]), name
    assert isinstance(data["author"], str) and data["author"], name
    assert data["comments"] is False, name
    assert parsedate_to_datetime(data["date"]).tzinfo is not None, (name, data["date"])
    assert str(data["date"]).endswith(" GMT"), (name, data["date"])
    for key in ("headimg", "thumbnail"):
        assert str(data[key]).startswith(("http://", "https://")), (name, data[key])
    body = text[text.index("\n---\n", 4) + 5 :]
    head, tail = "\n<div>   \n", "  \n</div>\n" + " " * 12
    assert body.startswith(head) and body.endswith(tail), (name, body[:40], body[-40:])
    html = body[len(head) : -len(tail)]
    assert not re.search(r"^[ \t]*$", html, re.MULTILINE) or not html, f"{name}: a blank line"
    return data


def dangers(text: str) -> list[str]:
    return [m.group() for pattern in DANGER for m in [pattern.search(text)] if m]


def check_atom(path: Path) -> ET.Element:
    """The Atom document parses, and neither it nor any entry's unescaped HTML is dangerous."""
    text = path.read_text(encoding="utf-8")
    assert not dangers(text), dangers(text)
    root = ET.fromstring(text)
    for element in root.iter():
        for value in [element.text or "", *element.attrib.values()]:
            assert not dangers(value), (element.tag, dangers(value), value[:200])
    return root


def files_under(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            yield Path(dirpath) / name


def check_posts_in_sync(ws: Workspace) -> dict[str, str]:
    """Every article has its post file and every post file its article; no temp files."""
    names = {p.name for p in ws.posts_dir.iterdir()} if ws.posts_dir.exists() else set()
    temps = {n for n in names if n.startswith(TEMP_PREFIX)}
    assert not temps, f"temp files left behind: {sorted(temps)[:5]}"
    rows = query(ws.database, "SELECT post_path, id FROM articles")
    paths = [r[0] for r in rows]
    assert len(paths) == len(set(paths)), "two articles share a post file"
    missing = set(paths) - names
    assert not missing, f"articles without their post file: {sorted(missing)[:5]}"
    orphans = names - set(paths)
    assert not orphans, f"post files without an article: {sorted(orphans)[:5]}"
    return {r[0]: r[1] for r in rows}
