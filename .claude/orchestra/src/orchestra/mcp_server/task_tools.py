"""Tasks and state as MCP tools: get_state, list_tasks, get_task, update_task, delegate_task, report_status.

Each is the lifecycle's own operation (`orchestra.lifecycle`), the one the CLI's `task` commands
use; a status change also passes the sprint's rules (`workflow.check_task_status`) and lets a
sprint that is stuck on blockers block itself (`workflow.sync_blocked`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BeforeValidator, Field

from .. import bus, lifecycle, workflow
from ..bus.messages import MESSAGES
from ..lifecycle.review import MAX_FINDINGS
from ..models import TaskStatus
from ..store.document import COLLECTIONS, MAX_ID_LENGTH
from .edge import StampedCaller, identity, organization, sized, state, validated

TaskId = Annotated[str, Field(pattern=rf"^[A-Za-z0-9_\-:@/+]{{1,{MAX_ID_LENGTH}}}$", description="the task id, e.g. build-1")]
Verdict = Literal["approved", "changes_requested", "rejected"]
# A review verdict moves the task; rejected work waits for its orchestrator's decision.
VERDICT_STATUS: dict[str, str] = {"approved": "completed", "changes_requested": "in_progress", "rejected": "blocked"}
# What one call may store stays readable (the number of findings a review holds: `lifecycle.review`).
MAX_FINDING_CHARS = 500
MAX_METRICS = 50
MAX_METRIC_NAME = 64
Finding = Annotated[str, Field(min_length=1, max_length=MAX_FINDING_CHARS)]
MetricName = Annotated[str, Field(min_length=1, max_length=MAX_METRIC_NAME)]
# The bound sits on the dict itself, so the schema says `maxProperties` (outside, it would read `maxLength`).
Metrics = Annotated[dict[MetricName, float], Field(max_length=MAX_METRICS)]
_ABSENT = object()


def _short_names(metrics: object) -> object:
    """A metric name that is too long is refused here, as a whole: the key's own check would name the key,
    whole, in the error."""
    for name in metrics if isinstance(metrics, dict) else ():
        if isinstance(name, str) and len(name) > MAX_METRIC_NAME:
            raise ValueError(f"metric names have at most {MAX_METRIC_NAME} characters; {name[:30]!r}... has "
                             f"{len(name)}")
    return metrics


def get_state(path: Annotated[str, Field(max_length=300, description=(
        "dotted path such as tasks.build-1, sprints.s1.status or agents; empty for an overview"))] = "") -> dict[str, Any]:
    """Read the shared state at a dotted path; without one, an overview (how many of each, sprint statuses,
    open messages)."""
    path = path.strip()
    with state() as tx:
        if not path:
            return {"counts": {c: len(tx.items(c)) for c in COLLECTIONS},
                    "sprints": {k: s.get("status") for k, s in sorted(tx.items("sprints").items())},
                    "open_messages": len(tx.find(MESSAGES, status="pending"))}
        value = tx.get(path, _ABSENT)
    if value is _ABSENT:
        raise ToolError(f"nothing is stored at {path!r}; call get_state without a path for what there is")
    return {"path": path, "value": value}


def list_tasks(status: Annotated[list[TaskStatus] | None, Field(min_length=1, description=(
                   "only tasks in these statuses"))] = None,
               sprint: Annotated[str | None, Field(min_length=1, description="only this sprint's tasks")] = None,
               team: Annotated[str | None, Field(min_length=1, description="only this team's tasks")] = None,
               assignee: Annotated[str | None, Field(min_length=1, description=(
                   "only tasks assigned to this agent type"))] = None,
               ) -> dict[str, Any]:
    """Tasks with their status, assignee, dependencies and artifacts, filtered by every argument given."""
    with state() as tx:
        rows = lifecycle.task_list(tx, statuses=status, sprint=sprint, team=team, assignee=assignee)
        if not rows:  # nothing matched: a name that matches nothing anywhere is a mistake, not an empty answer
            _known_filters(tx, sprint=sprint, team=team, assignee=assignee)
    return {"tasks": rows, "count": len(rows)}


def _known_filters(tx, **given: str | None) -> None:
    """A tool error for the first filter naming a sprint, team or agent type that neither the state nor
    teams.yaml knows."""
    org = organization()
    tasks = tx.items("tasks").values()
    known = {"sprint": set(tx.items("sprints")) | {t.get("sprint") for t in tasks},
             "team": set(org.teams) | {t.get("team") for t in tasks},
             "assignee": set(org.agents) | {t.get("assignee") for t in tasks}
             | {a.get("agent_type") for a in tx.items("agents").values()}}
    what = {"sprint": "sprint", "team": "team", "assignee": "agent type"}
    for name, value in given.items():
        if value is not None and value not in known[name] and not (name == "assignee" and org.member(value)):
            raise ToolError(f"list_tasks: {name} {value[:120]!r}: no {what[name]} of that name in state or teams.yaml "
                            f"(known: {', '.join(sorted(k for k in known[name] if k)[:40])})")


def get_task(task_id: TaskId) -> dict[str, Any]:
    """One task whole: its record, delegations, agent runs, recent history, artifacts handed to it and review
    verdicts."""
    with state() as tx:
        story = lifecycle.task_view(tx, task_id)
        story.update(handoffs=bus.artifacts_for_task(tx, task_id), reviews=bus.review_verdicts(tx, task_id))
    return story


def update_task(task_id: TaskId,
                status: Annotated[TaskStatus | None, Field(description="the new status (the transition table decides)")] = None,
                verdict: Annotated[Verdict | None, Field(description=(
                    "a review verdict on a task in needs_review: approved -> completed, changes_requested -> "
                    "in_progress, rejected -> blocked (unless status says otherwise)"))] = None,
                findings: Annotated[list[Finding] | None, Field(max_length=MAX_FINDINGS, description=(
                    "review findings, each with file:line and what to change; without a verdict, added to the "
                    "review's"))] = None,
                reason: Annotated[str | None, Field(max_length=2000, description=(
                    "why; kept as the blocker (blocked) or review reason (needs_review)"))] = None,
                caller: StampedCaller = None) -> dict[str, Any]:
    """Move a task to a new status, or record a review verdict and findings on it. Returns the task."""
    by = identity(caller)
    wanted = status or (VERDICT_STATUS[verdict] if verdict else None)
    if wanted is None and not findings:
        raise ToolError("update_task: give a status, a verdict or findings")
    with state(write=True) as tx:
        task = tx.get(f"tasks.{task_id}", None)
        if task is None:
            raise ToolError(f"task {task_id!r}: no such task in state; list_tasks shows the ids")
        lifecycle.check_verdict(task_id, task, verdict, findings)  # before the sprint's rules speak
        if wanted is not None:
            workflow.check_task_status(tx, task, wanted)
            why = reason or ("; ".join(findings) if findings else None)
            lifecycle.set_status(tx, task_id, wanted, reason=why, by=by.id, verdict=verdict, findings=findings,
                                 agent_type=by.agent_type)
        if verdict or findings:
            lifecycle.record_verdict(tx, task_id, task, verdict, findings or [], by=by.id,
                                     agent_id=by.agent_id, session_id=by.session_id)
        if task.get("sprint"):
            workflow.sync_blocked(tx, task["sprint"])
        validated(tx, f"tasks.{task_id}")
        return sized(tx.get(f"tasks.{task_id}"), NARROWING["update_task"])  # refused inside: nothing written


def delegate_task(task_id: TaskId) -> dict[str, Any]:
    """Ready Agent tool arguments for a task: subagent_type, description, and a prompt carrying the [task:<id>]
    tag and the task's brief. Pass them to the Agent tool unchanged."""
    org = organization()
    with state() as tx:
        return lifecycle.delegation_arguments(tx, org, task_id)


