"""How often `source = "html"` without [feeds.select] finds what a person's selectors find.

``python -m bench.autodetect``: for each page in tests/fixtures/sources/selectors.toml, the
links autodetect reads against the links the person's selectors read; a page counts as found
when autodetect has every one of the person's links and at most a fifth more.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aggregator.errors import ParseError
from aggregator.steps.sources import parse_select, read_html_source

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sources"
NOW = datetime(2024, 1, 2, 4, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    page: str
    method: str  # how autodetect found its items, or the error
    manual: int  # links the person's selectors read
    auto: int  # links autodetect read
    common: int

    @property
    def recall(self) -> float:
        return self.common / self.manual if self.manual else 0.0

    @property
    def precision(self) -> float:
        return self.common / self.auto if self.auto else 0.0

    @property
    def found(self) -> bool:
        return self.common == self.manual and self.auto <= self.manual * 1.2


def measure(fixtures: Path = FIXTURES) -> list[Row]:
    table = tomllib.loads((fixtures / "selectors.toml").read_text())
    return [_row(fixtures, name, spec["url"], spec["select"]) for name, spec in table.items()]


def _row(fixtures: Path, name: str, url: str, select: dict[str, object]) -> Row:
    body = (fixtures / f"{name}.html").read_bytes()
    manual = _links(read_html_source(body, url, "text/html", parse_select("html", select), NOW))
    try:
        page = read_html_source(body, url, "text/html", None, NOW)
    except ParseError as e:
        return Row(name, f"none ({e.message[:40]}...)", len(manual), 0, 0)
    auto = _links(page)
    return Row(name, page.detected or "?", len(manual), len(auto), len(manual & auto))


def _links(page: object) -> set[str]:
    entries = page.feed.entries  # type: ignore[attr-defined]
    return {e.link for e in entries if e.link}


def main() -> None:
    rows = measure()
    print(f"{'page':16} {'found by':14} {'person':>6} {'auto':>5} {'recall':>7} {'precision':>9}")
    for r in rows:
        print(
            f"{r.page:16} {r.method[:14]:14} {r.manual:6} {r.auto:5} "
            f"{r.recall:7.0%} {r.precision:9.0%}"
        )
    found = sum(r.found for r in rows)
    print(f"found what the person's selectors find on {found} of {len(rows)} pages")


if __name__ == "__main__":
    main()
