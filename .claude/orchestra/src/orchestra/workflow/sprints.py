"""A sprint's life in state: load (Planning -> Ready), start (-> Active, tasks materialised), block and
unblock, close (-> Review -> Complete with a retrospective and carry-over) and reopen (Review -> Planning).

Until a sprint starts its YAML file is the source of truth; from the start on, the tasks in state are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import teams
from ..clock import now_iso
from ..models import TERMINAL_TASK_STATUSES, Task, check_task_transition
from ..store import entity
from . import states
from .definitions import SprintDef, check_end, load_sprint, project_relative
from .metrics import EVENT_OF_STATUS
from .view import state_id, stored_id


def organization(root: Path | None = None):
    return teams.load(root)


def load_definition(ref: str | Path, root: Path | None = None) -> SprintDef:
    """The validated definition, with assignees checked against teams.yaml."""
    return load_sprint(ref, root, organization(root))


def check_task_ids(sprints: list[SprintDef], recorded: dict[str, dict[str, Any]], root: Path | None = None) -> None:
    """Task ids are global: refuse a task that two of `sprints` define, that a sprint recorded in state
    and not complete (`recorded`, by id) already lists, or that a complete sprint finished (kept and did
    not carry over). The message names both files."""
    from ..yamlcheck import line_of
    from .retrospective import retrospective_path

    mine = {s.id for s in sprints}
    files = {project_relative(s.path, root): s.id for s in sprints}
    owners: dict[str, tuple[str, str, str]] = {}  # task id -> (sprint id, its file, what to do)
    rename = ", so rename it in one of the two files"
    for sid, record in recorded.items():
        if sid in mine or _renamed(sid, record, files.get(record.get("definition") or "")):
            continue
        where = record.get("definition") or f"sprint {sid}"
        if where in files:  # its file now declares another id: it started, so it keeps its own
            what = (f"; this file declared sprint {sid}, which is {record.get('status')} and keeps its id: put back "
                    f"`id: {sid}`, or write sprint {files[where]} in a file of its own")
            carried = {r["id"] for r in (record.get("retrospective") or {}).get("carried_over") or ()}
            for tid in set(record.get("tasks") or ()) - (carried if record.get("status") == "complete" else set()):
                owners[tid] = (sid, where, what)
            continue
        if record.get("status") == "complete":
            carried = {r["id"] for r in (record.get("retrospective") or {}).get("carried_over") or ()}
            for tid in set(record.get("tasks") or ()) - carried:
                owners[tid] = (sid, where, f", and {sid} is complete with this task kept there (not carried "
                                           "over), so give the task in this file another id")
            continue
        later = (f" (or close {sid}: its unfinished work is carried over and can join another sprint)"
                 if record.get("started_at") else f" (if it moved out of that file, load {sid} again with this "
                 f"one: `orchestra sprint load {sid} {' '.join(sorted(mine))}`)")
        what = rename + later
        if sid in orphaned([], {sid: record}, root):
            what = f", and that file is gone: `orchestra sprint load` (every file) drops {sid}, which never started"
        for tid in record.get("tasks") or ():
            owners[tid] = (sid, where, what)
    for sprint in sprints:
        text = sprint.path.read_text(encoding="utf-8")
        closed = "" if sprint.id in recorded else (
            f" (if {sprint.id} was closed in another state with this task carried over, add its retrospective "
            f"{project_relative(retrospective_path(sprint.id, root), root)} here: it marks {sprint.id} closed)")
        for i, task in enumerate(sprint.tasks):
            owner = owners.setdefault(task.id, (sprint.id, project_relative(sprint.path, root), rename + closed))
            if owner[0] != sprint.id:
                line = line_of(text, ["tasks", i, "id"]) or 1
                raise ValueError(f"{sprint.path}:{line}: task {task.id} is also defined in {owner[1]} (sprint "
                                 f"{owner[0]}); task ids are global{owner[2]}")


def never_started(record: dict[str, Any]) -> bool:
    """Planning or ready and never active (one reopened after review has tasks in state)."""
    return record.get("status") in ("planning", "ready") and not record.get("started_at")


def _renamed(sid: str, record: dict[str, Any], declared: str | None) -> bool:
    """A sprint never started whose file now declares another id (`declared`): renamed in the file."""
    return declared not in (None, sid) and never_started(record)


def orphaned(sprints: list[SprintDef], recorded: dict[str, dict[str, Any]],
             root: Path | None = None) -> dict[str, str]:
    """Sprints never started whose file is gone and that no file in `sprints` declares: {id: its file}.
    Until a sprint starts its file is the truth, so loading every file drops them."""
    from .. import paths

    base, mine = root or paths.project_root(), {s.id for s in sprints}
    return {sid: r["definition"] for sid, r in recorded.items()
            if sid not in mine and r.get("definition") and never_started(r) and not (base / r["definition"]).exists()}


def drop(tx, sprint_id: str, definition: str, reason: str) -> None:
    """Remove a sprint never started (see `orphaned` and `closed_elsewhere`); its tasks never went into state."""
    current = tx.get(f"sprints.{sprint_id}", None)
    if current and never_started(current):
        tx.delete(f"sprints.{sprint_id}")
        tx.append_event("sprint_dropped", {"sprint": sprint_id, "definition": definition, "reason": reason})


def closed_elsewhere(sprints: list[SprintDef], recorded: dict[str, dict[str, Any]],
                     root: Path | None = None) -> dict[str, dict[str, Any]]:
    """Sprints that did not run in this state (a fresh checkout, another machine's state: not in it, or
    loaded here and never started) whose retrospective is in `.claude/sprints/retrospectives`: closed
    where they ran. As records `check_task_ids` reads: complete, keeping the file's tasks its
    retrospective does not list as carried over; `here` when this state holds a record to drop. Covers
    `sprints` and the other files that have a retrospective (one that does not load is skipped)."""
    from .retrospective import carried_over_ids, retrospective_path

    def ran_here(sid: str) -> bool:
        return sid in recorded and not never_started(recorded[sid])

    folder = retrospective_path("-", root).parent
    others = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else ():
        if not ran_here(path.stem) and path.stem not in {s.id for s in sprints}:
            try:
                others.append(load_definition(path.stem, root))
            except ValueError:
                continue
    out: dict[str, dict[str, Any]] = {}
    for sprint in [*sprints, *others]:
        path = retrospective_path(sprint.id, root)
        if ran_here(sprint.id) or not path.is_file():
            continue
        try:
            carried = carried_over_ids(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the retrospective of sprint {sprint.id} ({exc}); it says which "
                             f"tasks the closed sprint carried over, so restore it or remove it") from None
        out[sprint.id] = {"status": "complete", "definition": project_relative(sprint.path, root),
                          "tasks": [t.id for t in sprint.tasks], "retrospective_file": project_relative(path, root),
                          "retrospective": {"carried_over": [{"id": tid} for tid in carried]},
                          "here": sprint.id in recorded}
    return out


def not_loadable(sprint_id: str, status: str) -> str:
    """Why the definition of a sprint that started is not (re)loaded."""
    return (f"sprint {sprint_id} is {status}; a definition can be (re)loaded only while it is planning or ready "
            f"(after review, `orchestra sprint close {sprint_id} --reopen REASON` returns it to planning)")


def first_day(record: dict[str, Any] | None) -> str:
    """The day a sprint without `start:` starts: the day it first started (a reopened sprint keeps it), else today."""
    return ((record or {}).get("started_at") or now_iso())[:10]


def register(tx, sprint: SprintDef, root: Path | None = None, batch: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Record a validated definition in state. A new sprint goes Planning -> Ready; a sprint already
    running refuses, because its tasks in state are now the truth. `batch`: the other sprints loaded in
    the same transaction, checked together beforehand (their records in state are about to change)."""
    current = tx.get(f"sprints.{sprint.id}", None)
    if current and current.get("status") not in ("planning", "ready"):
        raise ValueError(not_loadable(sprint.id, current["status"]))
    check_end(sprint, first_day(current))
    here = project_relative(sprint.path, root)
    for sid, record in tx.items("sprints").items():
        if record.get("definition") == here and _renamed(sid, record, sprint.id):
            tx.delete(f"sprints.{sid}")  # never started: nothing else refers to it
            tx.append_event("sprint_renamed", {"sprint": sid, "to": sprint.id, "definition": here})
    check_task_ids([sprint], {sid: r for sid, r in tx.items("sprints").items() if sid not in batch}, root)
    for task in sprint.tasks:
        owner = tx.get(f"tasks.{task.id}.sprint", None)
        if owner not in (None, sprint.id):
            raise ValueError(f"{sprint.path}: task {task.id} belongs to sprint {owner}; task ids are global, "
                             f"so pick another id (or close {owner} so it is carried over)")
    record = {
        "name": sprint.name, "goal": sprint.goal, "epic": sprint.epic, "project": sprint.project,
        "start": sprint.start, "end": sprint.end, "capacity": sprint.capacity,
        "definition": project_relative(sprint.path, root), "tasks": [t.id for t in sprint.tasks],
        "points": sprint.points, "loaded_at": now_iso(),
    }
    if current is None:
        tx.set(f"sprints.{sprint.id}", {**record, "status": "planning", "history": [], "team_assignments": {}})
    else:
        tx.update(f"sprints.{sprint.id}", record)
    tx.append_event("sprint_loaded", {"sprint": sprint.id, "tasks": len(sprint.tasks), "points": sprint.points,
                                      "definition": record["definition"]})
    if (current or {}).get("status", "planning") == "planning":
        states.transition(tx, sprint.id, "ready", "definition validated")
    return tx.get(f"sprints.{sprint.id}")


