"""What a sprint looks like right now: its record, its tasks (from state once started, from the YAML
before) and the graph of the work that is left."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..metrics.tally import carried_out, reopened, waiting_status
from ..models import TASK_STATUSES, TERMINAL_TASK_STATUSES
from . import metrics, states
from .graph import GraphError, Node, TaskGraph, UnknownDependencyError

RUNNING = frozenset({"assigned", "in_progress", "needs_review"})
EVENT_PAGE = 5000
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # as in schemas/sprint.json


@dataclass
class SprintView:
    id: str
    record: dict[str, Any] | None  # None: never loaded into state
    tasks: list[dict[str, Any]]
    source: str  # "state" or "definition"
    capacity: dict[str, int]  # the sprint's per-team overrides of parallel capacity
    start: str | None = None  # calendar from the definition (ISO dates)
    end: str | None = None
    carried: list[dict[str, Any]] = field(default_factory=list)  # unfinished work carried out at close
    # `holders.with_holders`: who works on each running task now, and started tasks nobody holds any more
    holders: dict[str, str] = field(default_factory=dict)
    free: frozenset[str] = frozenset()
    # a sprint never loaded: its name, goal and epic as its file gives them (a loaded one has them in `record`)
    about: dict[str, Any] = field(default_factory=dict)

    @property
    def points(self) -> dict[str, float]:
        """Committed, completed, remaining, carried-over and cancelled points (`metrics.sprint_points`)."""
        return metrics.sprint_points(self.tasks, self.carried)

    @property
    def status(self) -> str:
        return (self.record or {}).get("status", "planning")

    @property
    def done(self) -> set[str]:
        return {t["id"] for t in self.tasks if t.get("status") in TERMINAL_TASK_STATUSES}

    @property
    def running(self) -> list[str]:
        """Tasks being worked on or reviewed, less those whose attempt is over (`free`)."""
        return [t["id"] for t in self.tasks if t.get("status") in RUNNING and t["id"] not in self.free]

    @property
    def blocked(self) -> set[str]:
        """Tasks waiting on a blocker, less those whose only blocker was their session's end (`free`)."""
        return {t["id"] for t in self.tasks if t.get("status") == "blocked" and t["id"] not in self.free}

    def remaining_graph(self, outside_done: set[str] = frozenset(), org=None, pool_of=None) -> TaskGraph:
        """The unfinished tasks; dependencies on finished ones (here or in `outside_done`) are satisfied. With
        `org`, a task without an assignee counts against the member its delegation would go to (`doer`;
        `pool_of`: `views.pool_finder` of `org`, when the caller has one)."""
        done = self.done
        try:
            return TaskGraph(
                (node(t, doer(org, t, pool_of) if org is not None else t.get("assignee")) for t in self.tasks
                 if t["id"] not in done), done | set(outside_done)
            )
        except GraphError as exc:
            if self.source != "state":
                raise
            raise GraphError(self._state_graph_error(exc, done | set(outside_done)), exc.ids) from None

    def _state_graph_error(self, exc: GraphError, finished: set[str]) -> str:
        """A graph error of a started sprint comes from dependencies written into state directly (its file is
        checked when it loads): the key that holds them, and the command that mends them."""
        if not isinstance(exc, UnknownDependencyError):
            keys = ", ".join(f"tasks.{tid}.dependencies" for tid in dict.fromkeys(exc.ids))
            if len(exc.ids) < 2:
                return f"{exc}; the dependencies are in the state store ({keys})"
            first, then = exc.ids[0], exc.ids[1]  # the cycle's first link: `then` waits on `first`
            deps = next((t.get("dependencies") or [] for t in self.tasks if t["id"] == then), [])
            kept = json.dumps([d for d in deps if d != first])
            return (f"{exc}; the dependencies are in the state store ({keys}): remove one, such as {then}'s on "
                    f"{first}: `orchestra state set tasks.{then}.dependencies '{kept}'`")
        task_id = exc.ids[0]
        known = {t["id"] for t in self.tasks} | finished
        deps = next(t.get("dependencies") or [] for t in self.tasks if t["id"] == task_id)
        unknown = [d for d in deps if d not in known]
        kept = json.dumps([d for d in deps if d in known and d != task_id])  # its dependency on itself goes too
        what = (f"{unknown[0]!r}, which is neither a task of sprint {self.id} nor a finished task" if len(unknown) == 1
                else f"{', '.join(map(repr, unknown))}, which are neither tasks of sprint {self.id} nor finished tasks")
        return (f"{task_id}: depends on {what}; the {'dependency is' if len(unknown) == 1 else 'dependencies are'} "
                f"in the state store (tasks.{task_id}.dependencies, written there directly: a sprint's file is checked "
                f"when it loads). Fix it with `orchestra state set tasks.{task_id}.dependencies '{kept}'`")


def doer(org, task: dict[str, Any], pool_of=None) -> str | None:
    """The member who takes `task`: its assignee, else the one member of its team its delegation can pick (the
    capacity gate counts that member's place), else None: nobody, or several able members, of whom the least
    busy takes it when it is delegated (`lifecycle.assignment`: the plan's waves and the forecast spread it).
    `pool_of`: a `views.pool_finder` of `org` (without it, `views.auto_pool` is asked)."""
    from ..lifecycle.views import auto_pool, pick_agent

    if task.get("assignee"):
        return task["assignee"]
    pool = pool_of(task) if pool_of is not None else auto_pool(org, task)
    if pool is not None:  # the pick is among these (`pick_agent` gives the first)
        return pool[0][0] if len(pool[0]) == 1 else None
    picked = pick_agent(org, task)
    return picked if org.member(picked) else None


