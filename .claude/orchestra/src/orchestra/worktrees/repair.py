"""A worktree whose preparation was cut short (its creator stopped during the checkout, the `copy:` files or the
setup) made again, when nothing of anyone's work can be in it: nobody is preparing it any more, no run was ever
given it (its state record never had a lock), and its branch has no commits beyond its base. It is then removed
as `orchestra worktree remove --force` would, with its branch, and made afresh by the caller. Run under the
creation lock, so two creators racing for one worktree never both repair it: the second finds the first one's
new worktree, being prepared or ready. Otherwise the refusal stands and says why it was not repaired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import git, preparation


def remove_cut_short(project: Path, repo: Path, path: Path, name: str, branch: str, why: str) -> dict[str, Any]:
    """Remove the cut-short worktree `name` at `path`, with `branch`, and its marker, so that it can be made again
    (`unsafe` said nothing of anyone's work can be in it): what was done, as {worktree, branch, path, why,
    branch_deleted}. `why`: what was cut short. Raises git.GitError when git cannot remove it."""
    git.remove(repo, path, force=True)
    deleted = git.branch_exists(repo, branch)
    if deleted:
        git.delete_branch(repo, branch, force=True)
    preparation.preparing(project, name).unlink(missing_ok=True)
    return {"worktree": name, "branch": branch, "path": str(path), "why": why, "branch_deleted": deleted}


def unsafe(repo: Path, branch: str, base_commit: str, stored: dict[str, Any] | None) -> str | None:
    """Why the cut-short worktree of `branch` may hold someone's work, so it is not repaired; None when it cannot.
    `stored`: its state record, if its creator got as far as recording it (a run is given a worktree only once it
    is recorded); `base_commit`: where its branch starts when the record does not say."""
    held = (stored or {}).get("lock") or (stored or {}).get("last_lock")
    if held:
        from .locks import TAKEN_BY

        whose = (f"for agent run {held['agent_id']}" if held.get("agent_id") else
                 f"for delegation {held['delegation']}" if held.get("delegation") else
                 f"by {TAKEN_BY.get(held.get('by') or '', 'someone')}")
        return f"it was handed out before (locked {whose})"
    base = (stored or {}).get("base_commit") or base_commit
    if git.branch_exists(repo, branch):
        ahead = git.run(repo, "rev-list", "--oneline", f"refs/heads/{branch}", "--not", base, check=False).splitlines()
        if ahead:
            return f"its branch {branch} has {len(ahead)} commit(s) beyond its base ({'; '.join(ahead[:3])})"
    return None
