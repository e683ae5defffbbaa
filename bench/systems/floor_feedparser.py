"""The parsing floor: feedparser over the same bytes from disk, on 2 processes.
python -m bench.systems.floor_feedparser FOLDER"""

from __future__ import annotations

import sys
from multiprocessing import Pool
from pathlib import Path

import feedparser


def parse(path: Path) -> int:
    return len(feedparser.parse(path.read_bytes()).entries)


if __name__ == "__main__":
    files = sorted(Path(sys.argv[1]).glob("*.xml"))
    with Pool(2) as pool:
        entries = sum(pool.map(parse, files, chunksize=8))
    print(f"entries={entries}", file=sys.stderr)
