from __future__ import annotations

import os
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
