"""One readable line per state event, for `orchestra events tail` and the dashboard's event feed.

Known event types get a sentence; any other type (new ones appear as features land) falls back to
its type and data, so nothing is hidden. Stdlib only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

LIMIT = 200


def _who(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    return data.get("agent_type") or event.get("agent_id") or "main"


def _task(event: dict[str, Any]) -> str:
    return event.get("task_id") or (event.get("data") or {}).get("task") or "?"


def _points(value: Any) -> str:
    """Points as every other output gives them: to 2 decimals, no trailing zeros (10.0 -> 10)."""
    return f"{round(value, 2):g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _reason(data: dict[str, Any]) -> str:
    return f": {data['reason']}" if data.get("reason") else ""


def _for_task(event: dict[str, Any]) -> str:
    return f" for {event['task_id']}" if event.get("task_id") else ""


def _worktree_removed(event: dict[str, Any], d: dict[str, Any]) -> str:
    how = f" by prune: {d.get('why')}" if d.get("by") == "prune" else " (forced)" if d.get("forced") else ""
    kept = ", its branch kept" if d.get("branch_kept") else ""
    lost = f", {d['discarded']} uncommitted file(s) discarded" if d.get("discarded") else ""
    return f"worktree {d.get('worktree')} removed{how}{kept}{lost}"


def _reviewed(event: dict[str, Any], d: dict[str, Any]) -> str:
    findings = d.get("findings") or []
    counted = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    verdict = f"{d['verdict']} ({counted})" if d.get("verdict") and findings else d.get("verdict") or counted
    return f"{_task(event)} reviewed by {d.get('by') or _who(event)}: {verdict}"


def _native_worktree(what: str) -> Callable[[dict[str, Any], dict[str, Any]], str]:
    return lambda e, d: f"{_who(e)} {what} Claude Code worktree {d.get('worktree')} ({d.get('path')})"


_TEXT: dict[str, Callable[[dict[str, Any], dict[str, Any]], str]] = {
    "sprint_loaded": lambda e, d: f"sprint {d.get('sprint')} loaded: {d.get('tasks')} tasks, {_points(d.get('points'))} points",
    "sprint_renamed": lambda e, d: f"sprint {d.get('sprint')} renamed {d.get('to')} in {d.get('definition')}",
    "sprint_dropped": lambda e, d: f"sprint {d.get('sprint')} dropped: "
                                   f"{d.get('reason') or 'never started, its file ' + str(d.get('definition')) + ' gone'}",
    "sprint_started": lambda e, d: f"sprint {d.get('sprint')} started ({_points(d.get('points'))} points)",
    "sprint_status": lambda e, d: f"sprint {d.get('sprint')}: {d.get('from')} -> {d.get('to')}{_reason(d)}",
    "sprint_closed": lambda e, d: f"sprint {d.get('sprint')} closed: {_points(d.get('completed_points'))} points completed",
    "task_created": lambda e, d: f"{_task(e)} created",
    "task_requeued": lambda e, d: f"{_task(e)} back in the queue{_reason(d)}",
    "task_assigned": lambda e, d: f"{_task(e)} assigned",
    "task_started": lambda e, d: f"{_task(e)} in progress",
    "task_completed": lambda e, d: f"{_task(e)} completed",
    "task_blocked": lambda e, d: f"{_task(e)} blocked{_reason(d)}",
    "task_needs_review": lambda e, d: f"{_task(e)} needs review{_reason(d)}",
    "task_cancelled": lambda e, d: f"{_task(e)} cancelled",
    "task_status_set": lambda e, d: f"{_task(e)} set {d.get('from')} -> {d.get('to')} by {d.get('by')}"
                                    f"{_reason(d)}",
    "task_team_set": lambda e, d: f"{_task(e)} moved from team {d.get('from') or '(none)'} to {d.get('to')} by "
                                  f"{d.get('by')}" + (f", assignee {d['assignee_cleared']} let go"
                                                      if d.get("assignee_cleared") else ""),
    "task_carried_over": lambda e, d: f"{_task(e)} carried over from {d.get('sprint')}",
    "delegation_requested": lambda e, d: f"{d.get('caller') or 'main'} delegates {_task(e)} to "
                                         f"{d.get('subagent_type')}",
    "delegation_linked": lambda e, d: f"run {e.get('agent_id')} linked to {_task(e)}",
    "delegation_dropped": lambda e, d: f"delegation {d.get('tool_use_id')} of {_task(e)} never launched "
                                       "(the Agent call was refused or failed)",
    "agent_launched": lambda e, d: f"{_who(e)} launched on {_task(e)}",
    "agent_started": lambda e, d: f"{_who(e)} started on {_task(e)}",
    "agent_completed": lambda e, d: f"{_who(e)} finished {_task(e)}",
    "agent_blocked": lambda e, d: f"{_who(e)} blocked on {_task(e)}",
    "agent_needs_review": lambda e, d: f"{_who(e)} finished {_task(e)} without an accepted report",
    "agent_stopped": lambda e, d: f"{_who(e)} stopped{_reason(d) if d.get('reason') else ' with its session'}",
    "agent_resumed": lambda e, d: f"{_who(e)} resumed on {_task(e)} after it reported {d.get('after')}",
    "agent_pushed_back": lambda e, d: f"{e.get('agent_id')}'s report on {_task(e)} pushed back{_reason(d)}",
    "parent_notified": lambda e, d: f"{d.get('to')} told about {_task(e)}",
    "message.sent": lambda e, d: f"message {d.get('type')} {d.get('from')} -> {d.get('to')} ({d.get('priority')})",
    "session_ended": lambda e, d: f"session ended ({d.get('reason')})",
    "session_resumed": lambda e, d: f"session resumed ({d.get('source')})",
    "security_alert": lambda e, d: f"security alert: {d.get('why') or d.get('rule') or json.dumps(d)}",
    "tool_failed": lambda e, d: f"{_who(e)}: {d.get('tool')} failed: {d.get('error')}",
    "task_moved": lambda e, d: f"{_task(e)} moved from {d.get('from') or 'no sprint'} to {d.get('to') or 'no sprint'}"
                               f" by {d.get('by')}",
    "task_removed_from_sprint": lambda e, d: f"{_task(e)} taken out of sprint {d.get('sprint')} (no longer in its file)",
    "task_reviewed": _reviewed,
    "transition_refused": lambda e, d: f"{_task(e)}: move to {d.get('wanted')} refused{_reason(d)}",
    "review_requested": lambda e, d: f"{_task(e)} review requested from {', '.join(d.get('to') or []) or 'nobody'}",
    "review_request_failed": lambda e, d: f"{_task(e)} review request to {d.get('to')} failed{_reason(d)}",
    "review.completed": lambda e, d: f"review of {_task(e)} by {d.get('by')}: {d.get('verdict')}",
    "parent_notify_failed": lambda e, d: f"{d.get('to')} could not be told about {_task(e)}{_reason(d)}",
    "sprint_held": lambda e, d: f"sprint {d.get('sprint')} blocked by hand{_reason(d)}",
    "epic_loaded": lambda e, d: f"epic {d.get('epic')} loaded: {d.get('features')} features, {_points(d.get('points'))} points",
    "message.acknowledged": lambda e, d: f"message {d.get('message')} acknowledged by {d.get('by')}",
    "message.answered": lambda e, d: f"message {d.get('message')} answered by {d.get('by')}",
    "message.escalated": lambda e, d: f"message {d.get('message')} escalated to {d.get('to')}",
    "message.expired": lambda e, d: f"message {d.get('message')} expired",
    "worktree_created": lambda e, d: f"worktree {d.get('worktree')} (branch {d.get('branch')}) created{_for_task(e)}",
    "worktree_repaired": lambda e, d: f"worktree {d.get('worktree')} cut short before ({d.get('why')}), removed "
                                      f"{'with its branch ' if d.get('branch_deleted') else ''}and made afresh"
                                      f"{_for_task(e)}",
    "worktree_locked": lambda e, d: f"worktree {d.get('worktree')} locked{_for_task(e)}",
    "worktree_released": lambda e, d: f"worktree {d.get('worktree')} released"
                                      + (f": {d['why']}" if d.get("why") else ""),
    "worktree_lock_recovered": lambda e, d: f"worktree {d.get('worktree')}: lock recovered"
                                            + (f": {d['why']}" if d.get("why") else ""),
    "worktree_removed": _worktree_removed,
    "worktrees_pruned": lambda e, d: "worktrees pruned: " + (", ".join(
        f"{n} {k.replace('_', ' ')}" for k, n in d.items() if n) or "nothing to do"),
    "native_worktree_entered": _native_worktree("entered"),
    "native_worktree_isolated": _native_worktree("was isolated in"),
    "native_worktree_exited": _native_worktree("left"),
    "native_worktree_removed": _native_worktree("removed"),
    "task_reported": lambda e, d: f"{d.get('by') or _who(e)} reports on {_task(e)}: " + ", ".join(
        f"{k.replace('_', ' ')} {v}{'%' if k in ('progress', 'coverage') else ''}" for k, v in d.items()
        if k in ("progress", "coverage", "build", "tests_passed", "tests_failed")
    ) + (f" — {d['summary']}" if d.get("summary") else ""),
}


def describe(event: dict[str, Any]) -> str:
    """`event` (a stored event) as one line of at most LIMIT characters."""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    event = {**event, "data": data}
    render = _TEXT.get(str(event.get("type")))
    try:
        text = render(event, data) if render else None
    except (TypeError, ValueError, KeyError):  # a future event shape must not break the feed
        text = None
    if text is None:
        refs = " ".join(f"{k}={event[k]}" for k in ("task_id", "agent_id") if event.get(k))
        text = " ".join(p for p in (str(event.get("type")), refs, json.dumps(data, ensure_ascii=False)
                                    if data else "") if p)
    text = " ".join(text.split())
    return text if len(text) <= LIMIT else text[: LIMIT - 1] + "…"
