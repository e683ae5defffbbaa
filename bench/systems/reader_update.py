"""reader (PyPI) as a peer: add every URL once, then update_feeds(workers=N). Run as a script:
python -m bench.systems.reader_update DB URLS_FILE WORKERS"""

from __future__ import annotations

import sys

from reader import FeedExistsError, make_reader


def main(db: str, urls_file: str, workers: int) -> None:
    reader = make_reader(db)
    for url in open(urls_file, encoding="utf-8").read().split():
        try:
            reader.add_feed(url)
        except FeedExistsError:
            pass
    reader.update_feeds(workers=workers)
    counts = reader.get_entry_counts()
    print(f"entries={counts.total}", file=sys.stderr)
    reader.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
