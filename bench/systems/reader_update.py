"""reader (PyPI) as a peer: add every URL once, then update_feeds(workers=N). Run as a script:
python -m bench.systems.reader_update DB URLS_FILE WORKERS"""

from __future__ import annotations

import contextlib
import sys

from reader import FeedExistsError, make_reader


def main(db: str, urls_file: str, workers: int) -> None:
    reader = make_reader(db)
    with open(urls_file, encoding="utf-8") as f:
        urls = f.read().split()
    for url in urls:
        with contextlib.suppress(FeedExistsError):
            reader.add_feed(url)
    # scheduled=False: every feed, every pass (reader otherwise waits for its own update_after)
    reader.update_feeds(workers=workers, scheduled=False)
    counts = reader.get_entry_counts()
    print(f"entries={counts.total}", file=sys.stderr)
    reader.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
