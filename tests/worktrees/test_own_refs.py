"""Refs a member makes itself, and the refs every worktree shares (refs/replace, refs/stash), through the real
PreToolUse hook: a member may delete, rename or move the branches and tags its own run made, never one someone
else made under the same name, and leaves the shared replacements and other branches' stashes alone."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.worktrees.conftest import GIT_ENV, git, seed, state, tool_call
from tests.worktrees.test_hooks import MEMBER, guard, in_process, live_member

OTHERS = "which is not your worktree's branch task-t-1"


def asked(repo: Path, tree: Path, command: str, **fields) -> dict:
    """The real hook's answer to the member's Bash call `command` (run from its worktree)."""
    return guard(repo, tool_call(repo, MEMBER, "Bash", {"command": command, **fields}, cwd=tree))


def allowed_and_run(repo: Path, tree: Path, command: str, **fields) -> subprocess.CompletedProcess:
    """The member's Bash call, let through by the hook and then run in its worktree, as Claude Code would."""
    answer = asked(repo, tree, command, **fields)
    assert "permissionDecision" not in answer, (command, answer)
    return subprocess.run(command, shell=True, cwd=tree, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, timeout=60)


def denied(repo: Path, tree: Path, command: str) -> str:
    answer = asked(repo, tree, command)
    assert answer.get("permissionDecision") == "deny", (command, answer)
    return answer["permissionDecisionReason"]


@pytest.fixture
def member(repo: Path) -> tuple[Path, Path]:
    """The project, and the worktree of fullstack-eng at work on task t-1 (branch task-t-1)."""
    seed(repo, **{"sprints.s1": {"id": "s1", "name": "Checkout", "status": "active"},
                  "tasks.t-1": {"title": "Cart", "sprint": "s1"}})
    return repo, live_member(repo)


def later(repo: Path, *args: str) -> None:
    """Someone else (the orchestrator, in the main checkout) runs git an hour from now: the reflog it writes
    carries that time."""
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60,
                   env={**os.environ, **GIT_ENV, "GIT_COMMITTER_DATE": f"@{int(time.time()) + 3600} +0000"})


def test_a_member_deletes_renames_and_moves_the_branches_and_tags_it_made_itself(member: tuple[Path, Path]) -> None:
    repo, tree = member
    assert allowed_and_run(repo, tree, "git branch scratch && git tag wip").returncode == 0
    assert allowed_and_run(repo, tree, "git checkout -q -b spike").returncode == 0
    # HEAD names spike now; the worktree's own branch, which Orchestra made it with, is still the member's
    assert allowed_and_run(repo, tree, "git checkout -q task-t-1").returncode == 0
    assert allowed_and_run(repo, tree, "git switch -q -c other-spike && git switch -q task-t-1").returncode == 0
    made = state(repo, f"agents.{MEMBER[0]}.refs_made")
    assert {"refs/heads/scratch", "refs/tags/wip", "refs/heads/spike", "refs/heads/other-spike"} <= set(made), made
    assert allowed_and_run(repo, tree, "git update-ref refs/heads/by-hand HEAD && git branch -c main copy").returncode == 0
    for command in ("git update-ref -d refs/heads/by-hand", "git branch -f scratch HEAD~0", "git tag -f wip",
                    "git branch -m spike spike-2",
                    "git branch -D spike-2 scratch other-spike copy", "git tag -d wip"):
        assert allowed_and_run(repo, tree, command).returncode == 0, command
    assert not git(repo, "branch", "--list", "scratch", "spike", "spike-2", "other-spike", "copy").strip()
    assert git(repo, "rev-parse", "--verify", "-q", "main")
    assert not git(repo, "tag", "--list", "wip").strip()


def test_branches_and_tags_made_by_others_stay_protected(member: tuple[Path, Path]) -> None:
    repo, tree = member
    git(repo, "branch", "feature-x")
    git(repo, "tag", "v1")
    assert allowed_and_run(repo, tree, "git branch scratch").returncode == 0
    reason = denied(repo, tree, "git branch -D scratch feature-x")
    assert f"Bash `git branch -d` deleting refs/heads/feature-x, {OTHERS}" in reason, reason
    assert "ask the orchestrator, who merges, to move or delete the branch feature-x" in reason
    assert f"refs/tags/v1, {OTHERS}" in denied(repo, tree, "git tag -d v1")
    assert git(repo, "rev-parse", "--verify", "-q", "feature-x")


