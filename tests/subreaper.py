"""Run a command as a child subreaper and report what it left behind.

    python tests/subreaper.py COMMAND...

Prints ``started PID`` when the command has started (in a session of its own), then, once it
has exited, one JSON line: its exit code and every process it left behind. As a subreaper this
process adopts whatever the command orphaned (a child it never waited for, running or already
exited): such a process cannot slip away unseen, however quickly it exits. A command that
waits for its children before exiting leaves nothing. Linux only (prctl).
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def orphans() -> list[dict[str, object]]:
    """Processes adopted by this one, running or zombie, with their command lines."""
    found: list[dict[str, object]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == os.getpid():
            found.append({"pid": int(entry.name), "state": state, "command": command[:120]})
    return found


def main(argv: list[str]) -> int:
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    command = subprocess.Popen(argv, start_new_session=True)
    print(f"started {command.pid}", flush=True)
    code = command.wait()
    left = orphans()
    for process in left:  # adopted: ours to end and reap
        try:
            os.kill(int(str(process["pid"])), 9)
            os.waitpid(int(str(process["pid"])), 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    print(json.dumps({"returncode": code, "left": left}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
