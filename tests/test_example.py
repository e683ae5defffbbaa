"""The bundled offline example (example/), run as the README's first command runs it: from the
checkout's root, ``aggregator --config example/config.toml fetch``. It must show posts, the
duplicates recognised, the Atom document and the JSON Feed, say where they are, and touch no
network: every process of the run has an audit hook that refuses Internet sockets."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest
from downstream.jsonfeed11 import json_feed_problems
from server import CLI_TIMEOUT

from aggregator.cli.fetching import shown_path
from aggregator.config import load_config

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[1] / "example"
# A saved channel page keeps its list as data: `window.WinPageData = {...};` (JSON here).
PAGE_DATA = re.compile(r"window\.WinPageData\s*=\s*(\{.*?\});</script>", re.DOTALL)
ATOM = "{http://www.w3.org/2005/Atom}"
REFUSED = "network use refused"
# Imported by every Python process of the run (the parser workers too) through PYTHONPATH:
# a DNS lookup or a TCP/UDP connection fails loudly instead of reaching the network.
OFFLINE_GUARD = f"""
import socket, sys

def _refuse(event, args):
    if event == "socket.getaddrinfo" or (
        event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6)
    ):
        print(f"{REFUSED}: {{event}} {{args[1:]!r}}", file=sys.stderr, flush=True)
        raise PermissionError(f"{REFUSED}: {{event}}")

