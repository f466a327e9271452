"""Files two or more worktrees of one sprint both change, found before anyone merges.

A worktree's changes are the files its branch changed since it left its base (`git diff base...branch`,
so later commits on the base do not count; a base branch deleted since: the commit it left) plus its
uncommitted and untracked files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..store import entity
from ..store.document import long_id
from . import git
from .creation import WorktreeError, registered, repository


def sprint_conflicts(store, project: Path, sprint_id: str) -> dict[str, Any]:
    """{sprint, worktrees: [{id, branch, base, changed}], conflicts: [{file, worktrees}]}."""
    repo = repository(project)
    if repo is None:
        raise WorktreeError(f"{project} is not a git repository with a commit")
    with store.snapshot() as tx:
        if entity(tx, "sprints", sprint_id) is None:  # `s1.name` is no sprint
            raise WorktreeError(long_id(sprint_id, "sprint")
                                or f"sprint {sprint_id!r} is not in state; see `orchestra sprint status`")
        records = [r for r in tx.find("worktrees", status="active")
                   if sprint_id in (r.get("sprints") or []) or (r.get("scope"), r.get("scope_id")) == ("sprint", sprint_id)]
    seen: dict[str, list[str]] = {}
    listed = []
    for record in sorted(records, key=lambda r: r["id"]):
        path = Path(record["path"])
        entry = registered(repo, path)  # what it has checked out: its branch may have been renamed
        tip = (entry.branch or entry.head) if entry else f"refs/heads/{record['branch']}"
        # a base branch deleted since: the commit the worktree left it at still tells what the branch changed
        base = record["base"] if git.commit_of(repo, record["base"]) else record.get("base_commit")
        changed = set(git.changed_files(repo, tip, base)) if tip and git.commit_of(repo, tip) and base \
            and git.commit_of(repo, base) else set()
        # A directory git no longer lists as a worktree has no status of its own (git would give the main checkout's).
        uncommitted = set(git.dirty_files(path)) if entry is not None and path.is_dir() else set()
        listed.append({"id": record["id"], "branch": record["branch"], "base": record["base"],
                       "changed": sorted(changed), "uncommitted": sorted(uncommitted - changed)})
        for name in changed | uncommitted:
            seen.setdefault(name, []).append(record["id"])
    conflicts = [{"file": name, "worktrees": ids} for name, ids in sorted(seen.items()) if len(ids) > 1]
    return {"sprint": sprint_id, "worktrees": listed, "conflicts": conflicts}
