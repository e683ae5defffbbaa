"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary folder, a free port on
127.0.0.1, fsync off, its own socket folder; stopped and deleted at the end of the session.

As root (CI containers) initdb and postgres refuse to run: they run as the ``postgres`` user
(``runuser``), in a 0711 folder outside the checkout so that user can reach its data directory.
Nothing here listens on, or talks to, any address but 127.0.0.1.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"
SUPERUSER = "postgres"
# Tests need no durability; bench/workers.py passes its own settings (durable, as deployed).
FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl, else PATH's."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(os.path.realpath(initdb)).parent
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway_cluster(bin_dir: Path, settings: str = FAST) -> Iterator[str]:
    """Yields the admin URL (superuser, database ``postgres``, trust auth on 127.0.0.1).
    ``settings``: more ``-c name=value`` options for the server."""
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="aggregator-pg-", dir="/tmp"))
    try:
        os.chmod(base, 0o711)  # the postgres user must pass through to its data directory
        data, sockets = base / "data", base / "sockets"
        for folder in (data, sockets):
            folder.mkdir(mode=0o700)
            if as_root:
                shutil.chown(folder, SUPERUSER, SUPERUSER)
        log = base / "sockets" / "server.log"  # a folder the server's user may write

        def run(*argv: str) -> None:
            prefix = ["runuser", "-u", SUPERUSER, "--"] if as_root else []
            subprocess.run(
                [*prefix, *argv], check=True, capture_output=True, text=True, timeout=120
            )

        run(
            str(bin_dir / "initdb"),
            "-D", str(data), "-U", SUPERUSER, "--auth=trust",
            "--locale=C", "-E", "UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        port = free_port()
        options = (
            f"-p {port} -k {sockets} -c listen_addresses={HOST} -c max_connections=200 {settings}"
        )
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        try:
            yield f"postgresql://{SUPERUSER}@{HOST}:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def create_database(admin_url: str, name: str) -> str:
    """A fresh, empty database on the server of ``admin_url``; returns its URL. FILE_COPY:
    with fsync off, copying template0's files beats PostgreSQL 15's WAL_LOG default."""
    await _admin(admin_url, f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY file_copy')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(admin_url: str, name: str) -> None:
    """FORCE: a failed test may have left its connections open."""
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(admin_url: str, command: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(command)
    finally:
        await conn.close()
