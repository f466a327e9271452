"""Work in state under a team teams.yaml no longer has (a team renamed or removed while its work was
open): tasks of sprints not closed yet, tasks outside sprints not finished yet, and features of epics
not done yet. Such work is listed under no team (`task list --team NEW` misses it, capacity counts it
under no team of teams.yaml). Closed sprints are history: their tasks keep the team they were done by.
Also unfinished tasks assigned to a member teams.yaml no longer has (delegated to no one until reassigned), and
open messages to one (read by no run).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ..models import TERMINAL_TASK_STATUSES

MOVE = "`orchestra task set-team TASK TEAM`"


def stray_work(tx, teams: Collection[str]) -> list[str]:
    """One line per team name missing from `teams` that open work still carries, naming that work and
    what to do."""
    sprints: dict[str, Any] = tx.items("sprints")
    tasks: dict[str, Any] = tx.items("tasks")
    open_tasks: dict[str, list[str]] = {}
    for task_id, task in sorted(tasks.items()):
        team = task.get("team")
        if not team or team in teams or _closed(task, sprints):
            continue
        open_tasks.setdefault(team, []).append(f"{task_id} ({task['sprint']})" if task.get("sprint") else task_id)
    lines = [f"team {team!r} is not in .claude/teams.yaml, but {len(ids)} task(s) of sprints not closed still "
             f"carry it: {', '.join(ids)}; rename the team back in teams.yaml, or move each task to a team it "
             f"has with {MOVE}" for team, ids in sorted(open_tasks.items())]
    features: dict[str, list[str]] = {}
    for epic_id, epic in sorted(tx.items("epics").items()):
        for feature in epic.get("features") or []:
            team = feature.get("team")
            if team and team not in teams and not _feature_done(epic_id, feature.get("id"), tasks):
                features.setdefault(team, []).append(f"{epic_id}/{feature.get('id')}")
    lines += [f"team {team!r} is not in .claude/teams.yaml, but feature(s) of epics not done still carry it: "
              f"{', '.join(ids)}; rename the team back in teams.yaml, or change `team:` in the epic's file and "
              "run `orchestra epic load EPIC` again" for team, ids in sorted(features.items())]
    return lines


def stray_assignees(tx, org) -> list[str]:
    """One line per agent teams.yaml no longer has (a member renamed or removed there) that unfinished tasks
    of sprints not closed are still assigned to: they would be delegated to an agent that is not there."""
    from ..lifecycle.views import gone_assignee

    sprints: dict[str, Any] = tx.items("sprints")
    stranded: dict[str, list[str]] = {}
    for task_id, task in sorted(tx.items("tasks").items()):
        if task.get("status") in TERMINAL_TASK_STATUSES or _closed(task, sprints):
            continue
        if gone := gone_assignee(org, {**task, "id": task_id}):
            stranded.setdefault(gone, []).append(f"{task_id} ({task['sprint']})" if task.get("sprint") else task_id)
    return [f"agent {name!r} is not in .claude/teams.yaml, but {len(ids)} unfinished task(s) are still assigned to "
            f"it: {', '.join(ids)}; add it back, or assign each to a member with `orchestra state set "
            f"tasks.TASK.assignee '\"<member>\"'`" for name, ids in sorted(stranded.items())]


def stray_messages(tx, org) -> list[str]:
    """One line per agent teams.yaml no longer has that open messages are still addressed to by agent type (a
    reviewer renamed with review requests waiting): no run reads them."""
    from ..bus import addressing
    from ..bus.delivery import open_messages
    from ..bus.messages import is_expired, utcnow
    from ..lifecycle.views import gone_agent

    now, stranded = utcnow(), {}
    for message in sorted(open_messages(tx), key=lambda m: m.get("seq", 0)):
        to = message.get("to") or ""
        if addressing.kind(to) == "agent_type" and not is_expired(message, now) and gone_agent(org, to):
            stranded.setdefault(to, []).append(f"{message['id']} ({message.get('type')})")
    return [f"agent {name!r} is not in .claude/teams.yaml, but {len(ids)} open message(s) are still addressed to it, "
            f"which no run reads: {', '.join(ids)}; add it back, or address each to an agent it has with "
            f"`orchestra state set communication.messages.ID.to '\"<agent>\"'`" for name, ids in sorted(stranded.items())]


def _closed(task: dict[str, Any], sprints: dict[str, Any]) -> bool:
    """A task of a complete sprint, or one outside sprints that is finished: history, not open work."""
    if task.get("sprint"):
        return (sprints.get(task["sprint"]) or {}).get("status") == "complete"
    return task.get("status") in TERMINAL_TASK_STATUSES


def _feature_done(epic_id: str, feature_id: str | None, tasks: dict[str, Any]) -> bool:
    statuses = {t.get("status") for t in tasks.values() if t.get("epic") == epic_id and t.get("feature") == feature_id}
    return bool(statuses) and statuses <= TERMINAL_TASK_STATUSES and "completed" in statuses
