"""``python -m bench.dedupe.passes --base DIR [--off] [--feeds 2000] [--rounds 3]``: pass 1 and
pass 2 of the 2,000-feed bench (bench/corpus.py, served by nginx) with this tree and with
another checkout side by side, alternating, each run in a fresh data folder. ``--off`` adds
this tree with ``near_duplicates = false`` as a third system.

``--base`` is a folder holding the other checkout's ``aggregator`` package (e.g. made with
``git archive c679bf1 | tar -x -C DIR``); its runs import it through PYTHONPATH, with this
environment's dependencies. Prints wall and CPU seconds (the whole process tree) per run,
their medians, and what pass 1 stored (articles, duplicates, band key rows).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

from ..__main__ import aggregator_config
from ..corpus import generate
from ..measure import Measurement, measure
from ..server import CorpusServer

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dedupe.passes")
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--off", action="store_true")
    args = parser.parse_args(argv)
    trees = {"this tree": ROOT, "base": args.base.resolve()}
    if args.off:
        trees[_OFF] = ROOT
    for name, tree in trees.items():
        print(f"{name}: {_imported_from(tree)}", file=sys.stderr)

    work = Path(tempfile.mkdtemp(prefix="aggregator-neardup-"))
    work.chmod(0o755)  # nginx workers read the corpus
    results: dict[tuple[str, str], list[Measurement]] = {}
    try:
        info = generate(work / "corpus", args.feeds)
        print(f"corpus: {info}", file=sys.stderr)
        with CorpusServer(work / "corpus") as server:
            urls = server.urls(args.feeds)
            for n in range(args.rounds):
                for name, tree in trees.items():
                    folder = work / f"{''.join(c if c.isalnum() else '-' for c in name)}-{n}"
                    folder.mkdir()
                    off = "[dedupe]\nnear_duplicates = false\n" if name == _OFF else ""
                    config = aggregator_config(folder, urls, off)
                    cmd = [sys.executable, "-m", "aggregator", "--config", str(config)]
                    for run in ("pass 1", "pass 2"):
                        server.serve(1)
                        m = _measure([*cmd, "fetch", "--no-progress"], tree, folder)
                        results.setdefault((name, run), []).append(m)
                        print(f"{name} {run} round {n}: {m.wall:.1f}s wall, {m.cpu:.1f}s CPU")
                    print(f"  stored: {_stored(folder / 'db.sqlite3')}")
                    shutil.rmtree(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.feeds} feeds, {args.rounds} rounds, medians:")
    for (name, run), ms in sorted(results.items()):
        wall = statistics.median(m.wall for m in ms)
        cpu = statistics.median(m.cpu for m in ms)
        print(f"| {name} | {run} | {wall:.1f} | {cpu:.1f} |")
    return 0


_OFF = "this tree, near-duplicates off"


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree)}


def _measure(cmd: list[str], tree: Path, cwd: Path) -> Measurement:
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(tree)  # measure() starts the command with this environment
    try:
        return measure(cmd, cwd=cwd)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old


def _imported_from(tree: Path) -> str:
    code = "import aggregator, os; print(os.path.dirname(aggregator.__file__))"
    done = subprocess.run(  # from elsewhere: ``-c`` puts the working folder first on the path
        [sys.executable, "-c", code],
        env=_env(tree),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _stored(database: Path) -> str:
    with closing(sqlite3.connect(database)) as db:
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        entries = db.execute("SELECT count(*) FROM entries").fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        rows = (
            db.execute("SELECT count(*) FROM near_keys").fetchone()[0]
            if ("near_keys" in tables)
            else "-"
        )
    return f"{articles} articles, {entries} entries, {rows} band key rows"


if __name__ == "__main__":
    raise SystemExit(main())
