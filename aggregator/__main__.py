"""``python -m aggregator`` and the ``aggregator`` console script.

Deliberately import-light: worker processes are spawned fresh and re-import the main module,
and they should load only the parsing code, not the CLI, the store or httpx.
"""

from __future__ import annotations


def run() -> int:
    from .cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
