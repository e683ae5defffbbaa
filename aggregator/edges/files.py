"""I/O: atomic file writes, the one way aggregator writes a file: posts, the Atom document, the
JSON Feed, OPML exports and config.toml edits.

Temp files are written in the target's folder and made durable (one syncfs of the file system
on Linux, else an fsync per file), then renamed over their targets, and the folder is fsynced
once: a crash leaves either the old file or the new one, never a half-written file, and at
most a hidden temp file (the next publish removes those in posts_dir). A file whose bytes are
already on disk is not touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputError

TEMP_PREFIX = ".aggregator-tmp-"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True, slots=True)
class Written:
    """The files a batch actually changed: new ones, and existing ones given new bytes."""

    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.created or self.replaced)


def write_files(folder: Path, files: Mapping[str, str]) -> Written:
    """Write ``{name: text}`` into ``folder`` atomically; unchanged files are not touched.
    Errors name the folder (the configured posts_dir), never a hidden temp file."""
    for name in files:
        if not _SAFE_NAME.match(name) or name in (".", ".."):
            raise OutputError(str(folder / name), "unsafe file name")
    return _write_batch(folder, files, folder)


def _write_batch(folder: Path, files: Mapping[str, str], subject: Path) -> Written:
    with _output_errors(subject):
        folder.mkdir(parents=True, exist_ok=True)
        base = str(folder)  # plain strings: pathlib costs more than the syscalls here
        changed: dict[str, bytes] = {}
        created: list[str] = []
        for name, text in files.items():
            data, current = text.encode("utf-8"), _current_bytes(os.path.join(base, name))
            if current != data:
                changed[name] = data
                if current is None:
                    created.append(name)
        if not changed:
            return Written()
        temps: dict[str, str] = {}
        try:
            for name, data in changed.items():
                temps[name] = _write_temp(base, name, data)
            _flush_files(base, temps.values())
            for name, temp in temps.items():
                os.replace(temp, os.path.join(base, name))
        except BaseException:
            for temp in temps.values():
                with contextlib.suppress(OSError):
                    os.unlink(temp)
            raise
        _fsync_dir(base)
    return Written(sorted(created), sorted(set(changed) - set(created)))


def write_file(
    path: Path,
    text: str,
    *,
    check: Callable[[Path], None] | None = None,
    create: bool = False,
) -> bool:
    """Write one file atomically at a path the user chose (atom_path, json_feed_path, -o,
    config.toml), under any name: the safe-name rule is for post names made from feed data.
    A symlink stays a symlink (its target is written), an existing file keeps its mode.
    ``check`` sees the finished temp file before it takes the file's place (a config edit is
    loaded first); ``create``: only a file that does not exist yet, never over one that
    appeared meanwhile (linked into place). False when it already held these bytes."""
    if not path.name:
        raise OutputError(str(path), "not a file path")
    target = Path(os.path.realpath(path))
    data = text.encode("utf-8")
    with _output_errors(path):
        target.parent.mkdir(parents=True, exist_ok=True)
        current = _current_bytes(str(target))
        if current == data:
            return False
        if create and current is not None:
            raise OutputError(str(path), "appeared while it was being created: run again")
        temp = _write_temp(str(target.parent), target.name, data)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(temp, stat.S_IMODE(target.stat().st_mode))
            _flush_files(str(target.parent), [temp])
            if check is not None:
                check(Path(temp))
            if create:
                _link(temp, target, path)
            else:
                os.replace(temp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        _fsync_dir(target.parent)
    return True


def _link(temp: str, target: Path, path: Path) -> None:
    """A new file put in place by a hard link, which refuses an existing name."""
    try:
        os.link(temp, target)
    except FileExistsError:
        raise OutputError(str(path), "appeared while it was being created: run again") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP) or target.exists():
            raise
        os.replace(temp, target)  # a file system without hard links (FAT): a rename will do


def remove_temp_files(folder: Path) -> None:
    """Temp files left by a killed run (never a finished file)."""
    with _output_errors(folder), contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(folder):
            if entry.name.startswith(TEMP_PREFIX):
                os.unlink(entry.path)


def remove_post_files(folder: Path, names: list[str]) -> None:
    """Delete posts (retention, prune, joins); already-missing files are fine, and so is a
    folder that was never made (a join made before the first post was written)."""
    with _output_errors(folder):
        if not folder.is_dir():
            return
        for name in names:
            if _SAFE_NAME.match(name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(folder / name)
        if names:
            _fsync_dir(folder)


def missing_files(folder: Path, names: Sequence[str]) -> list[str]:
    """The file names that are not in ``folder``."""
    base = str(folder)
    return [name for name in names if not os.path.exists(os.path.join(base, name))]


def _current_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, IsADirectoryError):
        return None


def _write_temp(folder: str, name: str, data: bytes) -> str:
    temp = os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{name}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except BaseException:
        # The caller only knows of temp files this returned: a write that failed (disk full)
        # would otherwise leave its partial file behind.
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def _flush_files(folder: str, paths: Iterable[str]) -> None:
    """Make the batch's data durable before it is renamed into place: one syncfs(2) of the
    folder's file system on Linux (one journal commit for the batch), else fsync per file."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        if _syncfs is not None and _syncfs(fd) == 0:
            return
    finally:
        os.close(fd)
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_syncfs = _load_syncfs() if sys.platform.startswith("linux") else None


def _fsync_dir(folder: str | Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _output_errors(subject: Path) -> Iterator[None]:
    """OSError -> OutputError naming ``subject``: the folder or file the config names, which
    the user can act on (the temp file a write failed on is gone by then)."""
    try:
        yield
    except OSError as e:
        # Not chained: the OSError's text would name the temp file again.
        raise OutputError(str(subject), f"cannot write: {_reason(e, subject)}") from None


def _reason(error: OSError, subject: Path) -> str:
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        # A file where a folder must be: say which one.
        path = Path(error.filename or subject)
        for candidate in (path, *path.parents):
            if candidate.exists() and not candidate.is_dir():
                where = "it " if candidate == subject else f"{candidate} "
                return f"{where}is a file, not a folder"
    return {
        errno.ENOSPC: "disk full",
        errno.EROFS: "read-only file system",
        errno.EACCES: "permission denied",
        errno.EDQUOT: "disk quota exceeded",
        errno.EISDIR: f"{error.filename2 or subject} is a folder, not a file",
    }.get(error.errno or 0, error.strerror or str(error))