def node(task: dict[str, Any], assignee: str | None = None) -> Node:
    return Node(task["id"], float(task.get("estimate", 1.0) or 0.0), tuple(task.get("dependencies") or ()),
                task.get("priority", "normal"), task.get("team"), assignee)


def is_id(ref: str) -> bool:
    return bool(ID.match(ref))


def state_id(tx, ref: str, root: Path | None = None) -> str | None:
    """The id in state of the sprint `ref` names: its id, or its file (a path, or the name of a file in
    .claude/sprints), which declares the id; None when no sprint in state is named so. Every sprint
    command resolves its argument here, so a file named otherwise than its id names the sprint too."""
    from .definitions import DefinitionError, declared_id, find_definition

    if is_id(ref) and tx.get(f"sprints.{ref}", None) is not None:
        return ref
    try:
        declared = declared_id(find_definition("sprint", ref, root))
    except DefinitionError:
        return None
    return declared if is_id(declared) and tx.get(f"sprints.{declared}", None) is not None else None


def stored_id(tx, ref: str, root: Path | None = None) -> str:
    """`state_id`, else `ref` itself for the state machine to refuse (a file of it is to be loaded or started
    first); a name that is neither a sprint in state nor a sprint file is refused here, listing the files."""
    from ..store.document import is_entity_id
    from .definitions import DefinitionError, definition_files, definitions_dir, find_definition

    found = state_id(tx, ref, root)
    if found is None and is_entity_id(ref):
        try:
            find_definition("sprint", ref, root)
        except DefinitionError:
            known = ", ".join(p.stem for p in definition_files("sprint", root)) or "none"
            raise DefinitionError(f"sprint {ref!r}: no such sprint in state and no such file in "
                                  f"{definitions_dir('sprint', root)} (known: {known})") from None
    return found or ref


def sprint_view(tx, ref: str, root: Path | None = None) -> SprintView:
    """The sprint `ref` names (see `state_id`; before it is loaded, a definition file's path or name)."""
    sprint_id = state_id(tx, ref, root) or ref
    record = tx.get(f"sprints.{sprint_id}", None) if is_id(sprint_id) else None
    tasks = states.sprint_tasks(tx, sprint_id) if record else []
    # once started, state is the truth even when empty; reopened, its file is again until it starts
    if (tasks or (record or {}).get("started_at")) and not reopened(record):
        order = {tid: i for i, tid in enumerate(record.get("tasks") or [])}
        tasks.sort(key=lambda t: (order.get(t["id"], len(order)), t["id"]))
        return SprintView(sprint_id, record, tasks, "state", record.get("capacity") or {}, record.get("start"),
                          record.get("end"), carried_out(record))
    from .sprints import load_definition

    definition = load_definition((record or {}).get("definition") or sprint_id, root)
    tasks = [{**t.to_dict(), **carried_state(tx, t.id, definition.id), "sprint": definition.id}
             for t in definition.tasks]
    if reopened(record):  # starting it again keeps in it the finished work its file no longer lists
        listed = {t.id for t in definition.tasks}
        tasks += [t for t in states.sprint_tasks(tx, definition.id)
                  if t["id"] not in listed and t.get("status") in TERMINAL_TASK_STATUSES]
    about = {"name": definition.name, "goal": definition.goal, "epic": definition.epic}
    return SprintView(definition.id, record, tasks, "definition", definition.capacity, definition.start,
                      definition.end, about={} if record else about)


def carried_state(tx, task_id: str, sprint_id: str | None = None) -> dict[str, Any]:
    """A task of a sprint not started yet: `tally.waiting_status` of its entity in state."""
    return waiting_status(tx.get(f"tasks.{task_id}", None), sprint_id)


def recorded_points(tx, record: dict[str, Any]) -> dict[str, float]:
    """`metrics.sprint_points` of a sprint in state, without reading its definition file: from its tasks
    in state once started, else from the points its definition had when loaded. A sprint reopened after review
    is planned from its file again (`sprint_view`), so its points are counted from it too."""
    if reopened(record):
        try:
            return sprint_view(tx, record["id"]).points
        except (ValueError, OSError):
            pass  # a file that does not load (yet): the tasks it has in state
    tasks = states.sprint_tasks(tx, record["id"])
    if tasks or record.get("started_at"):
        return metrics.sprint_points(tasks, carried_out(record))
    total = float(record.get("points") or 0.0)
    return {"total": total, "completed": 0.0, "remaining": total, "carried_over": 0.0, "cancelled": 0.0}


def outside_done(tx, view: SprintView) -> set[str]:
    """Dependencies on tasks outside this sprint that are already finished (e.g. carried over and done)."""
    ours = {t["id"] for t in view.tasks}
    out = set()
    for task in view.tasks:
        for dep in task.get("dependencies") or ():
            if dep not in ours and tx.get(f"tasks.{dep}.status", None) in TERMINAL_TASK_STATUSES:
                out.add(dep)
    return out


def all_events(tx, types: tuple[str, ...] = (), to: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every event (of `types`, or whose `data.to` is one of `to`, when given), oldest first, read in pages
    so no backend's default limit cuts it short."""
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        page = tx.events_after(after, EVENT_PAGE, types, to) if to else tx.events_after(after, EVENT_PAGE, types)
        out.extend(page)
        if len(page) < EVENT_PAGE:
            return out
        after = page[-1]["id"]


def sprint_events(tx) -> list[dict[str, Any]]:
    """What sprint metrics read of the log, oldest first: every task status change (`metrics.task_changes`:
    a lifecycle task event, or any event whose `data.to` is a task status) and every carry-over
    (`metrics.carried_in`). A narrowed read: the rest of the log (tool calls, messages, runs) is left alone."""
    return all_events(tx, (*metrics.STATUS_OF_EVENT, "task_carried_over"), TASK_STATUSES)
