"""``python -m bench.extract [--pages DIR] [--out docs/extract-bench.json] [--no-pipeline]``"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from aggregator.steps.extract.html import visible_text
from aggregator.steps.extract.shape import too_complex

from .measure import SystemResult, run_system, score_stored
from .pages import Page, load_pages
from .pipeline import run_pipeline, summary_of
from .report import markdown, write_json
from .systems import OURS, PEERS, PIPELINE, ours

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PAGES = ROOT.parent / "shared" / "fixtures" / "article-pages"
DIRECT_BASE = "http://127.0.0.1"  # links are made absolute against it; no request is made


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.pages.is_dir():
        print(f"bench.extract: no pages folder at {args.pages} (use --pages DIR)", file=sys.stderr)
        return 2
    pages = load_pages(args.pages)
    if not pages:
        print(
            f"bench.extract: no <name>/source.html + expected.html in {args.pages}", file=sys.stderr
        )
        return 2
    print(
        f"{len(pages)} pages ({sum(p.cjk for p in pages)} CJK) from {args.pages}", file=sys.stderr
    )
    results = [run_system(name, system, pages, DIRECT_BASE) for name, system in PEERS.items()]
    results.append(run_system(OURS, ours, pages, DIRECT_BASE))
    if refused := [p.name for p in pages if too_complex(p.html)]:
        results[-1].notes.append(f"refused by extract/shape.py `too_complex`: {', '.join(refused)}")
    if args.pipeline:
        results.append(_pipeline(pages))
    print(markdown(results))
    about = {
        "pages": len(pages),
        "cjk_pages": [p.name for p in pages if p.cjk],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    write_json(args.out, results, about)
    print(f"\nper-page scores: {args.out}", file=sys.stderr)
    return 0


def _pipeline(pages: Sequence[Page]) -> SystemResult:
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        base, run = run_pipeline(pages, Path(tmp))
    result = score_stored(PIPELINE, pages, run.stored, base, run.seconds)
    if run.returncode != 0:
        result.notes.append(f"`aggregator fetch` exited {run.returncode}: {run.stderr_tail}")
    summaries = [
        p.name
        for p in pages
        if visible_text(run.stored.get(f"{base}/pages/{p.name}.html", "")).strip() == summary_of(p)
    ]
    if summaries:
        result.notes.append(
            f"stored the feed's one-sentence summary (no full text): {', '.join(summaries)}"
        )
    result.notes.append(
        "s/page: the whole `aggregator fetch` wall time (feed, HTTP, "
        "extraction in worker processes, SQLite, posts) over the pages"
    )
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.extract", description=__doc__)
    parser.add_argument(
        "--pages",
        type=Path,
        default=DEFAULT_PAGES,
        help="folder of <name>/source.html + expected.html",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs" / "extract-bench.json",
        help="JSON with every page's scores",
    )
    parser.add_argument(
        "--no-pipeline",
        dest="pipeline",
        action="store_false",
        help="skip the `aggregator fetch` run over a loopback server",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