def test_a_creation_that_failed_gives_no_right_to_a_ref_someone_else_makes_later(member: tuple[Path, Path]) -> None:
    repo, tree = member
    # let through while the names are free, then failing: the run made none of them
    failed = allowed_and_run(repo, tree, "git branch late no-such-start; git tag late-tag no-such-object",
                             timeout=5000)
    assert failed.returncode != 0
    assert {"refs/heads/late", "refs/tags/late-tag"} <= set(state(repo, f"agents.{MEMBER[0]}.refs_made"))
    later(repo, "branch", "late")
    later(repo, "tag", "late-tag")
    tag_file = repo / ".git" / "refs" / "tags" / "late-tag"
    os.utime(tag_file, (time.time() + 3600, time.time() + 3600))
    assert f"refs/heads/late, {OTHERS}" in denied(repo, tree, "git branch -D late")
    assert f"refs/tags/late-tag, {OTHERS}" in denied(repo, tree, "git tag -d late-tag")
    # one the member made, deleted and made again by someone else is not the member's any more
    assert allowed_and_run(repo, tree, "git branch mine").returncode == 0
    later(repo, "branch", "-D", "mine")
    later(repo, "branch", "mine", "main")
    assert f"refs/heads/mine, {OTHERS}" in denied(repo, tree, "git branch -D mine")
    # a name taken when the member asked is recorded for nobody: `git branch -f` moving another's branch is denied
    git(repo, "branch", "taken")
    assert f"refs/heads/taken, {OTHERS}" in denied(repo, tree, "git branch -f taken HEAD")


