"""Claude Code's own worktrees (`--worktree`, `EnterWorktree`, an Agent call with `isolation: worktree`)
mirrored into state as `origin: native` records, so `orchestra worktree list` and prune see them.

Recorded from WorktreeRemove and from PostToolUse of EnterWorktree, ExitWorktree and Agent (whose
foreground result names `worktreePath`). Never from WorktreeCreate: a WorktreeCreate hook *replaces*
git's worktree creation (Claude Code 2.1.328 fails with "hook succeeded but returned no worktree
path" unless the hook makes the worktree and prints its path), so observing it would break Claude
Code's own isolation. Native worktrees are never locked, pruned or confined by Orchestra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..clock import now_iso
from ..hookio import Allow, HookContext, HookEvent, Verdict
from .naming import slug


def _record_id(tx, path: str) -> str:
    """`native-<directory name>`; with a hash of the path when another worktree's record has that id
    (`Bold.Fox` and `bold-fox`, or one name in two places), so no record is overwritten."""
    import hashlib

    plain = "native-" + (slug(Path(path).name) or "worktree")
    if tx.get(f"worktrees.{plain}", None) is None:
        return plain
    return f"{plain}-{hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:6]}"


def observed(event: HookEvent) -> tuple[str, str | None, str] | None:
    """(path, branch, what happened) from the event, or None when it names no worktree."""
    if event.name == "WorktreeRemove":
        path = event.get("worktree_path")
        return (path, None, "removed") if isinstance(path, str) and path else None
    response = event.get("tool_response")
    if not isinstance(response, dict) or not isinstance(response.get("worktreePath"), str):
        return None
    branch = response.get("worktreeBranch") if isinstance(response.get("worktreeBranch"), str) else None
    if event.tool_name == "ExitWorktree":
        return response["worktreePath"], branch, "removed" if response.get("action") == "remove" else "exited"
    return response["worktreePath"], branch, "entered" if event.tool_name == "EnterWorktree" else "isolated"


def record_native(event: HookEvent, ctx: HookContext) -> Verdict:
    seen = observed(event)
    if seen is None:
        return Allow()
    path, branch, what = seen
    now = now_iso()
    response = event.get("tool_response") if isinstance(event.get("tool_response"), dict) else {}
    agent = response.get("agentId") if what == "isolated" else event.agent_id
    with ctx.store.transaction() as tx:
        wanted = str(Path(path).resolve())
        found = [r for r in tx.items("worktrees").values() if str(Path(r.get("path", "")).resolve()) == wanted]
        record: dict[str, Any] = max(found, key=lambda r: r.get("status") == "active") if found else {
            "id": _record_id(tx, path), "scope": "native", "scope_id": Path(path).name, "branch": branch, "path": path,
            "base": None, "status": "active", "origin": "native", "created_at": now, "created_by": event.name,
            "session_id": event.session_id, "agent_id": agent, "tasks": [], "sprints": [], "lock": None}
        if branch and not record.get("branch"):
            record["branch"] = branch
        if what == "removed":
            record.update(status="removed", removed_at=now)
        elif what == "entered" and record.get("status") != "active":
            # EnterWorktree reports right after it enters, so a removal recorded earlier was of an earlier
            # worktree of that name: this is a new one in the same place.
            record.pop("removed_at", None)
            record.update(status="active", entered_at=now, session_id=event.session_id, agent_id=agent,
                          branch=branch or record.get("branch"))
        elif what == "isolated" and record.get("status") != "active":
            return Allow()  # an isolated agent's result may come after its worktree's removal: keep it removed
        elif what == "exited":
            record["exited_at"] = now
        tx.set(f"worktrees.{record['id']}", record)
        tx.append_event(f"native_worktree_{what}", {"worktree": record["id"], "path": path, "branch": record.get("branch")},
                        agent_id=agent, session_id=event.session_id)
    ctx.audit["worktree"] = record["id"]
    return Allow()
