"""The posts of a real fetch, built by a real Hexo 8.1.2 site (hexo/): every post becomes a page
that shows its title, date instant, category hierarchy, body text, links and images."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from posts import front_matter
from selectolax.lexbor import LexborHTMLParser, LexborNode
from server import Workspace, running_server

from .conftest import (
    FIXTURES,
    SEED_PLACEHOLDER,
    Published,
    Site,
    Stored,
    build_site,
    make_site,
    site_of,
    stored_articles,
    zaker_feed,
)
from .corpus import HOSTILE_FEEDS, SECTION
from .tools import node_or_skip, skip_loudly

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stored(published: Published) -> dict[str, Stored]:
    return stored_articles(published.ws)


@pytest.fixture(scope="module")
def pages(site: Site) -> dict[str, LexborHTMLParser]:
    """Each post's generated page by the post's file name (Hexo's slug + ``.md``)."""
    found: dict[str, LexborHTMLParser] = {}
    for path in site.public.glob("[0-9]*/*/*/*/index.html"):  # :year/:month/:day/:title/
        tree = LexborHTMLParser(path.read_text(encoding="utf-8"))
        article = tree.css_first("article.article-type-post")
        assert article is not None, path
        slug = str(article.attributes["id"]).removeprefix("post-")
        found[slug + ".md"] = tree
    return found


def words(text: str) -> str:
    return " ".join(text.split())


def article_text(html: str) -> str:
    node = LexborHTMLParser(f"<div>{html}</div>").css_first("div")
    assert node is not None
    return words(node.text(deep=True))


def urls(node: LexborNode | LexborHTMLParser) -> set[str]:
    found = {str(a.attributes["href"]) for a in node.css("a[href]")}
    return found | {str(i.attributes["src"]) for i in node.css("img[src]")}


def post_title(title: str) -> str:
    """The contract: the post shows the stored title with ASCII quotes as ``_``."""
    return title.replace('"', "_").replace("'", "_")


def test_every_post_becomes_a_page(
    published: Published, stored: dict[str, Stored], pages: dict[str, LexborHTMLParser]
) -> None:
    assert (
        sorted(pages)
        == sorted(published.ws.posts())
        == sorted(s.post_name for s in stored.values())
    )


def test_each_page_shows_title_date_categories_body_links_and_images(
    published: Published, site: Site, stored: dict[str, Stored], pages: dict[str, LexborHTMLParser]
) -> None:
    posts = published.ws.posts()
    for article in stored.values():
        page = pages[article.post_name]
        where = f"{article.post_name} ({article.title!r})"
        # Title: what the front matter says, unchanged by YAML or the theme.
        heading = page.css_first("article h1.article-title")
        assert heading is not None, where
        assert heading.text(deep=True).strip() == post_title(article.title), where
        # Date: the same instant as the post's RFC 1123 GMT date.
        values = front_matter(posts[article.post_name])
        time = page.css_first("article time.dt-published")
        assert time is not None, where
        shown = datetime.fromisoformat(str(time.attributes["datetime"]).replace("Z", "+00:00"))
        assert shown == parsedate_to_datetime(values["date"]), where
        # Categories: the feed's list as a hierarchy, each level a generated page below the last.
        links = page.css("article .article-category-link")
        assert [link.text(deep=True).strip() for link in links] == list(article.categories), where
        hrefs = [str(link.attributes["href"]) for link in links]
        for parent, child, name in zip(hrefs, hrefs[1:], article.categories[1:], strict=False):
            # Hexo's slug of a name without letters or digits (`---`) is empty: that level
            # shares its parent's page (docs/hexo.md).
            assert child.startswith(parent), (where, hrefs)
            assert child != parent or not any(c.isalnum() for c in name), (where, hrefs)
        for href in hrefs:
            assert (site.public / unquote(href).lstrip("/") / "index.html").is_file(), href
        # Body: the stored article's text and every link and image, nothing executable.
        body = page.css_first("article .article-entry")
        assert body is not None, where
        assert words(body.text(deep=True)) == article_text(article.content), where
        assert urls(LexborHTMLParser(article.content)) <= urls(body), where
        assert not body.css("script"), where


def test_hexo_reads_author_images_and_the_category_tree(
    published: Published, site: Site, stored: dict[str, Stored]
) -> None:
    posts = published.ws.posts()
    models: Any = site.db["models"]
    categories = {c["_id"]: c for c in models["Category"]}
    by_post: dict[str, list[str]] = {}
    for link in models["PostCategory"]:
        by_post.setdefault(link["post_id"], []).append(link["category_id"])
    hexo_posts = {Path(p["source"]).name: p for p in models["Post"]}
    for article in stored.values():
        post = hexo_posts[article.post_name]
        values = front_matter(posts[article.post_name])
        assert post["author"] == article.author, article.post_name
        assert post["headimg"] == post["thumbnail"] == values["headimg"], article.post_name
        # Hexo stores the list as a chain: each category the parent of the next.
        chain = [categories[i] for i in by_post.get(post["_id"], [])]
        names = [c["name"] for c in chain]
        assert sorted(names) == sorted(article.categories), article.post_name
        ordered = sorted(chain, key=lambda c: _depth(c, categories))
        assert [c["name"] for c in ordered] == list(article.categories), article.post_name


def _depth(category: dict[str, Any], categories: dict[str, dict[str, Any]]) -> int:
    depth = 0
    while "parent" in category:
        category = categories[category["parent"]]
        depth += 1
    return depth


def test_hostile_titles_dates_and_bodies_reach_the_page_literally(
    stored: dict[str, Stored], pages: dict[str, LexborHTMLParser]
) -> None:
    by_title = {a.title: a for a in stored.values()}
    for feed in HOSTILE_FEEDS:
        for entry in feed.entries:
            article = next(
                (a for a in stored.values() if post_title(a.title) == entry.expect_title), None
            )
            assert article is not None, (entry.expect_title, sorted(by_title))
            assert article.categories == feed.categories
            assert article.author == feed.author
            page = pages[article.post_name]
            heading = page.css_first("article h1.article-title")
            assert heading is not None
            assert heading.text(deep=True).strip() == entry.expect_title
            if entry.expect_date is not None:
                time = page.css_first("article time.dt-published")
                assert time is not None
                assert str(time.attributes["datetime"]) == _iso(entry.expect_date)
            body = page.css_first("article .article-entry")
            assert body is not None
            text = words(body.text(deep=True))
            for fragment in entry.expect_text:
                assert words(fragment) in text, (entry.guid, fragment, text)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_the_seed_post_builds_as_the_seed_shows_it(
    published: Published, pages: dict[str, LexborHTMLParser]
) -> None:
    seed = (FIXTURES / "seed-post.md").read_bytes()
    [name] = [n for n, data in published.ws.posts().items() if data == seed]
    page = pages[name]
    heading = page.css_first("article h1.article-title")
    assert heading is not None
    assert heading.text(deep=True).strip() == front_matter(seed)["title"]
    time = page.css_first("article time.dt-published")
    assert time is not None and time.attributes["datetime"] == "2021-05-26T01:32:46.000Z"
    links = page.css("article .article-category-link")
    assert [link.text(deep=True).strip() for link in links] == [*SECTION, "source"]
    assert str(links[-1].attributes["href"]) == f"/categories/{quote('新媒体')}/ZAKER/source/"


def test_a_site_timezone_other_than_the_machines_shifts_gmt_dates(
    tmp_path: Path, published: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What docs/hexo.md warns about: Hexo reads the GMT date exactly, then moves it by the
    difference between the machine's zone and the site's `timezone:`."""
    seed = (FIXTURES / "seed-post.md").read_bytes()
    monkeypatch.setenv("TZ", "UTC")
    shifted = build_site(tmp_path / "shanghai", {"seed.md": seed}, timezone="Asia/Shanghai")
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    same = build_site(tmp_path / "same", {"seed.md": seed}, timezone="Asia/Shanghai")
    assert _dates(shifted) == ["2021-05-25T17:32:46.000Z"]  # 8 hours early
    assert _dates(same) == ["2021-05-26T01:32:46.000Z"]


def _dates(site: Site) -> list[str]:
    return [
        m[1]
        for path in site.public.glob("[0-9]*/*/*/*/index.html")
        for m in re.finditer(r'class="dt-published" datetime="([^"]+)"', path.read_text("utf-8"))
    ]


def test_on_change_runs_hexo_generate_in_the_site(tmp_path: Path) -> None:
    """docs/hexo.md's setup: posts_dir = <site>/source/_posts, on_change = npx hexo generate."""
    node_or_skip()
    npx = shutil.which("npx")
    if npx is None:
        skip_loudly("npx is not installed (it comes with npm)")
    root = tmp_path / "site"
    posts_dir = make_site(root, {})
    ws = Workspace(tmp_path)
    with running_server() as server:
        ws.write_config(
            [zaker_feed(server)],
            output={
                "posts_dir": str(posts_dir),
                "placeholder_image": SEED_PLACEHOLDER,
                "on_change": [npx, "hexo", "generate"],
                "on_change_cwd": str(root),
                "on_change_timeout": "100s",
            },
        )
        run = ws.run("--log-level", "info", "fetch", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert f"on_change {npx} exited 0" in run.stderr, run.stderr
    [post] = site_of(root).db["models"]["Post"]  # type: ignore[index]
    assert post["title"] == front_matter((FIXTURES / "seed-post.md").read_bytes())["title"]
    assert [p.name for p in (root / "public" / "2021" / "05" / "26").iterdir()] == [
        Path(post["source"]).stem
    ]
