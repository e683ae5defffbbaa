"""The ground-truth pages: ``<name>/source.html`` with ``<name>/expected.html``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aggregator.steps.extract.html import visible_text

from .score import is_cjk


@dataclass(frozen=True, slots=True)
class Page:
    name: str
    source: bytes  # as served
    html: str  # the source as text (the fixtures are UTF-8 whatever their <meta> says)
    expected_html: str
    expected_text: str
    title: str
    cjk: bool


def load_pages(folder: Path) -> list[Page]:
    """Every subfolder with a source.html and an expected.html, by name."""
    pages = []
    for source in sorted(folder.glob("*/source.html")):
        expected = source.with_name("expected.html")
        if not expected.is_file():
            continue
        raw = source.read_bytes()
        expected_html = expected.read_text(encoding="utf-8", errors="replace")
        text = visible_text(expected_html)
        name = source.parent.name
        pages.append(
            Page(
                name=name,
                source=raw,
                html=raw.decode("utf-8", errors="replace"),
                expected_html=expected_html,
                expected_text=text,
                title=_title(source.with_name("expected-metadata.json")) or name,
                cjk=is_cjk(text),
            )
        )
    return pages


def _title(metadata: Path) -> str | None:
    try:
        title = json.loads(metadata.read_text(encoding="utf-8")).get("title")
    except (OSError, ValueError, AttributeError):
        return None
    return title if isinstance(title, str) and title.strip() else None
