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


@pytest.fixture(params=["sqlite", "json"])
def store(sample: Path, request, monkeypatch: pytest.MonkeyPatch):
    """The sample project's store, on each backend (the CLI and hooks find it through the env)."""
    from orchestra import paths
    from orchestra.store import open_store

    if request.param == "json":
        monkeypatch.setenv("ORCHESTRA_STATE_URL", f"json://{paths.state_dir(sample) / 'state.json'}")
    with open_store() as s:
        yield s


def with_sprint_committed(sample: Path, monkeypatch: pytest.MonkeyPatch, sprint_id: str, text: str) -> None:
    """The sample project as a git repository with one commit (worktrees branch from it), its sample sprint
    replaced by `sprint_id` written as `text`."""
    from tests.worktrees.conftest import commit_all, git

    for key, value in {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                       "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.invalid"}.items():
        monkeypatch.setenv(key, value)
    (sample / "README.md").write_text("x\n", encoding="utf-8")
    git(sample, "add", "README.md")
    commit_all(sample, "first")
    (sample / ".claude/sprints/sprint-3.yaml").unlink()
    (sample / f".claude/sprints/{sprint_id}.yaml").write_text(text, encoding="utf-8")
