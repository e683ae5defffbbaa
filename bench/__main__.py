"""Benchmarks side by side: ``python -m bench [--feeds 2000] [--scaling 500,2000,8000]``.

Serves a generated corpus from nginx on 127.0.0.1 (a Python server if nginx is missing, said
in the report) and runs, each in a fresh data folder: aggregator fetch and reader
update_feeds over pass 1 (all new), pass 2 (nothing changed) and pass 3 (generation 2), plus
the floors (feedparser on 2 processes over the same bytes from disk; an httpx fetch-only
pass). Writes docs/benchmarks.md and docs/benchmarks.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .corpus import ITEMS, generate
from .measure import Measurement, measure
from .server import CorpusServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONCURRENCY = 32


@dataclass
class Row:
    system: str
    run: str
    feeds: int
    articles: int
    m: Measurement

    @property
    def feeds_per_s(self) -> float:
        return self.feeds / self.m.wall if self.m.wall else 0.0

    @property
    def articles_per_s(self) -> float:
        return self.articles / self.m.wall if self.m.wall else 0.0


def new_articles(run: str, n_articles: int) -> int:
    """Articles new in a run: all in pass 1, none in pass 2, 3 per changed feed in pass 3."""
    return {"pass 1": n_articles, "pass 2": 0}.get(run, round(n_articles / ITEMS / 5) * 3)


def aggregator_config(folder: Path, urls: list[str], extra: str = "") -> Path:
    """A config for the bench's feeds; ``extra`` is TOML appended before the feeds (e.g. a
    ``[dedupe]`` table)."""
    feeds = "\n".join(
        f'[[feeds]]\nname = "feed-{i}"\nurl = "{u}"\ncategories = ["bench"]\n'
        for i, u in enumerate(urls)
    )
    config = folder / "config.toml"
    # One host serves the whole corpus, so per_host = concurrency (real feeds spread over hosts).
    config.write_text(
        f'[storage]\ndatabase = "db.sqlite3"\n[output]\nposts_dir = "posts"\n'
        f'atom_path = "atom.xml"\n[fetch]\nconcurrency = {CONCURRENCY}\n'
        f"per_host = {CONCURRENCY}\n{extra}\n{feeds}",
        encoding="utf-8",
    )
    return config


def run_aggregator(
    work: Path, urls: list[str], server: CorpusServer, label: str, n_articles: int
) -> list[Row]:
    folder = work / f"aggregator-{label}"
    folder.mkdir()
    config = aggregator_config(folder, urls)
    cmd = [sys.executable, "-m", "aggregator", "--config", str(config), "fetch", "--no-progress"]
    rows = []
    for run, gen in (("pass 1", 1), ("pass 2", 1), ("pass 3", 2)):
        server.serve(gen)
        m = measure(cmd, ok_codes=(0,))
        rows.append(Row("aggregator", run, len(urls), new_articles(run, n_articles), m))
    return rows


def run_reader(
    work: Path, urls: list[str], server: CorpusServer, workers: int, n_articles: int
) -> list[Row]:
    folder = work / f"reader-{workers}"
    folder.mkdir()
    urls_file = folder / "urls.txt"
    urls_file.write_text("\n".join(urls), encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "bench.systems.reader_update",
        str(folder / "db.sqlite"),
        str(urls_file),
        str(workers),
    ]
    rows = []
    for run, gen in (("pass 1", 1), ("pass 2", 1), ("pass 3", 2)):
        server.serve(gen)
        m = measure(cmd, cwd=ROOT)
        rows.append(
            Row(f"reader (workers={workers})", run, len(urls), new_articles(run, n_articles), m)
        )
    return rows


def best_reader_workers(work: Path, urls: list[str], server: CorpusServer) -> int:
    """reader's best worker count, picked on a 200-feed sample (pass 1 feeds/s)."""
    sample = urls[:200]
    best, best_wall = 1, float("inf")
    for workers in (1, 4, 16):
        folder = work / f"reader-probe-{workers}"
        folder.mkdir()
        urls_file = folder / "urls.txt"
        urls_file.write_text("\n".join(sample), encoding="utf-8")
        server.serve(1)
        m = measure(
            [
                sys.executable,
                "-m",
                "bench.systems.reader_update",
                str(folder / "db.sqlite"),
                str(urls_file),
                str(workers),
            ],
            cwd=ROOT,
        )
        if m.wall < best_wall:
            best, best_wall = workers, m.wall
    return best


def floors(corpus: Path, urls: list[str], server: CorpusServer, n_articles: int) -> list[Row]:
    rows = []
    for gen in (1, 2):
        server.serve(gen)
        m = measure(
            [sys.executable, "-m", "bench.systems.floor_feedparser", str(corpus / f"gen{gen}")],
            cwd=ROOT,
        )
        rows.append(Row("floor: feedparser, 2 processes", f"gen {gen}", len(urls), n_articles, m))
    urls_file = corpus / "urls.txt"
    urls_file.write_text("\n".join(urls), encoding="utf-8")
    server.serve(1)
    m = measure(
        [sys.executable, "-m", "bench.systems.floor_httpx", str(urls_file), str(CONCURRENCY)],
        cwd=ROOT,
    )
    rows.append(Row("floor: httpx fetch only", "gen 1", len(urls), 0, m))
    return rows


def scaling(work: Path, sizes: list[int]) -> list[Row]:
    rows = []
    for n in sizes:
        corpus = work / f"corpus-{n}"
        corpus.mkdir(mode=0o755)
        info = generate(corpus, n)
        with CorpusServer(corpus) as server:
            urls = server.urls(n)
            rows += run_aggregator(work, urls, server, f"scale-{n}", info["articles"])[:2]
        shutil.rmtree(corpus)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument(
        "--scaling",
        default="500,2000,8000",
        help="comma-separated N for the scaling run ('' to skip)",
    )
    parser.add_argument(
        "--reader-workers",
        type=int,
        default=0,
        help="reader's worker count (0: pick the best on a sample)",
    )
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aggregator-bench-"))
    work.chmod(0o755)  # nginx workers run as an unprivileged user and must read the corpus
    try:
        corpus = work / "corpus"
        t = time.monotonic()
        info = generate(corpus, args.feeds)
        print(f"corpus: {info} in {time.monotonic() - t:.0f}s", file=sys.stderr)
        with CorpusServer(corpus) as server:
            urls = server.urls(args.feeds)
            workers = args.reader_workers or best_reader_workers(work, urls, server)
            rows = run_aggregator(work, urls, server, "main", info["articles"])
            rows += run_reader(work, urls, server, workers, info["articles"])
            rows += floors(corpus, urls, server, info["articles"])
            server_name = server.name
        sizes = [int(n) for n in args.scaling.split(",") if n.strip()]
        scale_rows = scaling(work, sizes) if sizes else []
    finally:
        shutil.rmtree(work, ignore_errors=True)

    from .report import write_report

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks.json").write_text(
        json.dumps(
            {"rows": [asdict(r) for r in rows + scale_rows], "corpus": info}, default=str, indent=1
        ),
        encoding="utf-8",
    )
    write_report(args.out, rows, scale_rows, info, server_name, workers, environment())
    print(f"wrote {args.out / 'benchmarks.md'}", file=sys.stderr)


def environment() -> str:
    nginx = (
        subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        if shutil.which("nginx")
        else "nginx missing"
    )
    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores, {platform.machine()}, {nginx}"
    )


if __name__ == "__main__":
    main()
