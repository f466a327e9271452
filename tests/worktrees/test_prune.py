"""`orchestra worktree prune`: orphans and finished worktrees go, live and dirty work stays, stale locks come off."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.worktrees.conftest import SESSION, cli_json, commit_all, events, git, seed, state


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def listed(repo: Path) -> set[str]:
    return {line[len("worktree "):] for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")}


def lock(agent_id: str, **extra) -> dict:
    return {"agent_id": agent_id, "delegation": None, "session_id": SESSION, "task": None, "by": "delegation",
            "acquired_at": ago(seconds=10), **extra}


def test_prune_removes_only_what_nobody_needs(repo: Path) -> None:
    root = repo / ".worktrees"
    seed(repo, **{f"tasks.{t}": {"title": t, "status": s} for t, s in (
        ("done-clean", "completed"), ("done-unmerged", "completed"), ("done-held", "completed"),
        ("gone", "in_progress"), ("gone-held", "in_progress"), ("stale", "in_progress"), ("live", "in_progress"))})
    seed(repo, **{"agents.r-live": {"id": "r-live", "status": "active", "session_id": SESSION},
                  "agents.r-dead": {"id": "r-dead", "status": "completed", "session_id": SESSION}})
    trees = {t: Path(cli_json(repo, "worktree", "create", t)["path"])
             for t in ("done-clean", "done-unmerged", "done-held", "gone", "gone-held", "stale", "live")}
    seed(repo, **{"worktrees.task-done-held.lock": lock("r-live"), "worktrees.task-gone-held.lock": lock("r-live"),
                  "worktrees.task-live.lock": lock("r-live"), "worktrees.task-stale.lock": lock("r-dead")})
    (trees["done-unmerged"] / "feature.py").write_text("x = 1\n")
    commit_all(trees["done-unmerged"], "not merged yet")
    shutil.rmtree(trees["gone"])
    shutil.rmtree(trees["gone-held"])
    git(repo, "worktree", "add", "-q", str(root / "orphan-clean"), "-b", "orphan-clean")
    git(repo, "worktree", "add", "-q", str(root / "orphan-dirty"), "-b", "orphan-dirty")
    (root / "orphan-dirty" / "wip.txt").write_text("unsaved\n")
    foreign = repo / ".claude" / "worktrees" / "bold-fox"
    git(repo, "worktree", "add", "-q", str(foreign), "-b", "worktree-bold-fox")
    before_state, before_git = state(repo, "worktrees"), listed(repo)

    dry = cli_json(repo, "worktree", "prune", "--dry-run")
    assert state(repo, "worktrees") == before_state and listed(repo) == before_git  # nothing changed

    report = cli_json(repo, "worktree", "prune")
    assert report == dry
    assert sorted(e.get("worktree") or Path(e["path"]).name for e in report["removed"]) == [
        "orphan-clean", "task-done-clean"]
    assert [e["worktree"] for e in report["closed"]] == ["task-gone"]
    assert [(e["worktree"], e["why"]) for e in report["locks_released"]] == [("task-stale", "run r-dead is completed")]
    kept = {e.get("worktree") or Path(e["path"]).name: e["why"] for e in report["kept"]}
    assert kept == {"orphan-dirty": "orphan with 1 uncommitted change(s) (wip.txt)",
                    "task-done-unmerged": "its task is finished but it has 1 unmerged commit(s)",
                    "task-done-held": "held by a live run", "task-gone-held": "held by a live run"}
    assert [e["path"] for e in report["foreign"]] == [str(foreign)]

    now = listed(repo)
    assert str(root / "orphan-clean") not in now and str(trees["done-clean"]) not in now
    assert {str(root / "orphan-dirty"), str(foreign), str(trees["done-held"]), str(trees["live"]),
            str(trees["done-unmerged"]), str(trees["stale"])} <= now
    assert (root / "orphan-dirty" / "wip.txt").exists() and trees["done-held"].is_dir()
    assert git(repo, "branch", "--list", "task-done-clean").strip() == ""  # merged: its branch went too
    assert git(repo, "branch", "--list", "orphan-clean").strip()  # not ours: the branch is kept
    assert state(repo, "worktrees.task-done-clean.status") == "removed"
    assert state(repo, "worktrees.task-gone.status") == "removed"
    assert state(repo, "worktrees.task-gone-held.status") == "active"
    assert state(repo, "worktrees.task-stale.lock") is None
    assert state(repo, "worktrees.task-live.lock.agent_id") == "r-live"
    assert len(events(repo, "worktree_lock_recovered")) == 1 and len(events(repo, "worktrees_pruned")) == 1

    assert cli_json(repo, "worktree", "prune")["removed"] == []  # a second prune finds nothing new to remove


def test_prune_judges_a_finished_worktree_by_the_branch_it_has_checked_out(repo: Path) -> None:
    seed(repo, **{f"tasks.{t}": {"title": t, "status": "completed"} for t in ("renamed", "done")})
    renamed, done = (Path(cli_json(repo, "worktree", "create", t)["path"]) for t in ("renamed", "done"))
    git(renamed, "branch", "-m", "my-name")
    (renamed / "feature.py").write_text("x = 1\n")
    commit_all(renamed, "work on the renamed branch")

    report = cli_json(repo, "worktree", "prune")
    assert [e["worktree"] for e in report["removed"]] == ["task-done"] and not done.exists()
    assert report["kept"] == [{"worktree": "task-renamed", "why": "its task is finished but it has 1 unmerged commit(s)"}]
    assert renamed.is_dir() and "work on the renamed branch" in git(repo, "log", "--format=%s", "my-name")


def test_a_record_whose_directory_git_no_longer_lists_is_closed_and_the_directory_left(repo: Path) -> None:
    seed(repo, **{"tasks.unlisted": {"title": "x"}})
    tree = Path(cli_json(repo, "worktree", "create", "unlisted")["path"])
    git(repo, "worktree", "remove", str(tree))
    tree.mkdir()
    (tree / "late.txt").write_text("written after git removed it\n")

    report = cli_json(repo, "worktree", "prune")
    assert report["closed"] == [{"worktree": "task-unlisted",
                                 "why": f"git no longer lists it as a worktree; {tree} is left as it is"}]
    assert (tree / "late.txt").exists() and state(repo, "worktrees.task-unlisted.status") == "removed"