def load(store, ref: str | Path, root: Path | None = None) -> dict[str, Any]:
    """`orchestra sprint load`: validate the definition and record it in state (Planning -> Ready)."""
    sprint = load_definition(ref, root)
    with store.transaction() as tx:
        return register(tx, sprint, root)


def _task_record(task, sprint: SprintDef, created_at: str) -> dict[str, Any]:
    record = Task(
        id=task.id, title=task.title, type=task.type, sprint=sprint.id, epic=sprint.epic, team=task.team,
        assignee=task.assignee, priority=task.priority, estimate=task.estimate,
        dependencies=list(task.dependencies), acceptance=dict(task.acceptance), spec=task.spec,
        created_at=created_at,
    ).to_dict()
    extras = {"description": task.description, "feature": task.feature, "worktree_strategy": task.worktree_strategy}
    return {**record, **{k: v for k, v in extras.items() if v is not None}}


_DEFINED = ("title", "type", "team", "assignee", "priority", "estimate", "dependencies", "acceptance", "spec",
            "description", "feature", "worktree_strategy", "epic")


def materialise(tx, sprint: SprintDef) -> tuple[list[str], list[dict[str, Any]]]:
    """Put the definition's tasks into state (status queued). Tasks already there keep their status and
    history and take the definition's fields; carried-over tasks join this sprint; tasks dropped from the
    definition leave it unless finished. Returns the ids of tasks created, and the tasks removed (id,
    status, and `sprint`: None, where they are now)."""
    created, removed, at = [], [], now_iso()
    for task in sprint.tasks:
        record = _task_record(task, sprint, at)
        current = tx.get(f"tasks.{task.id}", None)
        if current is None:
            tx.set(f"tasks.{task.id}", record)
            created.append(task.id)
            continue
        fields = {k: record.get(k) for k in _DEFINED}
        fields["sprint"] = sprint.id
        tx.update(f"tasks.{task.id}", fields)
    defined = {t.id for t in sprint.tasks}
    for task in states.sprint_tasks(tx, sprint.id):
        if task["id"] not in defined and task.get("status") not in TERMINAL_TASK_STATUSES:
            tx.update(f"tasks.{task['id']}", {"sprint": None})
            tx.append_event("task_removed_from_sprint", {"sprint": sprint.id}, task_id=task["id"])
            removed.append({"id": task["id"], "status": task.get("status"), "sprint": None})
    return created, removed


