from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from server import LoopbackServer, Workspace, running_server

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared"

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def shared_or_skip(relative: str) -> Path:
    """A path in ../shared (large third-party sets); skip, saying so, when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared third-party fixtures are not beside this clone")
    return path


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A programmable HTTP server on 127.0.0.1 for one test."""
    with running_server() as server:
        yield server


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A data folder and config for the real CLI, under the test's tmp_path."""
    return Workspace(tmp_path)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """An admin URL (may create databases) of a PostgreSQL server for the whole session:
    $AGGREGATOR_TEST_POSTGRES, else a throwaway cluster (tests/pgcluster.py). Without
    PostgreSQL the tests that need it skip, saying why; in CI (CI=true) they fail instead."""
    from pgcluster import find_bin_dir, throwaway_cluster

    if url := os.environ.get("AGGREGATOR_TEST_POSTGRES"):
        yield url
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL is not installed (no initdb and pg_ctl under /usr/lib/postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; .ci/run installs it", pytrace=False)
        pytest.skip(reason)
    with throwaway_cluster(bin_dir) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; on a server of one's own
    ($AGGREGATOR_TEST_POSTGRES) dropped after it (a throwaway cluster goes whole, faster)."""
    from pgcluster import create_database, drop_database

    name = f"test_{uuid.uuid4().hex[:12]}"
    yield asyncio.run(create_database(postgres_server, name))
    if os.environ.get("AGGREGATOR_TEST_POSTGRES"):
        asyncio.run(drop_database(postgres_server, name))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """``[storage] database`` for each backend: a fresh SQLite file, a fresh PostgreSQL
    database. Tests taking it run once per backend."""
    if request.param == "sqlite":
        return str(tmp_path / "db" / "aggregator.sqlite3")
    return str(request.getfixturevalue("postgres_url"))
