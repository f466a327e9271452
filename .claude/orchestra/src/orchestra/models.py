"""Domain types of the state document and the legal transitions of each typed state.

Plain dataclasses and Literals: these are used on every hook's hot path, where importing a
validation framework would cost more than the hook itself. Edges (CLI input, YAML, MCP) validate
with JSON Schema or pydantic before anything reaches the store.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from .record import Record, as_dict, default, field_names

TaskStatus = Literal["queued", "assigned", "in_progress", "completed", "blocked", "needs_review", "cancelled"]
RunStatus = Literal["launched", "active", "completed", "blocked", "needs_review", "stopped"]
SprintStatus = Literal["planning", "ready", "active", "blocked", "review", "complete"]
Priority = Literal["critical", "high", "normal", "low"]
Role = Literal["orchestrator", "team_member", "reviewer"]

TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
SPRINT_STATUSES: tuple[str, ...] = get_args(SprintStatus)
PRIORITIES: tuple[str, ...] = get_args(Priority)  # highest first
PRIORITY_RANK: dict[str, int] = {p: i for i, p in enumerate(PRIORITIES)}

# Legal task transitions. Re-entering the same status is always allowed (events repeat).
# Hook events for one delegation arrive in any order, so a task may jump forward past steps it
# was never seen in (queued -> completed when SubagentStop is processed before PreToolUse), and a
# run the session end marked stopped (task blocked) may still report afterwards.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"assigned", "in_progress", "completed", "blocked", "needs_review", "cancelled"}),
    "assigned": frozenset({"queued", "in_progress", "completed", "blocked", "needs_review", "cancelled"}),
    "in_progress": frozenset({"completed", "blocked", "needs_review", "queued", "cancelled"}),
    "blocked": frozenset({"queued", "assigned", "in_progress", "completed", "needs_review", "cancelled"}),
    "needs_review": frozenset({"completed", "queued", "assigned", "in_progress", "blocked"}),
    "completed": frozenset({"needs_review", "queued"}),
    "cancelled": frozenset({"queued"}),
}
# Where each status sits in one delegation's life; outcomes share the last rank.
TASK_RANK: dict[str, int] = {"queued": 0, "assigned": 1, "in_progress": 2, "completed": 3, "blocked": 3,
                             "needs_review": 3, "cancelled": 4}
OUTCOMES: tuple[str, ...] = ("completed", "blocked", "needs_review")

SPRINT_TRANSITIONS: dict[str, frozenset[str]] = {
    "planning": frozenset({"ready"}),
    "ready": frozenset({"active", "planning"}),
    "active": frozenset({"review", "blocked"}),
    "blocked": frozenset({"active"}),
    "review": frozenset({"complete", "planning"}),
    "complete": frozenset(),
}

TERMINAL_TASK_STATUSES = frozenset({"completed", "cancelled"})

_NOT_STARTED = frozenset({"queued", "completed", "cancelled"})
# The task states each sprint state allows: work runs only in an active (or blocked) sprint, review
# waits for running work to stop, and a complete sprint holds only finished work.
TASK_STATES_BY_SPRINT: dict[str, frozenset[str]] = {
    "planning": _NOT_STARTED,
    "ready": _NOT_STARTED,
    "active": frozenset(TASK_STATUSES),
    "blocked": frozenset(TASK_STATUSES),
    "review": frozenset(TASK_STATUSES) - {"assigned", "in_progress"},
    "complete": TERMINAL_TASK_STATUSES,
}


class IllegalTransition(ValueError):
    def __init__(self, kind: str, ident: str, current: str, wanted: str, legal: frozenset[str]) -> None:
        options = ", ".join(sorted(legal)) or "none (final state)"
        super().__init__(f"{kind} {ident}: cannot go from {current} to {wanted}; legal next states: {options}")


def check_task_transition(task_id: str, current: str, wanted: str) -> None:
    if wanted not in TASK_STATUSES:
        raise ValueError(f"task {task_id}: unknown status {wanted!r}; known: {', '.join(TASK_STATUSES)}")
    if current != wanted and wanted not in TASK_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition("task", task_id, current, wanted, TASK_TRANSITIONS.get(current, frozenset()))


class FinishedTask(ValueError):
    """Work asked of a task that is completed or cancelled: a delegation, a report, a worktree, a handoff."""


_REOPEN = "setting it back to queued reopens it: `orchestra task set-status {id} queued`, or update_task with status queued"
# What each kind of work needs of its task, in the words the CLI and the MCP tools both use.
FINISHED_TASK_TEXTS: dict[str, str] = {
    "delegation": "task {id} is {status}; there is no work to delegate (" + _REOPEN + ")",
    "report": "task {id} is {status}: a report is for work under way, and nothing was kept",
    "worktree": "task {id} is {status}; a worktree is for work under way (" + _REOPEN + ")",
    "handoff": "task {id} is {status}; nobody works on it to receive artifacts (hand them to an agent without "
               "naming this task, or to a task under way; to hand on its own work, name it as the task that "
               "produced them too: from_task, `--from-task`)",
}


def check_unfinished(task_id: str, task: dict[str, Any] | None, work: str) -> None:
    """Refuse `work` (a key of FINISHED_TASK_TEXTS) on a task that is completed or cancelled."""
    status = (task or {}).get("status")
    if status in TERMINAL_TASK_STATUSES:
        raise FinishedTask(FINISHED_TASK_TEXTS[work].format(id=task_id, status=status))


def check_sprint_transition(sprint_id: str, current: str, wanted: str) -> None:
    if wanted not in SPRINT_STATUSES:
        raise ValueError(f"sprint {sprint_id}: unknown status {wanted!r}; known: {', '.join(SPRINT_STATUSES)}")
    if current != wanted and wanted not in SPRINT_TRANSITIONS[current]:
        raise IllegalTransition("sprint", sprint_id, current, wanted, SPRINT_TRANSITIONS[current])


class Task(Record, frozen=False):
    id: str
    title: str = ""
    status: TaskStatus = "queued"
    type: str = "implementation"
    sprint: str | None = None
    epic: str | None = None
    team: str | None = None
    assignee: str | None = None
    priority: Priority = "normal"
    estimate: float = 1.0
    dependencies: list[str] = default(list)
    acceptance: dict[str, Any] = default(dict)
    spec: str | None = None
    artifacts: list[str] = default(list)
    agent_id: str | None = None
    blocker: str | None = None
    created_at: str | None = None
    assigned_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    # lifecycle bookkeeping: the current delegation (its tool_use_id), the status the lifecycle
    # last derived (so a human's set-status is not undone by a replayed hook event), why a run
    # was sent to review, and whether the task was created for an untagged delegation
    delegation: str | None = None
    lifecycle_status: str | None = None
    review_reason: str | None = None
    ad_hoc: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        known = {k: v for k, v in data.items() if k in field_names(cls)}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


class AgentRun(Record, frozen=False):
    id: str
    agent_type: str
    status: RunStatus = "launched"
    team: str | None = None
    role: str | None = None
    parent: str = "main"
    session_id: str | None = None
    task: str | None = None
    tool_use_id: str | None = None
    child_agents: list[str] = default(list)
    started_at: str | None = None
    ended_at: str | None = None
    # facts the hooks record; `status` is derived from them (lifecycle.transitions.run_status)
    link: str | None = None  # how tool_use_id was learned: "provisional" (SubagentStart guess) or "definitive"
    launched_at: str | None = None
    response: str | None = None  # PostToolUse(Agent) tool_response.status
    outcome: str | None = None  # completed | blocked | needs_review, from the accepted SubagentStop
    pushbacks: int = 0
    stops: dict[str, Any] = default(dict)  # SubagentStop fingerprint -> decision
    report: dict[str, Any] = default(dict)
    artifacts: list[str] = default(list)
    notified: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentRun:
        known = {k: v for k, v in data.items() if k in field_names(cls)}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


class Sprint(Record, frozen=False):
    id: str
    name: str = ""
    status: SprintStatus = "planning"
    epic: str | None = None
    project: str | None = None
    goal: str = ""
    start: str | None = None
    end: str | None = None
    tasks: list[str] = default(list)
    team_assignments: dict[str, list[str]] = default(dict)

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


class Message(Record, frozen=False):
    id: str
    type: str
    sender: str
    to: str
    payload: dict[str, Any] = default(dict)
    priority: Priority = "normal"
    reply_to: str | None = None
    task: str | None = None
    timestamp: str | None = None
    expires_at: str | None = None
    status: Literal["pending", "delivered", "acknowledged", "answered", "expired"] = "pending"

    def to_dict(self) -> dict[str, Any]:
        data = as_dict(self)
        data["from"] = data.pop("sender")
        return data