def team_assignments(sprint: SprintDef) -> dict[str, list[str]]:
    """Task ids per team (tasks without one under `unassigned`), in dependency order."""
    order = {tid: i for i, tid in enumerate(sprint.graph().topological_order())}
    out: dict[str, list[str]] = {}
    for task in sorted(sprint.tasks, key=lambda t: order[t.id]):
        out.setdefault(task.team or "unassigned", []).append(task.id)
    return out


def start(store, ref: str | Path, root: Path | None = None) -> dict[str, Any]:
    """Ready -> Active: validate the definition, load it if needed, materialise tasks, fill team
    assignments, emit `sprint_started`, then provision worktrees. Returns the first plan (the waves
    to delegate). Starting an active sprint changes nothing and does not read its file (the tasks in
    state are the truth): it resumes the sprint, planning what can be delegated now."""
    from .retrospective import retrospective_path

    with store.snapshot() as tx:
        sprint_id = state_id(tx, str(ref), root)
        record = tx.get(f"sprints.{sprint_id}", None) if sprint_id else None
    if record is not None and record.get("status") not in ("planning", "ready"):
        return resume(store, record, root)
    sprint = load_definition(ref, root)
    with store.transaction() as tx:
        status = tx.get(f"sprints.{sprint.id}.status", None)
        retro = retrospective_path(sprint.id, root)
        if never_started(tx.get(f"sprints.{sprint.id}", None) or {"status": "planning"}) and retro.is_file():
            raise ValueError(f"sprint {sprint.id} is closed (its retrospective {project_relative(retro, root)} says "
                             "so; it did not run in this state), so it is not started again; its carried-over "
                             "work can join a later sprint's file (to run it afresh, move the retrospective away)")
        started, removed = status in (None, "planning", "ready"), []
        if started:
            register(tx, sprint, root)
            created, removed = materialise(tx, sprint)
            assignments = team_assignments(sprint)
            first_start = tx.get(f"sprints.{sprint.id}.started_at", None) or now_iso()  # a restart keeps it
            tx.update(f"sprints.{sprint.id}", {"team_assignments": assignments, "started_at": first_start})
            states.transition(tx, sprint.id, "active", "sprint started")
            tx.append_event("sprint_started", {
                "sprint": sprint.id, "points": sprint.points, "created": created,
                "scope": {t.id: t.estimate for t in sprint.tasks},
            })
        elif status not in ("active", "blocked"):
            states.transition(tx, sprint.id, "active")  # raises, listing the legal next states
        record = tx.get(f"sprints.{sprint.id}")
    worktrees = provision_worktrees(store, sprint.id, root) if started else {}
    from .planning import plan_sprint

    return {"sprint": sprint.id, "status": record["status"], "started": started, "tasks": record["tasks"],
            "removed": removed, "team_assignments": record.get("team_assignments", {}), "worktrees": worktrees,
            "worktrees_at_delegation": awaiting_member(store, sprint.id, root) if started else [],
            "plan": plan_sprint(store, sprint.id, root)}


