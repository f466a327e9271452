"""Worktrees checked out side by side: the creation lock covers git's records (`git worktree add
--no-checkout`), not the checkout, so parallel delegations that each need a new worktree do not wait for
each other's files. A checkout that fails or is cut short leaves no worktree that is taken for a ready one.

Real git, real hook scripts and CLI processes; a `post-checkout` hook or a smudge filter holds one
checkout until the test lets it go, so nothing depends on timing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from orchestra.metrics.eventtext import describe

from tests.conftest import hook_output, run_hook
from tests.worktrees.conftest import cli, cli_json, commit_all, delegation, events, git, seed, state
from tests.worktrees.test_slow_creation import answer, start_hook, wait_for

NULL = "0" * 40


@pytest.fixture
def tasks(repo: Path) -> Path:
    seed(repo, **{"tasks.t-1": {"title": "Cart"}, "tasks.t-2": {"title": "Search"}})
    return repo


def held_checkout(repo: Path, tmp_path: Path, worktree: str) -> tuple[Path, Path]:
    """A `post-checkout` hook that, in the worktree `worktree` only, notes it runs (`<tmp>/held`), then waits
    for `<tmp>/go`; every run appends its arguments and directory to `<tmp>/hook.log`."""
    hooks, held, go = tmp_path / "git hooks", tmp_path / "held", tmp_path / "go"
    hooks.mkdir()
    (hooks / "post-checkout").write_text(f"""#!/bin/sh
echo "$1 $2 $3 $(pwd)" >> '{tmp_path / "hook.log"}'
case "$(pwd)" in
  */{worktree}) touch '{held}'; n=0; while [ ! -f '{go}' ] && [ $n -lt 2400 ]; do sleep 0.05; n=$((n+1)); done;;
esac
""")
    (hooks / "post-checkout").chmod(0o755)
    git(repo, "config", "core.hooksPath", str(hooks))
    return held, go


def test_a_delegation_makes_its_worktree_while_another_checkout_is_still_going_on(tasks: Path, tmp_path: Path) -> None:
    """The second delegation's worktree is made and handed out while the first one's checkout is held: it
    neither waits for it nor is denied with `try again in a moment`."""
    repo = tasks
    first_tree, second_tree = repo / ".worktrees" / "task-t-1", repo / ".worktrees" / "task-t-2"
    held, go = held_checkout(repo, tmp_path, "task-t-1")
    first = start_hook("pre_agent.py", delegation(repo, "toolu_1", "fullstack-eng", "t-1"), repo, {})
    try:
        wait_for(held)
        second = run_hook("pre_agent.py", delegation(repo, "toolu_2", "api-engineer", "t-2"), repo)
        assert first.poll() is None, "the first checkout was over before the second began: the test proves nothing"
        assert second.returncode == 0, second.stderr.decode()
        out = hook_output(second)["hookSpecificOutput"]
        assert out.get("permissionDecision") != "deny", out
        assert f"Worktree: {second_tree} (work and commit only inside it)" in out["updatedInput"]["prompt"]
        assert (second_tree / "README.md").read_text() == "# shop\n"
        assert state(repo, "worktrees.task-t-2.lock.delegation") == "toolu_2"
        assert state(repo, "worktrees.task-t-1") is None  # still being made: not recorded, not handed out
    finally:
        go.touch()
    made = answer(first)["hookSpecificOutput"]
    assert f"Worktree: {first_tree} (" in made["updatedInput"]["prompt"]
    assert (first_tree / "README.md").read_text() == "# shop\n"
    head = git(repo, "rev-parse", "main").strip()
    # the hook ran once per new worktree, in it, with the arguments `git worktree add` gives it
    assert sorted((tmp_path / "hook.log").read_text().splitlines()) == sorted(
        [f"{NULL} {head} 1 {first_tree}", f"{NULL} {head} 1 {second_tree}"])


def test_the_same_worktree_asked_for_during_its_checkout_is_not_handed_out_half_made(tasks: Path,
                                                                                    tmp_path: Path) -> None:
    """A team worktree two delegations share: while the first checks it out, the second is told it is still
    being prepared, never handed a directory whose files are not all there."""
    repo = tasks
    seed(repo, **{"tasks.q-1": {"title": "Smoke", "team": "qa", "assignee": "qa-engineer", "type": "test"},
                  "tasks.q-2": {"title": "Load", "team": "qa", "assignee": "qa-engineer", "type": "test"}})
    held, go = held_checkout(repo, tmp_path, "team-qa-work")
    first = start_hook("pre_agent.py", delegation(repo, "toolu_q1", "qa-engineer", "q-1"), repo, {})
    try:
        wait_for(held)
        second = run_hook("pre_agent.py", delegation(repo, "toolu_q2", "qa-engineer", "q-2"), repo)
        assert first.poll() is None, "the checkout was over before the second delegation: the test proves nothing"
        denied = hook_output(second)["hookSpecificOutput"]
        assert denied["permissionDecision"] == "deny", denied
        assert "is still being prepared by process " in denied["permissionDecisionReason"], denied
    finally:
        go.touch()
    assert "team-qa-work" in answer(first)["hookSpecificOutput"]["updatedInput"]["prompt"]


def blocking_filter(repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Files `*.slow` go through a smudge filter that notes it runs (`<tmp>/in-checkout`) and waits for
    `<tmp>/go`: a checkout held halfway, some files written, others not."""
    flag, go = tmp_path / "in-checkout", tmp_path / "go"
    (repo / ".gitattributes").write_text("*.slow filter=held\n")
    (repo / "data.slow").write_text("slow\n")
    commit_all(repo, "slow files")
    git(repo, "config", "filter.held.smudge",
        f"sh -c \"touch '{flag}'; while [ ! -f '{go}' ]; do sleep 0.05; done; cat\"")
    git(repo, "config", "filter.held.clean", "cat")
    git(repo, "config", "filter.held.required", "true")
    return flag, go


