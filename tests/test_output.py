"""output.py: atomic writes, under a safe post name or at a path the user chose."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

import aggregator.edges.files
from aggregator.edges.files import TEMP_PREFIX, remove_post_files, write_file, write_files
from aggregator.errors import OutputError


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


def test_posts_under_a_file_name_the_folder_and_the_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file")
    folder = tmp_path / "blocker" / "posts"
    with pytest.raises(OutputError) as info:
        write_files(folder, {"a.md": "x"})
    assert (
        str(info.value) == f"{folder}: cannot write: {tmp_path / 'blocker'} is a file, not a folder"
    )


def test_a_refused_write_names_the_folder_not_a_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoNewFiles:
        """``os`` as aggregator.edges.files sees it, refusing to create any file."""

        def __getattr__(self, name: str) -> Any:
            return getattr(os, name)

        def open(self, path: str, flags: int, *args: Any) -> int:
            if flags & os.O_CREAT:
                raise OSError(errno.EACCES, os.strerror(errno.EACCES), path)
            return os.open(path, flags, *args)

    monkeypatch.setattr(aggregator.edges.files, "os", NoNewFiles())
    with pytest.raises(OutputError) as info:
        write_files(tmp_path, {"a.md": "x"})
    assert str(info.value) == f"{tmp_path}: cannot write: permission denied"
    assert TEMP_PREFIX not in str(info.value)


def test_removing_posts_from_a_folder_never_made_is_nothing_to_do(tmp_path: Path) -> None:
    remove_post_files(tmp_path / "posts", ["a.md"])
    assert not (tmp_path / "posts").exists()


def test_removing_posts_from_a_folder_that_cannot_be_read_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(self: Path, *args: Any, **kwargs: Any) -> os.stat_result:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "stat", refused)
    with pytest.raises(OutputError, match="posts"):
        remove_post_files(tmp_path / "posts", ["a.md"])