def resume(store, record: dict[str, Any], root: Path | None = None) -> dict[str, Any]:
    """`start` of a sprint already started: its plan, unchanged state. A sprint in review or complete has
    nothing left to start, and the refusal says what to do instead."""
    from .planning import plan_sprint

    sid, status = record["id"], record.get("status")
    if status == "review":
        raise ValueError(f"sprint {sid} is in review, so no work is started in it: finish it with `orchestra sprint "
                         f"close {sid}`, or, when the review found issues, `orchestra sprint close {sid} --reopen "
                         f"REASON` and start it again")
    if status == "complete":
        carried = [r["id"] for r in (record.get("retrospective") or {}).get("carried_over") or ()]
        left = (f"its unfinished work ({', '.join(carried)}) was carried over: list it in a later sprint's file"
                if carried else "every task of it was finished")
        raise ValueError(f"sprint {sid} is complete (closed {record.get('closed_at') or 'already'}), so there is "
                         f"nothing to start or resume; {left}; `orchestra sprint status {sid}` shows how it ended")
    return {"sprint": sid, "status": status, "started": False, "tasks": record.get("tasks") or [], "removed": [],
            "team_assignments": record.get("team_assignments", {}), "worktrees": {}, "worktrees_at_delegation": [],
            "plan": plan_sprint(store, sid, root)}


