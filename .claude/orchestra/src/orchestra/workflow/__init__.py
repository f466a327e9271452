"""Sprints and epics: definitions, dependency graph, critical path, waves, state machine, metrics, forecast.

The functions below are the API the CLI, the MCP server and the dashboard call. Importing this
package is cheap (stdlib and our own leaf modules); YAML and JSON Schema load only when a
definition file is read.
"""

from __future__ import annotations

from .definitions import DefinitionError, EpicDef, SprintDef, TaskDef, load_epic, load_sprint
from .epics import epic_status, plan_epic
from .epics import register as load_epic_into_state
from .graph import Capacity, CycleError, GraphError, Node, TaskGraph
from .planning import plan_sprint
from .progress import sprint_status
from .retrospective import close as close_sprint
from .sprints import block as block_sprint
from .sprints import load as load_sprint_into_state
from .sprints import reopen as reopen_sprint
from .sprints import start as start_sprint
from .sprints import unblock as unblock_sprint
from .states import InconsistentTasks, check_task_status, sync_blocked, transition

__all__ = [
    "Capacity", "CycleError", "DefinitionError", "EpicDef", "GraphError", "InconsistentTasks", "Node",
    "SprintDef", "TaskDef", "TaskGraph", "block_sprint", "check_task_status", "close_sprint", "epic_status",
    "load_epic", "load_epic_into_state", "load_sprint", "load_sprint_into_state", "plan_epic",
    "plan_sprint", "reopen_sprint", "sprint_status", "start_sprint", "sync_blocked", "transition",
    "unblock_sprint",
]
