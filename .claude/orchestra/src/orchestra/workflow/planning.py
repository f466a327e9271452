"""`plan_sprint`: the delegation batches an orchestrator runs, with critical path, slack and ready queue.

Works on the remaining work: finished tasks are left out and satisfy their dependents, tasks already
running go into the first wave their dependencies allow. The output is the stable JSON of
`orchestra sprint plan ID --json` and of the MCP tool `plan_sprint` (README, "Sprints and epics").
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

from ..lifecycle.views import Unassigned, delegation_arguments
from .capacity import capacity_dict, parallel_capacity
from .view import SprintView, outside_done, sprint_view


def _round(value: float) -> float:
    return round(value, 4)


def plan_view(tx, view: SprintView, org) -> dict[str, Any]:
    """The plan of one sprint view. In a started sprint, the first wave's tasks that can start now
    carry their ready `Agent` tool input (what `orchestra task delegate` prints); its brief names
    finished dependencies' artifacts, so later waves get theirs when they come up."""
    finished_elsewhere = outside_done(tx, view)
    graph = view.remaining_graph(finished_elsewhere)
    capacity = parallel_capacity(org, view.capacity)
    running = set(view.running)
    waves = graph.batches(capacity, first=running, held=_blocked(view))
    slack = graph.slack()
    critical = graph.critical_path()
    on_path = set(critical)
    by_id = {t["id"]: t for t in view.tasks}
    done = view.done
    ready = graph.ready(done=done | finished_elsewhere, exclude=running | _blocked(view))
    # Only the first wave is launched now; later waves are briefed when they come up (re-plan).
    started = view.source == "state" and view.status in ("active", "blocked")
    startable = set(waves[0]) & set(ready) if started and waves else set()

    def item(task_id: str) -> dict[str, Any]:
        task = by_id[task_id]
        status = task.get("status", "queued")
        args = None
        # a team with auto_assign: false picks nobody: `agent` stays null until the orchestrator names one
        with suppress(Unassigned):
            args = delegation_arguments(tx, org, task_id) if task_id in startable else None
        return {
            "id": task_id, "title": task.get("title", ""), "status": status, "team": task.get("team"),
            "assignee": task.get("assignee"), "estimate": _round(float(task.get("estimate", 1.0) or 0.0)),
            "priority": task.get("priority", "normal"), "dependencies": list(task.get("dependencies") or ()),
            "slack": _round(slack[task_id]), "critical": task_id in on_path, "agent": args,
        }

    batches = []
    for number, wave in enumerate(waves, start=1):
        items = [item(t) for t in wave]
        batches.append({"wave": number, "points": _round(sum(i["estimate"] for i in items)), "tasks": items})
    return {
        "sprint": view.id,
        "status": view.status,
        "source": view.source,
        "points": view.points,
        "critical_path": {"tasks": critical, "length": _round(graph.length)},
        "capacity": capacity_dict(capacity, (t.get("team") for t in view.tasks),
                                  (t.get("assignee") for t in view.tasks)),
        "order": graph.topological_order(),
        "ready": ready,
        "running": view.running,
        "done": sorted(done),
        "batches": batches,
    }


def _blocked(view: SprintView) -> set[str]:
    return {t["id"] for t in view.tasks if t.get("status") == "blocked"}


def plan_sprint(store, sprint_id: str, root: Path | None = None) -> dict[str, Any]:
    """The plan of `sprint_id` (read-only): waves, critical path, slack, ready queue, capacity."""
    from .sprints import organization

    org = organization(root)
    with store.snapshot() as tx:
        view = sprint_view(tx, sprint_id, root)
        return plan_view(tx, view, org)
