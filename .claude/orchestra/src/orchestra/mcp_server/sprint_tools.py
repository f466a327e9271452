"""Sprints as MCP tools: sprint_status and plan_sprint, the same JSON as `orchestra sprint status|plan --json`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from .. import paths, workflow
from .edge import state, store

SprintId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$", description="the sprint id, e.g. sprint-1")]


def sprint_status(sprint_id: Annotated[str | None, Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$", description="the sprint id; leave it out to list the sprints")] = None,
        ) -> dict[str, Any]:
    """Where a sprint stands: task counts and statuses, points, critical path of the work left, what is ready,
    running and blocked, burndown and forecast. Without an id, every sprint with its status."""
    if sprint_id is None:
        from ..workflow.view import recorded_points

        with state() as tx:
            sprints = [{"sprint": k, "name": s.get("name", ""), "status": s.get("status"),
                        "points": recorded_points(tx, s)["total"], "epic": s.get("epic")}
                       for k, s in sorted(tx.items("sprints").items())]
        return {"sprints": sprints}
    with store() as opened:
        status = workflow.sprint_status(opened, sprint_id, paths.project_root())
    return status


def plan_sprint(sprint_id: SprintId) -> dict[str, Any]:
    """The sprint's remaining work as delegation waves: tasks whose dependencies are done, sized to team
    capacity, with critical path and slack. Tasks to delegate now carry ready Agent arguments (`agent`);
    each other task of a started sprint says why not now (`not_now`). Writes nothing."""
    with store() as opened:
        plan = workflow.plan_sprint(opened, sprint_id, paths.project_root())
    return plan


TOOLS = (sprint_status, plan_sprint)
READ_ONLY = frozenset({"sprint_status", "plan_sprint"})
NARROWING = {  # how to ask for less when an answer is too big (`edge.sized`)
    "sprint_status": "the sprint is too large to show whole; read tasks with list_tasks(sprint=...)",
    "plan_sprint": "the sprint is too large to plan in one answer; plan a smaller sprint",
}
