"""Which task a delegation works on: the one its tag names, a sprint's orchestration task, or an ad-hoc task."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..teams import Organization
from ..workflow.states import held
from . import config as lifecycle_config
from .ledger import Ledger


def task_for_tag(led: Ledger, task_id: str | None) -> str | None:
    """The stored task a tag names: the task itself, or the orchestration task of a sprint."""
    if not task_id:
        return None
    if led.get("tasks", task_id) is not None:
        return task_id
    if led.get("sprints", task_id) is not None and led.get("tasks", orchestration_task_id(task_id)) is not None:
        return orchestration_task_id(task_id)
    return None


def ad_hoc_task_id(tool_use_id: str) -> str:
    return "adhoc-" + hashlib.sha1(tool_use_id.encode()).hexdigest()[:10]


def ad_hoc_type(org: Organization, agent_type: str) -> str:
    if agent_type in lifecycle_config.BUILTIN_TASK_TYPES:
        return lifecycle_config.BUILTIN_TASK_TYPES[agent_type]
    member = org.member(agent_type)
    if member is None:
        return "general"
    return lifecycle_config.ROLE_TASK_TYPES.get(member.role, "implementation")


def active_sprint(led: Ledger, team: str | None, text: str = "", *, blocked: bool = False) -> str | None:
    """The running sprint `text` names (as /sprint:start's "Run <sprint-id> for <team>" does; with `blocked`, one
    blocked by hand too), else the first running sprint with work for `team`, else the first running sprint.
    A sprint that blocked itself on its tasks' blockers runs: work in it is how it goes on."""
    stopped = led.find("sprints", status="blocked")
    sprints = sorted([*led.find("sprints", status="active"), *(s for s in stopped if not held(s))],
                     key=lambda s: s["id"])
    words = set(re.findall(r"[\w.-]+", text))
    named = [s["id"] for s in [*sprints, *(s for s in stopped if blocked and held(s))] if s["id"] in words]
    if len(named) == 1:
        return named[0]
    for sprint in sprints:
        if team and team in (sprint.get("team_assignments") or {}):
            return sprint["id"]
    return sprints[0]["id"] if sprints else None


def ad_hoc_task(led: Ledger, org: Organization, tool_use_id: str, agent_type: str, description: str,
                prompt: str) -> dict[str, Any]:
    """An untagged delegation still becomes tracked work: a task in the active sprint, typed by its agent.
    Its id comes from the tool_use_id, so every hook that sees the delegation names the same task."""
    existing = led.get("tasks", ad_hoc_task_id(tool_use_id))
    if existing is not None:
        return existing
    member = org.member(agent_type)
    team = member.team if member else None
    task_type = ad_hoc_type(org, agent_type)
    # an orchestrator runs the sprint its prompt names even while it is blocked (the gate then decides)
    sprint = active_sprint(led, team, f"{description} {prompt}", blocked=task_type == "orchestration")
    # An orchestrator runs the sprint rather than adding work to it, like `[task:<sprint-id>]`.
    place = {"sprint": None, "orchestrates": sprint} if task_type == "orchestration" else {"sprint": sprint}
    # Unplanned work is listed in the sprint but was never estimated: it adds no committed points.
    return {"id": ad_hoc_task_id(tool_use_id), "title": description or " ".join(prompt.split())[:80],
            "status": "queued", "type": task_type, **place, "estimate": 0,
            "team": team, "assignee": agent_type, "priority": "normal", "dependencies": [], "acceptance": {},
            "artifacts": [], "ad_hoc": True, "created_at": led.now}


def orchestration_task_id(sprint_id: str) -> str:
    return f"orchestrate-{sprint_id}"


def orchestration_task(led: Ledger, org: Organization, sprint_id: str, agent_type: str) -> dict[str, Any]:
    """`[task:<sprint-id>]` hands a whole sprint to an orchestrator; that work is tracked as its own task.
    It stays out of the sprint's own task list (`orchestrates`, not `sprint`) so sprint counts are unchanged."""
    member = org.member(agent_type)
    return {"id": orchestration_task_id(sprint_id), "title": f"Orchestrate sprint {sprint_id}", "status": "queued",
            "type": "orchestration", "orchestrates": sprint_id, "sprint": None,
            "team": member.team if member else None, "assignee": agent_type, "priority": "high",
            "dependencies": [], "acceptance": {}, "artifacts": [], "created_at": led.now}
