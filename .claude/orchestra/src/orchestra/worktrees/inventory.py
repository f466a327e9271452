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
    from .creation import moved, repository

    cfg = worktree_config.load(project)
    now = now_iso()
    repo = repository(project)
    in_git = {str(Path(w.path).resolve()) for w in git.worktrees(repo) if not w.prunable} if repo else set()
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
            if not row["in_git"] and record.get("status") == "active" and (entry := moved(project, repo, record)):
                row["moved_to"] = entry.path  # by hand; create, a delegation or prune follow it
            row["lock"] = None
            if lock:
                why = stale_reason(view, lock, now, cfg.lock_ttl)
                row["lock"] = {"holder": describe(view, lock), "agent_id": holder_run(view, lock),
                               "session_id": lock.get("session_id"), "task": lock.get("task"),
                               "delegation": lock.get("delegation"), "acquired_at": lock.get("acquired_at"),
                               "live": why is None, "stale": why}
            rows.append(row)
    return rows
