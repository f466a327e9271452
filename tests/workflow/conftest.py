"""A project holding the pack's teams.yaml, sample sprint and sample epic, with its state store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture
def sample(project: Path) -> Path:
    """The `project` fixture plus `.claude/teams.yaml`, `sprints/sprint-3.yaml`, `epics/payments.yaml`."""
    claude = project / ".claude"
    shutil.copy(REPO / ".claude/teams.yaml", claude / "teams.yaml")
    for kind, name in (("sprints", "sprint-3.yaml"), ("epics", "payments.yaml")):
        (claude / kind).mkdir(exist_ok=True)
        shutil.copy(REPO / ".claude" / kind / name, claude / kind / name)
    from orchestra import paths

    paths.ensure_state_dir(project)
    return project


@pytest.fixture
def store(sample: Path):
    from orchestra.store import open_store

    with open_store() as s:
        yield s
