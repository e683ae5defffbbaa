"""One real ``aggregator fetch`` over 127.0.0.1 (the fixture feeds, ZAKER's channel that makes
the seed post, and the hostile feeds) shared by every downstream test, and the Hexo site built
from its posts."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from server import (
    FeedResource,
    LoopbackServer,
    Workspace,
    running_server,
    serve_fixture_feeds,
)

from .corpus import SECTION, serve_hostile_feeds
from .tools import HEXO_DIR, hexo_modules, node_or_skip

FIXTURES = Path(__file__).parents[1] / "fixtures"
SEED_PLACEHOLDER = "https://picsum.photos/400/300?random=5863"
HEXO_TIMEOUT = 120  # seconds: a generate of these posts takes about 3
ATOM_URL = "https://news.example.org/atom.xml"
JSON_FEED_URL = "https://news.example.org/feed.json"


@dataclass(frozen=True)
class Published:
    ws: Workspace
    json_feed: Path


@dataclass(frozen=True)
class Site:
    root: Path  # the Hexo site: _config.yml, source/_posts, public/
    db: dict[str, object]  # Hexo's own record of what it read (db.json)

    @property
    def public(self) -> Path:
        return self.root / "public"


def zaker_feed(server: LoopbackServer) -> dict[str, object]:
    """ZAKER's channel, configured as the seed's: its one post is the seed post."""
    server.routes["/zaker.xml"] = FeedResource((FIXTURES / "zaker-channel.xml").read_bytes())
    return {"name": "ZAKER", "url": server.url("/zaker.xml"), "categories": [*SECTION, "source"]}


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    root = tmp_path_factory.mktemp("published")
    ws = Workspace(root)
    json_feed = root / "data" / "feed.json"
    with running_server() as server:
        feeds = [*serve_fixture_feeds(server), zaker_feed(server), *serve_hostile_feeds(server)]
        ws.write_config(
            feeds,
            output={
                "placeholder_image": SEED_PLACEHOLDER,
                "json_feed_path": str(json_feed),
                # The documents' own addresses: jing and the JSON Feed rules check them too.
                "atom_url": ATOM_URL,
                "json_feed_url": JSON_FEED_URL,
            },
        )
        run = ws.fetch()
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    yield Published(ws, json_feed)


def make_site(root: Path, posts: dict[str, bytes], *, timezone: str | None = None) -> Path:
    """A new Hexo site in ``root`` (the pinned one, its node_modules from the cache) holding
    ``posts`` in source/_posts; returns that folder."""
    modules = hexo_modules()
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HEXO_DIR / "package.json", root / "package.json")
    config = (HEXO_DIR / "_config.yml").read_text(encoding="utf-8")
    if timezone is not None:
        config += f"timezone: {timezone}\n"
    (root / "_config.yml").write_text(config, encoding="utf-8")
    (root / "node_modules").symlink_to(modules, target_is_directory=True)
    posts_dir = root / "source" / "_posts"
    posts_dir.mkdir(parents=True)
    for name, data in posts.items():
        (posts_dir / name).write_bytes(data)
    return posts_dir


def generate(root: Path) -> Site:
    """``hexo generate`` in the site ``root``: it must succeed without a warning."""
    run = subprocess.run(
        [node_or_skip(), str(root / "node_modules" / "hexo" / "bin" / "hexo"), "generate"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=HEXO_TIMEOUT,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    # Hexo logs a post it cannot read as a warning and carries on: that is a failure here.
    assert "WARN" not in output and "ERROR" not in output, output
    return site_of(root)


def site_of(root: Path) -> Site:
    return Site(root, json.loads((root / "db.json").read_text(encoding="utf-8")))


def build_site(root: Path, posts: dict[str, bytes], *, timezone: str | None = None) -> Site:
    node_or_skip()
    make_site(root, posts, timezone=timezone)
    return generate(root)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, published: Published) -> Site:
    posts = published.ws.posts()
    assert len(posts) > 20
    return build_site(tmp_path_factory.mktemp("hexo") / "site", posts)


@dataclass(frozen=True)
class Stored:
    """One article as the database holds it: what every rendering must carry."""

    id: str
    post_name: str
    title: str
    content: str
    link: str | None
    feed_name: str
    feed_url: str
    categories: tuple[str, ...]
    author: str


def stored_articles(ws: Workspace) -> dict[str, Stored]:
    rows = ws.query(
        "SELECT a.id, a.post_path, a.title, a.content, a.link, f.name, f.url, f.categories,"
        " f.author FROM articles a JOIN feeds f ON f.id = a.feed_id"
    )
    return {
        r[0]: Stored(
            r[0], Path(r[1]).name, r[2], r[3], r[4], r[5], r[6], tuple(json.loads(r[7])), r[8]
        )
        for r in rows
    }
