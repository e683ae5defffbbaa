"""Two aggregator checkouts side by side on one corpus and one server: did a change make a
pass slower? ``python -m bench.compare OTHER [--feeds N] [--rounds R]``.

OTHER is another checkout with its own virtual environment (``OTHER/.venv``), e.g. a
``git worktree`` of the commit to compare with. Each round runs pass 1 (all new), pass 2 (all
unchanged) and pass 3 (a fifth of the feeds changed) for both, alternating which goes first,
each in a fresh data folder; the table gives each pass's median over the rounds, so that a
noisy machine shifts both alike. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .__main__ import aggregator_config
from .corpus import generate
from .measure import Measurement, measure
from .server import CorpusServer

ROOT = Path(__file__).resolve().parents[1]
PASSES = (("pass 1", 1), ("pass 2", 1), ("pass 3", 2))


def run_passes(
    python: Path,
    checkout: Path,
    folder: Path,
    urls: list[str],
    server: CorpusServer,
    extra_config: str = "",
) -> dict[str, Measurement]:
    folder.mkdir(parents=True)
    config = aggregator_config(folder, urls, extra_config)
    cmd = [str(python), "-m", "aggregator", "--config", str(config), "fetch", "--no-progress"]
    results = {}
    for run, gen in PASSES:
        server.serve(gen)
        results[run] = measure(cmd, cwd=checkout, ok_codes=(0,))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare")
    parser.add_argument("other", type=Path, help="another checkout with its own .venv")
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--other-config",
        default="",
        help="TOML added to the other's config, e.g. '[dedupe]\\nnear_duplicates = false' "
        "with OTHER = . to measure a setting in one checkout",
    )
    parser.add_argument("--this-config", default="", help="the same, for this checkout")
    args = parser.parse_args()
    args.other_config = args.other_config.replace("\\n", "\n")
    args.this_config = args.this_config.replace("\\n", "\n")
    systems = {
        "this": (Path(sys.executable), ROOT, args.this_config),
        "other": (
            args.other.resolve() / ".venv" / "bin" / "python",
            args.other.resolve(),
            args.other_config,
        ),
    }
    work = Path(tempfile.mkdtemp(prefix="aggregator-compare-"))
    work.chmod(0o755)  # nginx workers run as an unprivileged user and must read the corpus
    got: dict[tuple[str, str], list[Measurement]] = {}
    try:
        generate(work / "corpus", args.feeds)
        with CorpusServer(work / "corpus") as server:
            urls = server.urls(args.feeds)
            for r in range(args.rounds):
                order = list(systems) if r % 2 == 0 else list(reversed(systems))
                for name in order:
                    python, checkout, extra = systems[name]
                    folder = work / f"{name}-{r}"
                    passes = run_passes(python, checkout, folder, urls, server, extra)
                    for run, m in passes.items():
                        got.setdefault((name, run), []).append(m)
                    shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(got, args), end="")


def table(got: dict[tuple[str, str], list[Measurement]], args: argparse.Namespace) -> str:
    lines = [
        f"{args.feeds} feeds, {args.rounds} rounds, medians; this = {ROOT}, other = {args.other}"
        + (f" with {args.other_config!r}" if args.other_config else "")
        + (f"; this with {args.this_config!r}" if args.this_config else ""),
        "",
        "| run | this wall s | other wall s | ratio | this CPU s | other CPU s | "
        "this RSS MB | other RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run, _ in PASSES:
        this, other = got[("this", run)], got[("other", run)]
        wall = statistics.median(m.wall for m in this), statistics.median(m.wall for m in other)
        cpu = statistics.median(m.cpu for m in this), statistics.median(m.cpu for m in other)
        rss = max(m.peak_rss_mb for m in this), max(m.peak_rss_mb for m in other)
        lines.append(
            f"| {run} | {wall[0]:.2f} | {wall[1]:.2f} | {wall[0] / wall[1]:.2f} | {cpu[0]:.1f} | "
            f"{cpu[1]:.1f} | {rss[0]:.0f} | {rss[1]:.0f} |"
        )
    return "\n".join(lines) + f"\n\n(measured {time.strftime('%Y-%m-%d %H:%M')})\n"


if __name__ == "__main__":
    main()