def report_status(task_id: TaskId,
                  progress: Annotated[int | None, Field(ge=0, le=100, description="percent done")] = None,
                  summary: Annotated[str | None, Field(min_length=1, max_length=2000,
                                                       description="what was done, what is next")] = None,
                  build: Annotated[Literal["passed", "failed"] | None, Field(description="result of the last build")] = None,
                  tests_passed: Annotated[int | None, Field(ge=0, description="how many tests passed")] = None,
                  tests_failed: Annotated[int | None, Field(ge=0, description="how many tests failed")] = None,
                  coverage: Annotated[float | None, Field(ge=0, le=100, description="test coverage, percent")] = None,
                  metrics: Annotated[Metrics | None, BeforeValidator(_short_names), Field(
                      description="other numbers by name, e.g. {\"p95_ms\": 41.5}")] = None,
                  caller: StampedCaller = None) -> dict[str, Any]:
    """Report progress on your task: percent done, a summary, build and test results, coverage, other numbers.
    Changes no status; your final message's STATUS line does that."""
    by = identity(caller)
    if summary is not None and not summary.strip():
        raise ToolError(f"report_status: summary: expected non-empty text, got {summary!r}; say what was done and "
                        "what is next, or leave summary out")
    given = {"progress": progress, "summary": summary, "build": build, "tests_passed": tests_passed,
             "tests_failed": tests_failed, "coverage": coverage, "metrics": metrics}
    report = {k: v for k, v in given.items() if v is not None}
    if not report:
        raise ToolError("report_status: give at least one of progress, summary, build, tests_passed, tests_failed, "
                        "coverage, metrics")
    with state(write=True) as tx:
        entry = lifecycle.record_report(tx, task_id, report, by=by.id, agent_id=by.agent_id, session_id=by.session_id)
        validated(tx, f"tasks.{task_id}")
    return {"task": task_id, "report": entry}


TOOLS = (get_state, list_tasks, get_task, update_task, delegate_task, report_status)
READ_ONLY = frozenset({"get_state", "list_tasks", "get_task", "delegate_task"})
NARROWING = {  # how to ask for less when an answer is too big (`edge.sized`)
    "get_state": "read a narrower path (tasks.<id>) or use list_tasks",
    "list_tasks": "filter by status, sprint, team or assignee",
    "get_task": "read single fields with get_state tasks.<id>.<field>",
    "update_task": "nothing was changed. The task is too large to show whole: `orchestra task set-status` moves it "
                   "from a terminal, get_state tasks.<id>.<field> reads it",
}
