"""docs/benchmarks.md (tables, ratios, targets) and docs/benchmarks.png (chart)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _table(rows: Sequence[Any]) -> list[str]:
    out = [
        "| system | run | wall s | feeds/s | articles/s | CPU s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r.system} | {r.run} | {r.m.wall:.2f} | {r.feeds_per_s:.0f} | "
            f"{r.articles_per_s:.0f} | {r.m.cpu:.1f} | {r.m.peak_rss_mb:.0f} |"
        )
    return out


def _find(rows: Sequence[Any], system: str, run: str) -> Any:
    return next(r for r in rows if r.system.startswith(system) and r.run == run)


def write_report(
    out: Path,
    rows: Sequence[Any],
    scale_rows: Sequence[Any],
    info: dict[str, int],
    server: str,
    workers: int,
    env: str,
) -> None:
    agg = {run: _find(rows, "aggregator", run) for run in ("pass 1", "pass 2", "pass 3")}
    rdr = {run: _find(rows, "reader", run) for run in ("pass 1", "pass 2", "pass 3")}
    floor = _find(rows, "floor: feedparser", "gen 1")
    lines = [
        "# Benchmarks",
        "",
        "Reproduce with `bench/run.sh` (or `python -m bench`); numbers below are from one",
        "invocation, side by side, so their ratios are comparable even on a noisy machine.",
        "",
        f"- Corpus: {info['feeds']} feeds × 20 items (RSS 2.0, Atom, RDF in turn; 1–6 KB HTML "
        f"bodies, Chinese and English, images and links), {info['syndicated']} articles "
        f"syndicated across feeds under other guids; generation 2: {info['changed_in_gen2']} "
        "feeds gained 3 items, the rest byte-identical.",
        f"- Server: {server} on 127.0.0.1 (ETag, Last-Modified, gzip). Environment: {env}.",
        "- Pass 1: everything new, fresh data folder; pass 2: nothing changed; pass 3: "
        "generation 2. Peak RSS is the sum over the process tree (main + workers).",
        f"- reader: `update_feeds(workers={workers})`, the best of 1, 4, 16 on a 200-feed sample.",
        "- aggregator: `aggregator fetch`, concurrency 32, per_host 32 (one host serves all).",
        "",
        *_table(rows),
        "",
        *_targets(rows, scale_rows, agg, rdr, floor),
    ]
    if scale_rows:
        lines += ["", "## Scaling (aggregator)", "", *_table(scale_rows)]
    lines += [
        "",
        "![pass wall time and peak memory](benchmarks.png)",
        "",
        "What bounds each number, and what was changed to get here: "
        "[performance.md](performance.md).",
        "",
    ]
    target = out / "benchmarks.md"
    target.write_text("\n".join(lines) + _kept_sections(target), encoding="utf-8")
    _chart(out / "benchmarks.png", agg, rdr, floor, scale_rows)


def _targets(
    rows: Sequence[Any],
    scale_rows: Sequence[Any],
    agg: dict[str, Any],
    rdr: dict[str, Any],
    floor: Any,
) -> list[str]:
    """Issue 20's targets, each a ratio of this run's numbers."""
    httpx_floor = _find(rows, "floor: httpx", "gen 1")
    rss = {r.feeds: r.m.peak_rss_mb for r in scale_rows if r.run == "pass 1"}
    rss.setdefault(agg["pass 1"].feeds, agg["pass 1"].m.peak_rss_mb)
    checks = [
        ("pass 1 ≥ 4× reader", agg["pass 1"].feeds_per_s / rdr["pass 1"].feeds_per_s, 4, "≥"),
        (
            "pass 1 ≤ 2× the 2-process feedparser floor's time",
            agg["pass 1"].m.wall / floor.m.wall,
            2,
            "≤",
        ),
        ("pass 2 faster than reader", rdr["pass 2"].m.wall / agg["pass 2"].m.wall, 1, ">"),
        (
            "pass 2 ≤ 1.5× the httpx conditional-GET floor's time",
            agg["pass 2"].m.wall / httpx_floor.m.wall,
            1.5,
            "≤",
        ),
        ("pass 3 ≥ 3× reader", rdr["pass 3"].m.wall / agg["pass 3"].m.wall, 3, "≥"),
    ]
    lines = [
        "## Targets (issue 20; ratios from this run)",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for name, value, bound, op in checks:
        met = {"≥": value >= bound, "≤": value <= bound, ">": value > bound}[op]
        lines.append(f"| {name} | {value:.2f}× | {'yes' if met else 'no'} |")
    if 2000 in rss:
        lines.append(
            f"| peak RSS ≤ 120 MB at 2,000 feeds | {rss[2000]:.0f} MB | "
            f"{'yes' if rss[2000] <= 120 else 'no'} |"
        )
    if 2000 in rss and 8000 in rss:
        growth = rss[8000] / rss[2000]
        lines.append(
            f"| peak RSS growth 2,000 → 8,000 feeds ≤ 1.2× | {growth:.2f}× | "
            f"{'yes' if growth <= 1.2 else 'no'} |"
        )
    return lines


def _chart(
    path: Path, agg: dict[str, Any], rdr: dict[str, Any], floor: Any, scale_rows: Sequence[Any]
) -> None:
    try:
        import matplotlib
    except ImportError:  # the bench extras (bench/run.sh installs them)
        print(f"matplotlib missing: {path} not drawn", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    runs = list(agg)
    x = range(len(runs))
    axes[0].bar([i - 0.2 for i in x], [agg[r].m.wall for r in runs], 0.4, label="aggregator")
    axes[0].bar([i + 0.2 for i in x], [rdr[r].m.wall for r in runs], 0.4, label="reader")
    axes[0].axhline(floor.m.wall, color="gray", linestyle="--", label="feedparser floor (2 proc)")
    axes[0].set_xticks(list(x), runs)
    axes[0].set_ylabel("wall seconds")
    axes[0].set_title(f"{agg['pass 1'].feeds} feeds")
    axes[0].legend()
    first = [r for r in scale_rows if r.run == "pass 1"]
    if first:
        ax = axes[1]
        ax.plot([r.feeds for r in first], [r.m.wall for r in first], marker="o", label="wall s")
        ax.set_xlabel("feeds (N)")
        ax.set_ylabel("pass 1 wall seconds")
        twin = ax.twinx()
        twin.plot(
            [r.feeds for r in first],
            [r.m.peak_rss_mb for r in first],
            marker="s",
            color="tab:red",
            label="peak RSS MB",
        )
        twin.set_ylabel("peak RSS MB")
        ax.set_title("scaling (pass 1)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# Sections other benchmarks write into the same page (bench.extract's, bench.dedupe's).
_KEPT = ("## Side by side", "## Article extraction", "## Near-duplicates")


def _kept_sections(page: Path) -> str:
    """The sections of ``page`` that this report does not own, from the first one on."""
    if not page.exists():
        return ""
    text = page.read_text(encoding="utf-8")
    starts = [i for i in (text.find(h) for h in _KEPT) if i >= 0]
    return "\n" + text[min(starts) :] if starts else ""