def cut_short_checkout(repo: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """`orchestra worktree create t-1` killed outright halfway through its checkout (a power cut, a hook past its
    timeout): a worktree git lists, with no index and some files missing. Returns the worktree and the
    filter's flag and `go` files, both present (the filter lets checkouts through)."""
    tree = repo / ".worktrees" / "task-t-1"
    flag, go = blocking_filter(repo, tmp_path)
    creator = subprocess.Popen([sys.executable, "-c", "from orchestra.cli import run; run()", "worktree", "create",
                                "t-1"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env={**os.environ, "CLAUDE_PROJECT_DIR": str(repo)})
    wait_for(flag)
    os.killpg(creator.pid, signal.SIGKILL)  # the command, git and the filter: a power cut, a hook's timeout
    creator.wait()
    go.touch()
    assert (tree / ".git").is_file() and not (tree / "data.slow").exists() and not index_of(repo, tree).exists()
    return tree, flag, go


def index_of(repo: Path, tree: Path) -> Path:
    return repo / ".git" / "worktrees" / tree.name / "index"


def test_a_worktree_whose_checkout_was_cut_short_is_made_afresh_by_the_next_create(tasks: Path,
                                                                                   tmp_path: Path) -> None:
    """Its creator is gone, no run was ever given it and its branch has no commits: nothing of anyone's work can
    be in it, so `worktree create` removes it (with its branch) and makes it again, and says so."""
    repo = tasks
    tree, _, _ = cut_short_checkout(repo, tmp_path)
    (tree / "stray.txt").write_text("left by the checkout\n")

    again = cli(repo, "worktree", "create", "t-1", "--json")
    assert again.returncode == 0, again.stderr
    assert ("orchestra worktree create: task-t-1 had been cut short (its checkout was cut short: the process "
            "preparing it stopped before it was done); nothing of anyone's work could be in it, so it and its branch "
            "task-t-1 were removed and made afresh") in again.stderr, again.stderr
    made = json.loads(again.stdout)
    assert made["path"] == str(tree) and made["repaired"]["branch_deleted"] is True
    assert (tree / "data.slow").read_text() == "slow\n" and index_of(repo, tree).is_file()
    assert not (tree / "stray.txt").exists() and git(repo, "-C", str(tree), "status", "--porcelain") == ""
    assert not (repo / ".claude" / "state" / "worktrees" / "task-t-1.preparing").exists()
    repaired = events(repo, "worktree_repaired")
    assert [(e["data"]["worktree"], e["data"]["branch"], e["task_id"]) for e in repaired] == [
        ("task-t-1", "task-t-1", "t-1")], repaired
    assert "its checkout was cut short" in repaired[0]["data"]["why"]
    assert describe(repaired[0]) == ("worktree task-t-1 cut short before (its checkout was cut short: the process "
                                     "preparing it stopped before it was done), removed with its branch and made "
                                     "afresh for t-1")
    assert [e["data"]["worktree"] for e in events(repo, "worktree_created")] == ["task-t-1"]
    assert state(repo, "worktrees.task-t-1.status") == "active"


def test_a_delegation_makes_a_cut_short_worktree_afresh_and_is_handed_it(tasks: Path, tmp_path: Path) -> None:
    repo = tasks
    tree, _, _ = cut_short_checkout(repo, tmp_path)
    out = run_hook("pre_agent.py", delegation(repo, "toolu_next", "fullstack-eng", "t-1"), repo)
    made = hook_output(out)["hookSpecificOutput"]
    assert made.get("permissionDecision") != "deny", made
    assert f"Worktree: {tree} (" in made["updatedInput"]["prompt"]
    assert (tree / "data.slow").read_text() == "slow\n" and index_of(repo, tree).is_file()
    assert state(repo, "worktrees.task-t-1.lock.delegation") == "toolu_next"
    assert [(e["data"]["worktree"], e["task_id"]) for e in events(repo, "worktree_repaired")] == [("task-t-1", "t-1")]
    assert [e["data"]["worktree"] for e in events(repo, "worktree_created")] == ["task-t-1"]


def test_two_delegations_racing_for_a_cut_short_worktree_repair_it_once(tasks: Path, tmp_path: Path) -> None:
    """The first makes it afresh under the creation lock; the second finds the new one being prepared."""
    repo = tasks
    tree, flag, go = cut_short_checkout(repo, tmp_path)
    flag.unlink()
    go.unlink()  # the next checkout is held again
    first = start_hook("pre_agent.py", delegation(repo, "toolu_1", "fullstack-eng", "t-1"), repo, {})
    try:
        wait_for(flag)  # the first has repaired it and is checking the new one out
        second = run_hook("pre_agent.py", delegation(repo, "toolu_2", "fullstack-eng", "t-1"), repo)
        assert first.poll() is None, "the first delegation was done before the second: the test proves nothing"
        denied = hook_output(second)["hookSpecificOutput"]
        assert denied["permissionDecision"] == "deny", denied
        assert "is still being prepared by process " in denied["permissionDecisionReason"], denied
    finally:
        go.touch()
    assert f"Worktree: {tree} (" in answer(first)["hookSpecificOutput"]["updatedInput"]["prompt"]
    assert len(events(repo, "worktree_repaired")) == 1 and index_of(repo, tree).is_file()
    assert state(repo, "delegations.toolu_2") is None


def test_a_cut_short_worktree_whose_branch_has_commits_is_refused_not_repaired(tasks: Path, tmp_path: Path) -> None:
    """A commit on its branch beyond its base may be someone's work: the worktree is left as it is."""
    repo = tasks
    tree, _, _ = cut_short_checkout(repo, tmp_path)
    tip = git(repo, "commit-tree", "-p", "task-t-1", "-m", "someone's work", "task-t-1^{tree}").strip()
    git(repo, "update-ref", "refs/heads/task-t-1", tip)

    again = cli(repo, "worktree", "create", "t-1")
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert f"{tree} was made but never prepared" in again.stderr, again.stderr
    assert "its checkout was cut short" in again.stderr, again.stderr
    assert ("it is not repaired by itself because its branch task-t-1 has 1 commit(s) beyond its base "
            f"({tip[:7]}") in again.stderr, again.stderr
    assert "`orchestra worktree remove task-t-1 --force`" in again.stderr
    out = run_hook("pre_agent.py", delegation(repo, "toolu_next", "fullstack-eng", "t-1"), repo)
    denied = hook_output(out)["hookSpecificOutput"]
    assert denied["permissionDecision"] == "deny" and "its branch task-t-1 has 1 commit(s) beyond its base" in \
        denied["permissionDecisionReason"], denied
    assert state(repo, "worktrees.task-t-1") is None and state(repo, "delegations.toolu_next") is None
    assert events(repo, "worktree_repaired") == [] and not index_of(repo, tree).exists()
    assert git(repo, "rev-parse", "task-t-1").strip() == tip

    removed = cli(repo, "worktree", "remove", "task-t-1", "--force")  # what the refusal says to do works
    assert removed.returncode == 0, removed.stderr
    assert not tree.exists() and git(repo, "rev-parse", "task-t-1").strip() == tip  # its commit is kept
    made = cli_json(repo, "worktree", "create", "t-1")
    assert made["path"] == str(tree) and (tree / "data.slow").read_text() == "slow\n"


def test_a_checkout_that_fails_removes_the_new_worktree_and_its_branch_and_says_why(tasks: Path,
                                                                                   tmp_path: Path) -> None:
    repo, tree = tasks, tasks / ".worktrees" / "task-t-1"
    (repo / ".gitattributes").write_text("*.slow filter=broken\n")
    (repo / "data.slow").write_text("slow\n")
    commit_all(repo, "slow files")
    git(repo, "config", "filter.broken.smudge", "sh -c 'echo lfs object missing >&2; exit 3'")
    git(repo, "config", "filter.broken.required", "true")

    failed = cli(repo, "worktree", "create", "t-1")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert "data.slow" in failed.stderr and f"the new worktree {tree} was removed again" in failed.stderr
    listed = [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]
    assert not tree.exists() and len(listed) == 1, listed
    assert git(repo, "branch", "--list", "task-t-1").strip() == "" and state(repo, "worktrees.task-t-1") is None

    git(repo, "config", "filter.broken.smudge", "cat")
    git(repo, "config", "filter.broken.clean", "cat")
    assert cli_json(repo, "worktree", "create", "t-1")["path"] == str(tree)
    assert (tree / "data.slow").read_text() == "slow\n"


def test_sparse_checkout_and_submodules_come_out_as_git_worktree_add_makes_them(tasks: Path, tmp_path: Path) -> None:
    """The new worktree takes the project's sparse-checkout patterns and leaves submodules for `git submodule
    update`, as a plain `git worktree add` does."""
    repo = tasks
    source = tmp_path / "lib source"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    (source / "lib.py").write_text("X = 1\n")
    commit_all(source, "lib")
    (repo / "docs").mkdir()
    (repo / "docs" / "guide.md").write_text("guide\n")
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("app\n")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(source), "lib")
    commit_all(repo, "layout")
    git(repo, "sparse-checkout", "set", "--cone", "src", ".claude")
    plain = tmp_path / "plain"
    git(repo, "worktree", "add", "-q", "-b", "plain", str(plain), "main")

    tree = Path(cli_json(repo, "worktree", "create", "t-1")["path"])

    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.parts)
    assert files(tree) == files(plain) and "src/app.py" in files(tree) and "docs/guide.md" not in files(tree)
    assert git(tree, "ls-files", "-t") == git(plain, "ls-files", "-t")
    assert git(tree, "status", "--porcelain") == git(plain, "status", "--porcelain") == ""


