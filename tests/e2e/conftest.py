"""Fixtures for the end-to-end tests: the pinned `claude` CLI, a sandbox with the pack, the fake API.

Without the CLI these tests skip with one line, except under CI=true, where a missing or wrong CLI
is a failure: CI installs it, so its absence means the suite proves nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.fake_api import FakeAPI
from tests.e2e.harness import Sandbox, cli_version, find_claude, pinned_version


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: .ci/run installs it, so this is a broken setup)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    binary = find_claude()
    if binary is None:
        _unavailable("claude CLI not found: set ORCHESTRA_CLAUDE_BIN or run .ci/run to install it")
    version, pinned = cli_version(binary), pinned_version()
    if version != pinned:
        _unavailable(f"claude CLI at {binary} is {version or 'unreadable'}, these tests target {pinned}")
    return binary


@pytest.fixture(scope="session")
def sandbox_place(tmp_path_factory: pytest.TempPathFactory, claude_bin: Path) -> Iterator[Path]:
    """One place per test session (per xdist worker) where each test builds its sandbox afresh."""
    place = tmp_path_factory.mktemp("e2e")
    yield place
    Sandbox(place, claude_bin).cleanup()


@pytest.fixture
def sandbox(sandbox_place: Path, claude_bin: Path) -> Sandbox:
    """A fresh git repo with the pack installed, and an isolated home for Claude Code."""
    return Sandbox(sandbox_place, claude_bin).create()


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    with FakeAPI() as server:
        yield server
