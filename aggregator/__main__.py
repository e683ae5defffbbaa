"""``python -m aggregator`` and the ``aggregator`` console script.

Deliberately import-light: worker processes are spawned fresh and re-import the main module,
and they should load only the parsing code, not the CLI, the store or httpx.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys


def run() -> int:
    _limit_malloc_arenas()
    from .cli import main

    return main()


def _limit_malloc_arenas() -> None:
    """glibc gives each thread (SQLite, file writes, DNS) its own malloc arena, and freed
    memory stays in them: measured at N=2000 feeds, one arena keeps the main process at
    73 MB instead of 88 MB, at no measurable cost in time. Must run before threads start."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)


_M_ARENA_MAX = -8  # from glibc's malloc.h


if __name__ == "__main__":
    raise SystemExit(run())
