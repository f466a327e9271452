"""Where the project root is when no CLAUDE_PROJECT_DIR says so: real git repositories and worktrees."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from orchestra import paths


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv(paths.PROJECT_ENV, raising=False)
    monkeypatch.delenv(paths.STATE_DIR_ENV, raising=False)
    paths.project_root.cache_clear()
    root = tmp_path / "shop with spaces"
    (root / ".claude" / "orchestra").mkdir(parents=True)
    (root / ".claude" / "orchestra" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "init")
    yield root
    paths.project_root.cache_clear()


def test_root_is_found_from_a_subdirectory(repo: Path) -> None:
    assert paths.project_root(str(repo / "src")) == repo.resolve()


def test_inside_a_linked_worktree_the_state_is_the_main_checkouts(repo: Path) -> None:
    tree = repo / ".worktrees" / "task-1"
    git(repo, "worktree", "add", "-q", "-b", "orchestra/task-1", str(tree))
    assert (tree / ".claude" / "orchestra").is_dir()  # the pack is committed, so the worktree has a copy
    assert paths.project_root(str(tree / "src")) == repo.resolve()
    assert paths.state_dir(paths.project_root(str(tree))) == repo.resolve() / ".claude" / "state"


def test_a_worktree_of_a_checkout_without_the_pack_keeps_its_own_root(repo: Path, tmp_path: Path) -> None:
    tree = tmp_path / "elsewhere"
    git(repo, "worktree", "add", "-q", "-b", "side", str(tree))
    shutil.rmtree(repo / ".claude")  # the main checkout no longer carries the pack
    paths.project_root.cache_clear()
    assert paths.project_root(str(tree)) == tree.resolve()


def test_a_broken_git_file_is_ignored(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy"
    (other / ".claude" / "orchestra").mkdir(parents=True)
    (other / ".git").write_text("not a gitdir line\n")
    assert paths.project_root(str(other)) == other.resolve()


def test_in_plugin_form_a_worktree_finds_the_main_checkouts_state(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(paths.PROJECT_ENV, raising=False)
    root = tmp_path / "plugin shop"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    git(root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "init")
    tree = tmp_path / "trees" / "task-1"
    git(root, "worktree", "add", "-q", "-b", "orchestra/task-1", str(tree))
    paths.project_root.cache_clear()
    assert paths.project_root(str(tree / "src")) == tree.resolve()  # not an Orchestra project yet
    (root / ".claude" / "state").mkdir(parents=True)  # the plugin's hooks have run in the main checkout
    paths.project_root.cache_clear()
    try:
        assert paths.project_root(str(tree / "src")) == root.resolve()
        assert paths.state_dir(paths.project_root(str(tree))) == root.resolve() / ".claude" / "state"
    finally:
        paths.project_root.cache_clear()


def test_in_a_bare_repositorys_checkout_a_worktree_finds_that_checkouts_state(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "shop.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    checkout = tmp_path / "main checkout"
    git(bare, "worktree", "add", "-q", str(checkout), "main")
    tree = checkout / ".worktrees" / "task-1"
    git(bare, "worktree", "add", "-q", "-b", "task-1", str(tree))
    assert (tree / ".claude" / "orchestra").is_dir()  # the pack is committed, so the worktree has a copy
    assert paths.project_root(str(checkout / "src")) == checkout.resolve()
    assert paths.project_root(str(tree / "src")) == checkout.resolve()
    beside = tmp_path / "beside"  # a checkout next to the project's: a project of its own
    git(bare, "worktree", "add", "-q", "-b", "beside", str(beside))
    assert paths.project_root(str(beside)) == beside.resolve()


def test_a_relative_state_dir_is_the_projects_from_every_working_directory(repo: Path) -> None:
    """`ORCHESTRA_STATE_DIR=.claude/team-state`: a command run in a subdirectory, or a subagent's hook in its
    worktree, made a store of its own there, and what the others wrote was not in it."""
    import os
    import sys

    tree = repo / ".worktrees" / "task-1"
    git(repo, "worktree", "add", "-q", "-b", "orchestra/task-1", str(tree))
    env = {k: v for k, v in os.environ.items() if k not in (paths.PROJECT_ENV, paths.STATE_URL_ENV)}
    env[paths.STATE_DIR_ENV] = ".claude/team-state"

    def orchestra(cwd: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from orchestra.cli import run; run()", *args], cwd=cwd,
                              env=env, capture_output=True, text=True, timeout=120)

    for n, cwd in enumerate((repo, repo / "src", tree / "src")):
        assert orchestra(cwd, "state", "set", f"tasks.t{n}", '{"title": "x"}').returncode == 0
    listed = orchestra(tree, "task", "list")
    assert listed.returncode == 0 and all(f"t{n}" in listed.stdout for n in range(3)), listed.stdout
    assert [p.relative_to(repo) for p in repo.rglob("team-state")] == [Path(".claude/team-state")]
