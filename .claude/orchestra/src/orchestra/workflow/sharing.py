"""Work that shares one worktree (a team's, sprint's or epic's `worktree_strategy`) runs one task at a time:
the delegation gate locks a worktree to the one run working in it. A started sprint's plan offers now only
what that gate takes: of the first wave's tasks sharing a worktree, the first, and none while another run or
delegation holds it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..clock import now_iso


def worktree_waits(tx, org, tasks: Iterable[tuple[dict[str, Any], str | None]],
                   root: Path | None = None) -> dict[str, str]:
    """Why each of `tasks` (in the order they would be delegated, each with the member it goes to) is not
    delegated now for its worktree: another run or delegation holds it, or an earlier task of `tasks` takes it."""
    from .. import paths
    from ..lifecycle.config import load as lifecycle_config
    from ..worktrees import config as worktree_config
    from ..worktrees.allocation import scope_of_task
    from ..worktrees.creation import repository
    from ..worktrees.locks import TxReader, describe, stale_reason

    reader, now = TxReader(tx), now_iso()
    root = root or paths.project_root()
    try:
        ttl = worktree_config.load(root).lock_ttl
    except (ValueError, OSError):  # a broken worktrees.yaml: the gate says so when a delegation asks
        ttl = worktree_config.WorktreeConfig(root=root).lock_ttl
    pending = lifecycle_config(org).pending_seconds
    records: dict[tuple[str, str], dict[str, Any]] = {}  # each scope's worktree, as `allocation.find_record` finds it
    for record in tx.find("worktrees", status="active"):
        records.setdefault((record.get("scope"), record.get("scope_id")), record)
    taken: dict[tuple[str, str], str] = {}
    made: list[bool] = []  # whether git can make worktrees here, asked once and only when needed
    out: dict[str, str] = {}
    for task, member in tasks:
        scope = scope_of_task(reader, org, task, member)
        if scope is None:
            continue
        key = (scope.strategy, scope.ident)
        record = records.get(key)
        name = record["id"] if record else scope.name
        lock = (record or {}).get("lock")
        if lock and stale_reason(reader, lock, now, ttl, pending) is None:
            out[task["id"]] = f"waits for its worktree {name}, held by {describe(reader, lock)}"
        elif key in taken:
            if record is None and not made:
                made.append(repository(root) is not None)
            if record is not None or made[0]:
                out[task["id"]] = (f"waits for its worktree {name}, which {taken[key]} takes first (two runs never "
                                   "share a worktree)")
        else:
            taken[key] = task["id"]
    return out