sys.addaudithook(_refuse)
"""


@dataclass(frozen=True)
class Story:
    feed: str  # the example's feed file
    title: str


@dataclass(frozen=True)
class Runs:
    root: Path  # holds example/, the folder the commands ran in
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    before: Mapping[str, tuple[int, int]]  # (inode, mtime_ns) of every output after each run
    after: Mapping[str, tuple[int, int]]

    @property
    def data(self) -> Path:
        return self.root / "example" / "data"

    def posts(self) -> list[Path]:
        return sorted((self.data / "posts").iterdir())


def source_stories() -> list[Story]:
    """Every entry of the example's feed files, read here with feedparser and json, not with
    aggregator: what the example promises, independently of the code under test."""
    stories = []
    for path in sorted((EXAMPLE / "pages").iterdir()):
        found = PAGE_DATA.search(path.read_text(encoding="utf-8"))
        assert found, path
        items = json.loads(found.group(1))["data"]["article"]
        # An advert slot has neither title nor link: skipped, as the page's own script does.
        stories += [Story(path.name, item["title"]) for item in items if item["title"]]
    for path in sorted((EXAMPLE / "feeds").iterdir()):
        if path.suffix == ".json":
            items = json.loads(path.read_text(encoding="utf-8"))["items"]
            stories += [Story(path.name, item["title"]) for item in items]
        else:
            doc = feedparser.parse(path.read_bytes())
            assert not doc.bozo, (path, doc.get("bozo_exception"))
            stories += [Story(path.name, e.title) for e in doc.entries]
    return stories


def run_example(
    root: Path, guard: Path, config: str = "example/config.toml"
) -> subprocess.CompletedProcess[str]:
    """``aggregator --config example/config.toml fetch`` from ``root``, as a new user runs it."""
    outside = ("AGGREGATOR_CONFIG", "AGGREGATOR_DATABASE_URL", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env["PYTHONPATH"] = os.pathsep.join([str(guard), *filter(None, [os.getenv("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", config, "fetch", "--no-progress"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=CLI_TIMEOUT,
        check=False,
    )


def stamps(data: Path) -> dict[str, tuple[int, int]]:
    files = [*(data / "posts").iterdir(), data / "atom.xml", data / "feed.json"]
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files}


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("offline-guard")
    (folder / "sitecustomize.py").write_text(OFFLINE_GUARD, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, guard: Path) -> Runs:
    root = tmp_path_factory.mktemp("checkout")
    # What a fresh clone has: a data/ folder left by running the example here is not copied.
    shutil.copytree(EXAMPLE, root / "example", ignore=shutil.ignore_patterns("data"))
    first = run_example(root, guard)
    assert first.returncode == 0, first.stderr
    before = stamps(root / "example" / "data")
    second = run_example(root, guard)
    return Runs(root, first, second, before, stamps(root / "example" / "data"))


def summary_of(run: subprocess.CompletedProcess[str]) -> re.Match[str]:
    found = re.search(
        r"^feeds: (\d+) ok, (\d+) failed, (\d+) not modified; "
        r"articles: (\d+) new, (\d+) updated, (\d+) duplicate",
        run.stderr,
        re.MULTILINE,
    )
    assert found, run.stderr
    return found


def test_the_example_reads_local_files_of_five_kinds() -> None:
    config = load_config(EXAMPLE / "config.toml")
    assert len(config.feeds) >= 5
    assert all(f.url.startswith("file:") for f in config.feeds), [f.url for f in config.feeds]
    assert not any(f.full_text for f in config.feeds), "article pages would be fetched"
    assert config.output.json_feed_path is not None
    kinds = {
        "json" if p.suffix == ".json" else feedparser.parse(p.read_bytes()).version
        for p in (EXAMPLE / "feeds").iterdir()
    }
    assert kinds == {"rss20", "atom10", "json"}
    pages = [f for f in config.feeds if f.source == "html"]
    assert [p.select.script if p.select else None for p in pages] == ["window.WinPageData"]
    stories = source_stories()
    assert all(3 <= n <= 6 for n in _per_feed(stories).values()), _per_feed(stories)
    assert len(stories) - len({s.title for s in stories}) >= 2, "a few stories come twice"
    on_page = {s.title for s in stories if s.feed.endswith(".html")}
    assert any(s.title in on_page for s in stories if not s.feed.endswith(".html")), (
        "a story of the page also comes through a feed"
    )


def test_first_run_stores_each_story_once_and_counts_the_duplicates(runs: Runs) -> None:
    stories = source_stories()
    distinct = {s.title for s in stories}
    assert REFUSED not in runs.first.stderr
    assert "Traceback" not in runs.first.stderr, runs.first.stderr
    ok, failed, _, new, updated, duplicate = map(int, summary_of(runs.first).groups())
    assert (ok, failed) == (len(_per_feed(stories)), 0)
    assert (new, updated, duplicate) == (len(distinct), 0, len(stories) - len(distinct))
    assert len(runs.posts()) == len(distinct)


def test_first_run_says_where_to_look(runs: Runs) -> None:
    lines = runs.first.stderr.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("feeds: "))
    new = len({s.title for s in source_stories()})
    assert lines[summary + 1 :] == [
        f"posts: example/data/posts ({new} new)",
        "atom: example/data/atom.xml",
        "json feed: example/data/feed.json",
    ]
    for shown in ("example/data/posts", "example/data/atom.xml", "example/data/feed.json"):
        assert (runs.root / shown).exists(), shown


def test_atom_and_json_feed_list_every_post(runs: Runs) -> None:
    # A post's name ends in the first 8 hex digits of its article id: the Atom entry's uuid.
    posts = {p.stem.rsplit("-", 1)[1] for p in runs.posts()}
    root = ET.parse(runs.data / "atom.xml").getroot()
    entries = root.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") or "" for e in entries]
    assert {i.removeprefix("urn:uuid:").replace("-", "")[:8] for i in ids} == posts
    assert len(ids) == len(posts)
    assert {e.findtext(f"{ATOM}title") for e in entries} == {s.title for s in source_stories()}
    assert not feedparser.parse((runs.data / "atom.xml").read_bytes()).bozo

    text = (runs.data / "feed.json").read_text(encoding="utf-8")
    assert json_feed_problems(text) == []
    assert [item["id"] for item in json.loads(text)["items"]] == ids


def test_second_run_fetches_nothing_new_and_writes_nothing(runs: Runs) -> None:
    assert runs.second.returncode == 0, runs.second.stderr
    assert REFUSED not in runs.second.stderr
    _, failed, not_modified, new, updated, duplicate = map(int, summary_of(runs.second).groups())
    assert (failed, new, updated, duplicate) == (0, 0, 0, 0)
    assert not_modified == len(_per_feed(source_stories()))
    assert "posts: example/data/posts (0 new)" in runs.second.stderr.splitlines()
    assert runs.after == runs.before


def test_the_offline_guard_refuses_a_feed_on_the_network(tmp_path: Path, guard: Path) -> None:
    # The guard above is not vacuous: a feed on the network fails the run, saying why.
    (tmp_path / "config.toml").write_text(
        '[fetch]\nretries = 0\n[[feeds]]\nname = "Web"\nurl = "https://feeds.example.com/rss"\n',
        encoding="utf-8",
    )
    run = run_example(tmp_path, guard, config="config.toml")
    assert run.returncode == 1, run.stderr
    assert f"{REFUSED}: socket.getaddrinfo" in run.stderr


@pytest.mark.parametrize(
    ("path", "cwd", "shown"),
    [
        ("/srv/checkout/example/data/posts", "/srv/checkout", "example/data/posts"),
        ("/srv/checkout/example/../data/atom.xml", "/srv/checkout", "data/atom.xml"),
        ("/srv/blog/source/_posts", "/srv/checkout", "/srv/blog/source/_posts"),
        ("/srv/checkout2/atom.xml", "/srv/checkout", "/srv/checkout2/atom.xml"),
        ("/srv/checkout", "/srv/checkout", "."),
    ],
)
def test_output_paths_are_shown_relative_to_the_current_folder_inside_it(
    path: str, cwd: str, shown: str
) -> None:
    assert shown_path(Path(path), Path(cwd)) == shown


def _per_feed(stories: list[Story]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in stories:
        counts[s.feed] = counts.get(s.feed, 0) + 1
    return counts
