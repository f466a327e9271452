"""The sample project (teams.yaml, sprint-3) with its store, for the metrics, report and dashboard tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.observability.harness import sample_project


@pytest.fixture
def sample(project: Path) -> Path:
    return sample_project(project)


@pytest.fixture(params=["sqlite", "json"])
def store(sample: Path, request, monkeypatch: pytest.MonkeyPatch):
    """The sample project's store, on each file backend (the CLI and hooks find it through the env)."""
    from orchestra import paths
    from orchestra.store import open_store

    if request.param == "json":
        monkeypatch.setenv("ORCHESTRA_STATE_URL", f"json://{paths.state_dir(sample) / 'state.json'}")
    with open_store() as s:
        yield s
