"""docs/config.md's key tables, made from the declarations in aggregator/config/keys.py.

Each section's table sits between ``<!-- keys [name] -->`` and ``<!-- /keys -->``;
``python tests/config_docs.py`` rewrites them, tests/test_config/keys.py checks they are current.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from aggregator.config.checks import declared
from aggregator.config.keys import FEEDS, SECTIONS, FeedConfig

DOCS = Path(__file__).resolve().parent.parent / "docs" / "config.md"
TABLES: dict[str, type] = {**SECTIONS, FEEDS: FeedConfig}
BLOCK = re.compile(r"<!-- keys (?P<section>\S+) -->\n(?P<table>.*?)<!-- /keys -->", re.S)


def key_table(record: type) -> str:
    """A Markdown table: key, default (as the docs write it), meaning."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for name, key in declared(record).items():
        rows.append(f"| `{name}` | {key.shown_default} | {key.doc} |")
    return "\n".join(rows) + "\n"


def with_current_tables(text: str) -> str:
    """``text`` (docs/config.md) with every key table made anew. Raises ValueError naming a
    section that has no table there, or a table of no section."""
    found = [m["section"] for m in BLOCK.finditer(text)]
    if missing := [s for s in TABLES if s not in found]:
        raise ValueError(f"docs/config.md has no <!-- keys {missing[0]} --> table")
    if unknown := [s for s in found if s not in TABLES]:
        raise ValueError(f"docs/config.md has a table of no section: {unknown[0]}")
    return BLOCK.sub(
        lambda m: (
            f"<!-- keys {m['section']} -->\n\n{key_table(TABLES[m['section']])}\n<!-- /keys -->"
        ),
        text,
    )


def main() -> int:
    text = DOCS.read_text(encoding="utf-8")
    updated = with_current_tables(text)
    if updated != text:
        DOCS.write_text(updated, encoding="utf-8")
        print(f"{DOCS}: tables rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
