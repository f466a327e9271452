"""Fixtures for the security tests: a project with secret files, symlinks and state, and the real organisation."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from orchestra import teams
from orchestra.security import policy as policies

from tests.conftest import REPO


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME, so `~/.ssh` and `~/.claude` rows never look at the real one."""
    path = tmp_path / "home"
    (path / ".ssh").mkdir(parents=True)
    (path / ".ssh" / "id_rsa").write_text("key\n")
    monkeypatch.setenv("HOME", str(path))
    return path


@pytest.fixture
def tree(project: Path, home: Path) -> Path:
    """The project with the repo's teams.yaml, secrets, look-alikes, symlinks and an initialised state dir."""
    shutil.copy(REPO / ".claude" / "teams.yaml", project / ".claude" / "teams.yaml")
    files = {
        ".env": "TOKEN=1\n", ".env.example": "TOKEN=\n", "src/app.py": "print(1)\n",
        "config/credentials.json": "{}\n", "keys/server.pem": "pem\n", "secrets/db.txt": "pw\n",
        "docs/notes.md": "notes\n", "infra/prod.tfvars": "x = 1\n", ".claude/state/audit.jsonl": "",
        ".claude/settings.json": "{}\n",
    }
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    os.symlink(project / ".env", project / "innocent.txt")
    os.symlink(project / ".claude" / "state", project / "docs" / "cache")
    add_worktrees(project)
    return project


def add_worktrees(project: Path) -> None:
    """Two real git worktrees of the project with its settings and teams committed: `.worktrees/task-x`
    inside it (the default place) and `../wt/task-y` outside it (a `root:` in worktrees.yaml)."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}
    for args in (["add", ".claude/settings.json", ".claude/teams.yaml", "src/app.py"], ["commit", "-q", "-m", "init"],
                 ["worktree", "add", "-q", "-b", "task-x", ".worktrees/task-x"],
                 ["worktree", "add", "-q", "-b", "task-y", str(project.parent / "wt" / "task-y")]):
        subprocess.run(["git", "-C", str(project), *args], check=True, env=env, capture_output=True)


@pytest.fixture
def org(tree: Path) -> teams.Organization:
    return teams.load(tree)


@pytest.fixture
def policy(tree: Path) -> policies.Policy:
    return policies.load(tree)


def write_policy(project: Path, text: str) -> policies.Policy:
    path = project / ".claude" / "policy.yaml"
    path.write_text(text)
    return policies.load(project)
