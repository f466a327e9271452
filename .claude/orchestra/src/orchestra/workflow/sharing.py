"""Work that shares one worktree (a team's, sprint's or epic's `worktree_strategy`) runs one task at a time:
the delegation gate locks a worktree to the one run working in it. A started sprint's plan offers now only
what that gate takes: of the first wave's tasks sharing a worktree, the first, and none while another run or
delegation holds it. Its waves, too, hold at most one task of each shared worktree (`shared_worktrees`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..clock import now_iso

SHARED = ("team", "sprint", "epic")  # the strategies that give several tasks one worktree


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


def shared_worktrees(tx, org, tasks: Iterable[tuple[dict[str, Any], str | None]]) -> dict[str, tuple[str, str]]:
    """The worktree each of `tasks` (each with the member it goes to, None when its delegation picks one) shares
    with others, as (strategy, scope id): what `TaskGraph.batches` keeps to one task per wave. A task that works
    in a worktree of its own, or in none, is left out."""
    from ..worktrees.allocation import scope_of_task
    from ..worktrees.locks import TxReader

    reader = _Remembering(TxReader(tx))
    alone = {name for name, team in org.teams.items() if team.settings.worktree_strategy not in SHARED}
    out: dict[str, tuple[str, str]] = {}
    for task, member in tasks:
        own = task.get("worktree_strategy")
        if (own and own not in SHARED) or (not own and (task.get("team") in alone or len(alone) == len(org.teams))):
            continue  # a worktree of its own, or none: what its team gives it, when the task names no strategy
        scope = scope_of_task(reader, org, task, member)
        if scope is not None and scope.strategy in SHARED:
            out[task["id"]] = (scope.strategy, scope.ident)
    return out


class _Remembering:
    """A reader that reads each record once (every task of a sprint asks for the same sprint)."""

    def __init__(self, reader) -> None:
        self.reader, self.seen = reader, {}

    def get(self, collection: str, key: str | None) -> dict[str, Any] | None:
        if (collection, key) not in self.seen:
            self.seen[collection, key] = self.reader.get(collection, key)
        return self.seen[collection, key]
