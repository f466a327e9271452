"""A Claude Code session started inside one of the pack's worktrees (`cd .worktrees/task-t-1 && claude`):
Claude Code gives it that worktree as CLAUDE_PROJECT_DIR and as the statusLine's `workspace.project_dir`,
and the hooks and the status line still use the main checkout's state, as the `orchestra` CLI does there.
Worktrees that are not the pack's keep the directory Claude Code names."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PACK, run_hook
from tests.worktrees.conftest import cli_json, git, payload, seed

STATUS_LINE = PACK / "status_line.py"


def _sprint(repo: Path) -> Path:
    """A started sprint `s1` whose task `t-1` has the worktree `orchestra worktree create` makes: its path."""
    seed(repo, **{"sprints.s1": {"name": "Checkout", "status": "active", "started_at": "2026-12-01T00:00:00Z",
                                 "tasks": ["t-1"]},
                  "tasks.t-1": {"title": "Cart", "sprint": "s1"}})
    made = cli_json(repo, "worktree", "create", "t-1", "--strategy", "task")
    return Path(made["path"])


def status_line(where: Path, *, env_dir: Path | None) -> str:
    """The real status line as Claude Code runs it in a session started in `where`."""
    env = {k: v for k, v in os.environ.items() if k not in ("CLAUDE_PROJECT_DIR", "NO_COLOR", "COLUMNS")}
    env["NO_COLOR"] = "1"
    if env_dir is not None:
        env["CLAUDE_PROJECT_DIR"] = str(env_dir)
    stdin = json.dumps({"session_id": "s-1", "cwd": str(where), "model": {"display_name": "Opus"},
                        "workspace": {"current_dir": str(where), "project_dir": str(where), "added_dirs": []}})
    proc = subprocess.run(["uv", "run", "--quiet", "--script", str(STATUS_LINE)], input=stdin, capture_output=True,
                          text=True, cwd=where, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("env", [True, False], ids=["CLAUDE_PROJECT_DIR", "workspace.project_dir"])
def test_the_status_line_of_a_session_in_a_task_worktree_shows_the_projects_sprint(repo: Path, env: bool) -> None:
    tree = _sprint(repo)
    assert tree.parent == repo / ".worktrees"
    shown = status_line(tree, env_dir=tree if env else None)
    assert "s1" in shown and "no state yet" not in shown, shown
    assert not (tree / ".claude" / "state").exists()


def test_the_hooks_of_a_session_in_a_task_worktree_use_the_projects_state(repo: Path) -> None:
    tree = _sprint(repo)
    audit = repo / ".claude" / "state" / "audit.jsonl"
    before = audit.read_text(encoding="utf-8").count("\n") if audit.exists() else 0
    proc = run_hook("session_start.py", payload(tree, "SessionStart", source="startup"), tree, cwd=tree)
    assert proc.returncode == 0, proc.stderr
    context = json.loads(proc.stdout)["hookSpecificOutput"]["additionalContext"]
    assert "s1" in context  # the sprint in progress, from the main checkout's store
    assert audit.read_text(encoding="utf-8").count("\n") == before + 1
    assert not (tree / ".claude" / "state").exists()  # no second store made in the worktree


@pytest.mark.parametrize("where", ["beside the project", ".claude/worktrees/native"])
def test_a_worktree_that_is_not_the_packs_keeps_its_own_project_dir(repo: Path, tmp_path: Path, where: str) -> None:
    """A worktree of your own beside the project, or one Claude Code made (`claude --worktree`): not the pack's."""
    _sprint(repo)
    tree = tmp_path / "mine" if where.startswith("beside") else repo / where
    git(repo, "worktree", "add", "-q", "-b", "mine", str(tree))
    assert "no state yet" in status_line(tree, env_dir=tree)
    proc = run_hook("session_start.py", payload(tree, "SessionStart", source="startup"), tree, cwd=tree)
    assert proc.returncode == 0, proc.stderr
    assert (tree / ".claude" / "state" / "audit.jsonl").is_file()  # its own state, as before


def test_a_worktree_root_set_in_worktrees_yaml_counts(repo: Path, tmp_path: Path) -> None:
    config = repo / ".claude" / "worktrees.yaml"
    config.write_text(f"root: {tmp_path / 'trees'}\n", encoding="utf-8")
    tree = _sprint(repo)
    assert tree.parent == tmp_path / "trees"
    assert "s1" in status_line(tree, env_dir=tree)
    # the file changed since the pack read it: the root it read still holds the worktrees it made there
    config.write_text(f"root: {tmp_path / 'new trees'}\n", encoding="utf-8")
    assert "s1" in status_line(tree, env_dir=tree)
