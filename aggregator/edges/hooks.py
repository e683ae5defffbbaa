"""I/O: ``[output] on_change``, a command run after outputs changed (e.g. ``hexo generate``),
with the JSON change manifest on stdin. Its failures are logged and never stop fetching."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from ..config import OutputConfig
from ..models import Changes

log = logging.getLogger(__name__)

_OUTPUT_LINES = 50  # lines of the command's output kept in the log


async def run_on_change(output: OutputConfig, changes: Changes) -> int | None:
    """Run the on_change command if one is configured and something changed. Returns its exit
    status, or None when nothing ran (not configured, nothing changed, could not start)."""
    if not output.on_change or not changes:
        return None
    argv, stdin = list(output.on_change), json.dumps(manifest(changes, output)).encode()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=output.on_change_cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except OSError as e:
        log.error("on_change %s could not start: %s", argv[0], e)
        return None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(stdin), timeout=output.on_change_timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        log.error(
            "on_change %s timed out after %gs and was killed", argv[0], output.on_change_timeout
        )
        return None
    _log_output(argv[0], proc.returncode or 0, out)
    return proc.returncode


def manifest(changes: Changes, output: OutputConfig) -> dict[str, object]:
    """The JSON document the command reads on stdin (docs/config.md, on_change)."""

    def posts(refs: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [{"id": i, "path": str(output.posts_dir / name)} for i, name in refs]

    return {
        "posts_dir": str(output.posts_dir),
        "added": posts(changes.added),
        "updated": posts(changes.updated),
        "removed": posts(changes.removed),
        "atom_path": str(output.atom_path),
        "json_feed_path": str(output.json_feed_path) if output.json_feed_path else None,
        "feeds_changed": changes.feeds_changed,
    }


def _log_output(name: str, status: int, out: bytes) -> None:
    lines = out.decode("utf-8", "replace").splitlines()[-_OUTPUT_LINES:]
    level = logging.INFO if status == 0 else logging.ERROR
    log.log(
        level, "on_change %s exited %d%s", name, status, "".join(f"\n  | {line}" for line in lines)
    )