@pytest.mark.parametrize("command, why", [
    ("git replace HEAD HEAD~0", "`git replace`"),
    ("git replace -f HEAD HEAD~0", "`git replace`"),
    ("git replace -d 0123abcd", "`git replace -d`"),
    ("git replace --edit HEAD", "`git replace --edit`"),
    ("git replace --graft HEAD", "`git replace --graft`"),
    ("git replace --convert-graft-file", "`git replace --convert-graft-file`"),
    ("git update-ref refs/replace/0123 HEAD", "`git update-ref` on refs/replace/0123"),
    ("git -c alias.rp=replace rp -d 0123abcd", "`git replace -d`"),
    ("git stash clear", "`git stash clear`"),
    ("git update-ref -d refs/stash", "`git update-ref -d` on refs/stash"),
    ("git replace -l && git replace && git replace --format=long && git stash && git stash push -m x && "
     "git stash list && git stash show && git stash apply", None),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_a_member_changes_no_replacement_and_clears_no_stash(member: tuple[Path, Path], command: str, why: str | None) -> None:
    repo, tree = member
    verdict = in_process(tool_call(repo, MEMBER, "Bash", {"command": command}, cwd=tree))
    if why is None:
        assert getattr(verdict, "reason", None) is None or "Orchestra:" not in verdict.reason, verdict
        return
    assert why in verdict.reason and "shared by every worktree and the main checkout" in verdict.reason, (
        verdict.reason)


def test_a_member_pops_and_drops_its_own_stashes_but_not_another_branchs(member: tuple[Path, Path]) -> None:
    repo, tree = member
    (repo / "README.md").write_text("# shop, the main checkout's change\n", encoding="utf-8")
    git(repo, "stash", "push", "-q", "-m", "orchestrator's change")  # stash@{1} later: On main
    (tree / "README.md").write_text("# shop, the member's change\n", encoding="utf-8")
    assert allowed_and_run(repo, tree, "git stash").returncode == 0  # stash@{0}: WIP on task-t-1
    reason = denied(repo, tree, "git stash drop stash@{1}")
    assert ("Bash `git stash drop` removing stash@{1}, a stash of the branch main (On main: orchestrator's "
            "change), which is not your worktree's branch task-t-1") in reason, reason
    assert "stash@{1}, a stash of the branch main" in denied(repo, tree, "git stash pop --index 1")
    assert "`git stash branch` removing stash@{1}, a stash of the branch main" in denied(
        repo, tree, "git stash branch from-main stash@{1}")
    assert ("`git dr` (the git alias for `stash drop`) running `git stash drop` removing stash@{1}" in denied(
        repo, tree, "git -c alias.dr='stash drop' dr stash@{1}"))
    assert "name the entry as stash@{N}" in denied(repo, tree, "git stash drop 'stash@{2.hours.ago}'")
    assert allowed_and_run(repo, tree, "git stash apply stash@{1} && git checkout -q -- README.md").returncode == 0
    assert allowed_and_run(repo, tree, "git stash pop").returncode == 0  # stash@{0}: its own
    assert "member's change" in (tree / "README.md").read_text(encoding="utf-8")
    assert "stash@{0}, a stash of the branch main" in denied(repo, tree, "git stash drop")  # now main's is first
    assert git(repo, "stash", "list").count("\n") == 1


def test_a_member_deletes_reflog_entries_of_its_own_stashes_only(member: tuple[Path, Path]) -> None:
    """`git reflog delete stash@{N}` removes a stash as `git stash drop` does, and follows its rule."""
    repo, tree = member
    (repo / "README.md").write_text("# shop, the main checkout's change\n", encoding="utf-8")
    git(repo, "stash", "push", "-q", "-m", "orchestrator's change")  # stash@{1} later: On main
    (tree / "README.md").write_text("# shop, the member's change\n", encoding="utf-8")
    assert allowed_and_run(repo, tree, "git stash").returncode == 0  # stash@{0}: WIP on task-t-1
    reason = denied(repo, tree, "git reflog delete stash@{1}")
    assert ("Bash `git reflog delete` removing stash@{1}, a stash of the branch main (On main: orchestrator's "
            "change), which is not your worktree's branch task-t-1") in reason, reason
    assert "ask the orchestrator to drop it" in reason
    assert "stash@{1}, a stash of the branch main" in denied(repo, tree, "git reflog delete --rewrite refs/stash@{1}")
    # entries go one after another: the second stash@{0} is main's once the member's is gone
    assert "stash@{0}, a stash of the branch main" in denied(repo, tree, "git reflog delete stash@{0} stash@{0}")
    assert "name the entry as stash@{N}" in denied(repo, tree, "git reflog delete 'stash@{2.hours.ago}'")
    assert ("`git rd` (the git alias for `reflog delete`) running `git reflog delete` removing stash@{1}"
            in denied(repo, tree, "git -c alias.rd='reflog delete' rd stash@{1}"))
    git(repo, "config", "alias.forget", "!git reflog delete")
    assert "running `git reflog delete` removing stash@{1}" in denied(repo, tree, "git forget stash@{1}")
    assert allowed_and_run(repo, tree, "git reflog delete --dry-run stash@{1}").returncode == 0
    assert allowed_and_run(repo, tree, "git reflog delete --updateref --rewrite stash@{0}").returncode == 0
    assert git(repo, "stash", "list").splitlines() == ["stash@{0}: On main: orchestrator's change"]


@pytest.mark.parametrize("command, why", [
    ("git reflog expire --all", "`git reflog expire --all` expiring the reflogs of every branch and tag"),
    ("git reflog expire --expire=now --expire-unreachable=now --all --single-worktree", "`git reflog expire --all`"),
    ("git reflog expire --expire=now refs/stash", "`git reflog expire` expiring stashes in refs/stash"),
    ("git reflog expire --expire=now stash", "`git reflog expire` expiring stashes in refs/stash"),
    ("git -c alias.tidy='reflog expire --expire=now --all' tidy", "`git tidy` (the git alias for `reflog expire "
                                                                  "--expire=now --all`) running `git reflog expire"),
    ("git reflog expire --expire=now main", "Bash `git reflog expire` expiring the reflog of refs/heads/main, "
                                            f"{OTHERS}"),
    ("git reflog delete main@{0}", f"Bash `git reflog delete` deleting reflog entries of refs/heads/main, {OTHERS}"),
    ("git reflog delete --updateref refs/heads/main@{0}", "deleting reflog entries of refs/heads/main"),
    ("git reflog expire --expire=now worktrees/other/HEAD", "the reflog of worktrees/other/HEAD"),
    ("git reflog expire --dry-run --all && git reflog expire --dry-run --expire now stash && git reflog show stash && "
     "git reflog && git reflog exists refs/stash && git reflog expire --expire=now task-t-1 HEAD && "
     "git reflog delete HEAD@{0} && git reflog delete task-t-1@{0}", None),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_a_member_expires_no_reflog_but_its_own(member: tuple[Path, Path], command: str, why: str | None) -> None:
    """refs/stash's reflog is the stash list and other branches' reflogs are their history: `git reflog expire`
    touching them (`--all` touches all of them) is denied; the worktree's own branch and HEAD are its own."""
    repo, tree = member
    git(repo, "stash", "list")
    (repo / "README.md").write_text("# shop, the main checkout's change\n", encoding="utf-8")
    git(repo, "stash", "push", "-q", "-m", "orchestrator's change")
    if why is None:
        assert allowed_and_run(repo, tree, command).returncode == 0
        assert git(repo, "stash", "list").count("\n") == 1
        return
    reason = denied(repo, tree, command)
    assert why in reason, reason
    if "refs/stash" in why or "--all" in why:
        assert "shared by every worktree and the main checkout" in reason, reason
