"""Run the systems over the pages and keep per-page scores."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean

from aggregator.steps.extract.html import visible_text

from .pages import Page
from .score import images_found, score
from .systems import Extracted, System

LOW = 0.5  # F1 under this is listed by page


@dataclass(frozen=True, slots=True)
class PageResult:
    page: str
    cjk: bool
    precision: float
    recall: float
    f1: float
    seconds: float
    images: tuple[int, int] | None  # (expected images found, expected images); None: no markup


@dataclass(frozen=True, slots=True)
class SystemResult:
    system: str
    pages: list[PageResult]
    seconds_per_page: float
    notes: list[str] = field(default_factory=list)

    def mean(self, metric: str, cjk_only: bool = False) -> float | None:
        values = [getattr(p, metric) for p in self.pages if p.cjk or not cjk_only]
        return fmean(values) if values else None

    @property
    def low(self) -> list[str]:
        return [p.page for p in self.pages if p.f1 < LOW]

    @property
    def images_kept(self) -> float | None:
        counted = [p.images for p in self.pages if p.images is not None]
        expected = sum(want for _, want in counted)
        return sum(got for got, _ in counted) / expected if counted and expected else None


def page_result(page: Page, extracted: Extracted, seconds: float) -> PageResult:
    s = score(extracted.text, page.expected_text)
    images = None
    if extracted.html is not None:
        images = images_found(extracted.html, page.expected_html)
    return PageResult(page.name, page.cjk, s.precision, s.recall, s.f1, seconds, images)


def run_system(name: str, system: System, pages: Sequence[Page], base: str) -> SystemResult:
    system("<html><body><p>warm up</p></body></html>", f"{base}/")  # lazy loads, not pages
    results = []
    for page in pages:
        started = time.perf_counter()
        extracted = system(page.html, f"{base}/pages/{page.name}.html")
        results.append(page_result(page, extracted, time.perf_counter() - started))
    return SystemResult(name, results, fmean(r.seconds for r in results) if results else 0.0)


def score_stored(
    name: str, pages: Sequence[Page], stored: Mapping[str, str], base: str, seconds: float
) -> SystemResult:
    """Scores what the pipeline stored, by link; a page it did not store scores zero."""
    results, missing = [], []
    for page in pages:
        content = stored.get(f"{base}/pages/{page.name}.html")
        if content is None:
            missing.append(page.name)
        html = content or ""
        results.append(page_result(page, Extracted(visible_text(html), html), 0.0))
    per_page = seconds / len(pages) if pages else 0.0
    notes = [f"not stored: {', '.join(missing)}"] if missing else []
    return SystemResult(name, results, per_page, notes)
