"""Errors as the person at the terminal sees them, with the real CLI: the right words, the
culprit named, the documented exit code, and never a traceback."""

from __future__ import annotations

import pytest
from server import Workspace

REFUSED = 4


@pytest.mark.parametrize(
    "command", [["feeds"], ["fetch", "--no-progress"], ["render"], ["disable", "A"]]
)
def test_a_database_path_that_is_a_folder_is_refused_cleanly(
    ws: Workspace, command: list[str]
) -> None:
    ws.write_config([{"name": "A", "url": "http://127.0.0.1:9/a.xml"}])
    ws.database.mkdir(parents=True)
    for _ in range(5):  # the stray traceback came in a few runs of 20 (tests/test_store.py)
        run = ws.run(*command)
        assert run.returncode == REFUSED, run.stderr
        assert f"{ws.database}: cannot open the database: is a directory" in run.stderr
        assert "Traceback" not in run.stderr and "Exception in thread" not in run.stderr, run.stderr
