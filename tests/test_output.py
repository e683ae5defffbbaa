"""output.py: atomic writes, under a safe post name or at a path the user chose."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.errors import OutputError
from aggregator.output import TEMP_PREFIX, write_file, write_files


@pytest.mark.parametrize("name", ["my subs.opml", "_subs.opml", "Abonnements (été).opml"])
def test_a_chosen_path_takes_any_file_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / "new folder" / name
    with pytest.raises(OutputError, match="unsafe file name"):
        write_files(path.parent, {name: "x"})  # the rule for post names, which this skips
    assert write_file(path, "<opml/>")
    assert path.read_text(encoding="utf-8") == "<opml/>"
    assert not write_file(path, "<opml/>"), "the same bytes again: not rewritten"
    assert write_file(path, "<opml></opml>")
    assert path.read_text(encoding="utf-8") == "<opml></opml>"
    assert [p.name for p in path.parent.iterdir()] == [name], "no temp file is left"


def test_a_chosen_path_that_is_a_folder_is_refused_and_leaves_no_temp_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "out" / "inside").mkdir(parents=True)
    with pytest.raises(OutputError, match="cannot write"):
        write_file(tmp_path / "out", "<opml/>")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]