def provision_worktrees(store, sprint_id: str, root: Path | None = None) -> dict[str, Any]:
    """The one place a started sprint asks for worktrees (per epic, sprint, task or team strategy).
    Runs after the start transaction has committed, so git work never holds the state lock. Returns
    what was allocated, keyed by task id; empty outside a git repository."""
    from .. import paths
    from ..worktrees import provision_sprint

    return provision_sprint(store, sprint_id, root or paths.project_root())


def awaiting_member(store, sprint_id: str, root: Path | None = None) -> list[str]:
    """Team-less tasks whose worktree waits for the member they are delegated to (see `provision_worktrees`)."""
    from .. import paths
    from ..worktrees.allocation import awaiting_member as waiting

    return waiting(store, sprint_id, root or paths.project_root())


def block(store, ref: str, reason: str, root: Path | None = None) -> dict[str, Any]:
    """Block by hand (an outside dependency, say): Active -> Blocked, or a sprint that blocked itself
    keeps the reason too; stays blocked until `unblock`. `ref`: the sprint's id or file (`state_id`)."""
    if not reason.strip():
        raise ValueError(f"sprint {ref}: say why it is blocked (a reason is required)")
    with store.transaction() as tx:
        return states.hold(tx, stored_id(tx, ref, root), reason)


def unblock(store, ref: str, reason: str | None = None, root: Path | None = None) -> dict[str, Any]:
    """Blocked -> Active by hand; any other state is refused. `ref`: the sprint's id or file (`state_id`)."""
    with store.transaction() as tx:
        return states.release(tx, stored_id(tx, ref, root), reason)


def requeue(tx, task: dict[str, Any], reason: str, **fields: Any) -> None:
    """Send an unfinished task back to queued (recording the change as an event)."""
    current = task.get("status", "queued")
    check_task_transition(task["id"], current, "queued")
    tx.update(f"tasks.{task['id']}", {"status": "queued", "agent_id": None, **fields})
    if current != "queued":
        tx.append_event(EVENT_OF_STATUS["queued"], {"from": current, "reason": reason}, task_id=task["id"])


def reopen(store, ref: str, reason: str, root: Path | None = None) -> dict[str, Any]:
    """Review -> Planning when the review found issues: unfinished tasks go back to queued. `ref`: the
    sprint's id or file (`state_id`)."""
    if not reason.strip():
        raise ValueError(f"sprint {ref}: say what the review found (a reason is required)")
    with store.transaction() as tx:
        sprint_id = stored_id(tx, ref, root)
        status = (entity(tx, "sprints", sprint_id) or {}).get("status")
        if status != "review":
            states.transition(tx, sprint_id, "planning", reason)  # raises with the legal moves
        for task in states.sprint_tasks(tx, sprint_id):
            if task.get("status") in ("needs_review", "blocked"):
                requeue(tx, task, f"sprint {sprint_id} reopened: {reason}")
        return states.transition(tx, sprint_id, "planning", reason)
