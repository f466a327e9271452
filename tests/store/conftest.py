"""The backend list every store test runs against, and backend-neutral views of raw state on disk.

Adding a backend = one entry in BACKENDS (a factory giving a fresh, empty state URL for one test)
and, if its raw state is not a file, one branch in `fingerprint`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from orchestra.store import Store, open_store

from ..postgres import server as postgres


def _sqlite_url(base: Path) -> str:
    return f"sqlite://{base / 'orchestration.db'}"


def _json_url(base: Path) -> str:
    return f"json://{base / 'state.json'}"


BACKENDS: dict[str, Callable[[Path], str]] = {"sqlite": _sqlite_url, "json": _json_url}
if postgres.wanted():  # a schema of its own on the throwaway server (tests/postgres/server.py)
    BACKENDS["postgres"] = postgres.fresh_url


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> str:
    """A fresh state URL for `backend`, under a directory whose name has a space."""
    base = tmp_path / "state dir"
    base.mkdir()
    return BACKENDS[backend](base)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def state_file(url: str) -> Path:
    return Path(url.partition("://")[2])


def fingerprint(url: str) -> object:
    """What is stored, as raw as the backend allows: file bytes, or every row of every table."""
    if url.startswith("postgresql://"):
        return postgres.dump(url)
    path = state_file(url)
    if url.startswith("json://"):
        return path.read_bytes() if path.exists() else None
    if url.startswith("sqlite://"):
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        try:
            return list(conn.iterdump())
        finally:
            conn.close()
    raise AssertionError(f"no fingerprint for {url}")
