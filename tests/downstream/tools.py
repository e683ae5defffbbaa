"""The outside programs the downstream suite runs: Node.js + Hexo (pinned in hexo/package.json
and its lock file, installed with ``npm ci`` into a cache outside the checkout) and jing.

A missing tool skips its tests with a reason printed on the real stderr as well as in pytest's
summary: never silently. ``.ci/run`` installs nodejs, npm and jing from Debian when missing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import pytest

HEXO_DIR = Path(__file__).parent / "hexo"
# hexo 8.1.2's package.json: "engines": {"node": ">=20.19.0"} (Debian bookworm ships 18).
MIN_NODE = (20, 19)
NPM_CI_TIMEOUT = 900  # seconds: the first install downloads about 70 MB of packages


def skip_loudly(reason: str) -> NoReturn:
    """Skip, and say so where CI output shows it even with pytest capturing output."""
    print(f"\n*** tests/downstream SKIPPED: {reason}\n", file=sys.__stderr__, flush=True)
    pytest.skip(reason)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aggregator-tests"


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        skip_loudly("node is not installed (.ci/run installs Debian's nodejs and npm)")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    found = re.match(r"v(\d+)\.(\d+)", version)
    if found is None or (int(found[1]), int(found[2])) < MIN_NODE:
        needed = ".".join(map(str, MIN_NODE))
        skip_loudly(f"node {version} at {node} is older than the {needed} hexo 8.1.2 needs")
    return node


def hexo_modules() -> Path:
    """node_modules of the pinned site, installed once per lock file and reused after."""
    manifest = (HEXO_DIR / "package.json").read_bytes()
    lock = (HEXO_DIR / "package-lock.json").read_bytes()
    digest = hashlib.sha256(manifest + b"\0" + lock).hexdigest()[:16]
    home = cache_root() / f"hexo-{digest}"
    done = home / ".installed"
    if done.exists():
        return home / "node_modules"
    npm = shutil.which("npm")
    if npm is None:
        skip_loudly("npm is not installed (.ci/run installs Debian's nodejs and npm)")
    home.parent.mkdir(parents=True, exist_ok=True)
    # Install beside the final folder and rename it into place: a run that is killed half way
    # leaves no folder that looks installed, and two runs at once cannot mix their files.
    staging = Path(tempfile.mkdtemp(prefix=f".hexo-{digest}-", dir=home.parent))
    staging.chmod(0o755)  # mkdtemp makes it 0700: the cache is for every user of the machine
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(HEXO_DIR / name, staging / name)
        # --ignore-scripts: the only install script (hexo-util's) rebuilds a file it ships.
        argv = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        run = subprocess.run(
            argv, cwd=staging, capture_output=True, text=True, timeout=NPM_CI_TIMEOUT
        )
        if run.returncode != 0:
            pytest.fail(f"npm ci of {HEXO_DIR} failed ({run.returncode}):\n{run.stderr[-4000:]}")
        (staging / ".installed").write_text(" ".join(argv) + "\n", encoding="utf-8")
        try:
            staging.rename(home)
        except OSError:  # another run finished first: use its copy
            if not done.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return home / "node_modules"


def jing_or_skip() -> str:
    jing = shutil.which("jing")
    if jing is None:
        skip_loudly("jing is not installed (.ci/run installs it: apt-get install jing)")
    return jing
