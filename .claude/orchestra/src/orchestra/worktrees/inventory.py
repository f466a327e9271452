"""What `orchestra worktree list` shows: each worktree in state with its holder and whether that holder
is still alive, whether its directory is still there, whether git still lists it as a worktree, and where
git has it now when it was moved by hand (`git worktree move`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..clock import now_iso
from . import config as worktree_config
from .locks import TxReader, describe, holder_run, stale_reason

FIELDS = ("id", "status", "origin", "scope", "scope_id", "branch", "base", "path", "tasks", "sprints")


def listing(store, project: Path, include_removed: bool = False) -> list[dict[str, Any]]:
    from . import git
    from .creation import repository

    cfg = worktree_config.load(project)
    now = now_iso()
    repo = repository(project)
    listed = [w for w in git.worktrees(repo) if not w.prunable] if repo else []
    in_git = {str(Path(w.path).resolve()) for w in listed}
    # a branch checked out in a linked worktree other than the project's own checkout (`git worktree move`)
    checked_out = {w.branch: w.path for w in listed[1:] if w.branch and Path(w.path).resolve() != project.resolve()}
    rows = []
    with store.snapshot() as tx:
        view = TxReader(tx)
        for record in sorted(tx.items("worktrees").values(), key=lambda r: r["id"]):
            if record.get("status") != "active" and not include_removed:
                continue
            row = {k: record.get(k) for k in FIELDS}
            lock = record.get("lock")
            row["exists"] = Path(record.get("path") or "").is_dir()
            # git no longer lists it as a worktree (`git worktree remove` by hand): its directory is no checkout
            row["in_git"] = repo is None or str(Path(record.get("path") or "").resolve()) in in_git
            if not row["in_git"] and record.get("status") == "active" and record.get("branch") in checked_out:
                row["moved_to"] = checked_out[record["branch"]]  # by hand; create, a delegation or prune follow it
            row["lock"] = None
            if lock:
                why = stale_reason(view, lock, now, cfg.lock_ttl)
                row["lock"] = {"holder": describe(view, lock), "agent_id": holder_run(view, lock),
                               "session_id": lock.get("session_id"), "task": lock.get("task"),
                               "delegation": lock.get("delegation"), "acquired_at": lock.get("acquired_at"),
                               "live": why is None, "stale": why}
            rows.append(row)
    return rows
