"""The throwaway PostgreSQL server of these tests (see server.py) and a fresh store URL per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import server


@pytest.fixture(scope="session")
def postgres() -> Iterator[server.Server]:
    """The running server; skips without PostgreSQL (fails under CI=true); stopped at session end."""
    yield server.shared()
    server.stop_shared()


@pytest.fixture
def pg_url(postgres: server.Server) -> str:
    """A new, empty store: its own schema on the shared server."""
    return postgres.fresh_url()