def test_a_git_without_hook_run_checks_out_inside_git_worktree_add(tasks: Path, tmp_path: Path) -> None:
    """git before 2.36 cannot run the post-checkout hook on its own: the whole `git worktree add` then runs
    under the creation lock, as before, so the hook still runs once, with the same arguments."""
    repo, tree = tasks, tasks / ".worktrees" / "task-t-1"
    real, bindir, calls = shutil.which("git"), tmp_path / "old-git", tmp_path / "calls"
    bindir.mkdir()
    (bindir / "git").write_text(f"""#!/bin/sh
echo "$*" >> '{calls}'
case "$*" in
  version|--version|*" version"|*" --version") echo 'git version 2.34.1'; exit 0;;
  *" hook run "*) echo "git: 'hook' is not a git command. See 'git --help'." >&2; exit 1;;
esac
exec '{real}' "$@"
""")
    (bindir / "git").chmod(0o755)
    held_checkout(repo, tmp_path, "never-held")
    made = cli(repo, "worktree", "create", "t-1", env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"})
    assert made.returncode == 0, made.stderr
    assert (tree / "README.md").read_text() == "# shop\n"
    adds = [line for line in calls.read_text().splitlines() if " worktree add " in f" {line} "]
    assert adds and not any("--no-checkout" in line for line in adds), adds
    head = git(repo, "rev-parse", "main").strip()
    assert (tmp_path / "hook.log").read_text().splitlines() == [f"{NULL} {head} 1 {tree}"]
