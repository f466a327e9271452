"""Sprints and epics: definitions, dependency graph, critical path, waves, state machine, metrics, forecast.

The names below are the API the CLI, the MCP server, the dashboard and the lifecycle call. They load
on first use, so a hook that needs only `check_task_status` or `sync_blocked` imports the state
machine and nothing else; YAML and JSON Schema load only when a definition file is read.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, tuple[str, str]] = {
    # definitions and graph
    "DefinitionError": ("definitions", "DefinitionError"),
    "SprintDef": ("definitions", "SprintDef"),
    "EpicDef": ("definitions", "EpicDef"),
    "TaskDef": ("definitions", "TaskDef"),
    "load_sprint": ("definitions", "load_sprint"),
    "load_epic": ("definitions", "load_epic"),
    "Capacity": ("graph", "Capacity"),
    "CycleError": ("graph", "CycleError"),
    "GraphError": ("graph", "GraphError"),
    "Node": ("graph", "Node"),
    "TaskGraph": ("graph", "TaskGraph"),
    # sprints in state
    "load_sprint_into_state": ("sprints", "load"),
    "start_sprint": ("sprints", "start"),
    "block_sprint": ("sprints", "block"),
    "unblock_sprint": ("sprints", "unblock"),
    "reopen_sprint": ("sprints", "reopen"),
    "close_sprint": ("retrospective", "close"),
    "plan_sprint": ("planning", "plan_sprint"),
    "sprint_status": ("progress", "sprint_status"),
    # the state machine, for the lifecycle
    "InconsistentTasks": ("states", "InconsistentTasks"),
    "check_task_status": ("states", "check_task_status"),
    "sync_blocked": ("states", "sync_blocked"),
    "transition": ("states", "transition"),
    # epics
    "load_epic_into_state": ("epics", "register"),
    "plan_epic": ("epics", "plan_epic"),
    "epic_status": ("epics", "epic_status"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value
