"""Wall seconds, CPU seconds and peak RSS of a command and every process it starts.

Peak RSS is the peak of the *sum* over the process tree (main process plus worker processes),
sampled every 50 ms from /proc; CPU is the last seen utime + stime of every process in it.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measurement:
    wall: float
    cpu: float
    peak_rss_mb: float
    returncode: int
    stderr_tail: str


def _children(pid: int) -> list[int]:
    """Direct children, from /proc/<pid>/task/*/children: cheap, unlike a walk of all of
    /proc, which cost the sampler a third of a core."""
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            kids += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    except OSError:
        pass
    return kids


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += _children(pid)
    return out


def _sample(pid: int) -> tuple[int, float] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    cpu = (int(fields[11]) + int(fields[12])) / _TICK
    return rss_pages * _PAGE, cpu


def measure(
    cmd: Sequence[str], cwd: Path | None = None, ok_codes: Sequence[int] = (0,)
) -> Measurement:
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak, cpu_seen = 0, {}
    done = threading.Event()
    stderr: list[str] = []
    reader = threading.Thread(
        target=lambda: stderr.append(proc.stderr.read() if proc.stderr else ""), daemon=True
    )
    reader.start()
    while not done.is_set():
        total = 0
        for pid in process_tree(proc.pid):
            sample = _sample(pid)
            if sample:
                total += sample[0]
                cpu_seen[pid] = sample[1]
        peak = max(peak, total)
        if proc.poll() is not None:
            done.set()
        else:
            time.sleep(0.05)
    wall = time.monotonic() - started
    reader.join(timeout=5)
    tail = "".join(stderr)[-2000:]
    if proc.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{tail}")
    return Measurement(wall, sum(cpu_seen.values()), peak / 2**20, proc.returncode, tail)
