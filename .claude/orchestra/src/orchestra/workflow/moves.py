"""Work moved between sprints by hand (`orchestra task move`): queued or blocked tasks of a running sprint
go to another running sprint, or out of any sprint. A task's `sprint` and its sprints' `tasks` lists move
together, with dependencies that still hold, so no plan finds a dependency it cannot place."""

from __future__ import annotations

from typing import Any

from ..lifecycle.views import task_record
from ..models import TERMINAL_TASK_STATUSES
from ..store import entity
from ..store.document import is_entity_id
from . import states

MOVABLE = ("queued", "blocked")
RUNNING = ("active", "blocked")
HOW = "`orchestra task move TASK SPRINT` (or `--out`), which keeps the task and both sprints in step"


def move_tasks(tx, task_ids: list[str], to: str | None, *, by: str = "human") -> list[dict[str, Any]]:
    """Move `task_ids` into sprint `to` (None: out of any sprint); returns each task with `moved` (from, to),
    None when it already was there. All or nothing: a refusal says what to do instead."""
    tasks = {tid: task_record(tx, tid) for tid in dict.fromkeys(task_ids)}
    if to is not None:
        _check_target(tx, to, tasks)
    moving = {tid for tid, t in tasks.items() if t.get("sprint") != to}
    for tid in moving:
        _check_movable(tx, tasks[tid])
    _check_dependencies(tx, tasks, moving, to)
    out = []
    for tid, task in tasks.items():
        source = task.get("sprint")
        if tid not in moving:
            out.append({**task, "moved": None})
            continue
        tx.update(f"tasks.{tid}", {"sprint": to})
        if source:
            _leave(tx, source, tid)
        if to:
            _join(tx, to, tid, task.get("team"))
        tx.append_event("task_moved", {"from": source, "to": to, "by": by}, task_id=tid)
        out.append({**task, "sprint": to, "moved": {"from": source, "to": to}})
    for sid in {t["moved"]["from"] for t in out if t["moved"]} | {to}:
        if sid:
            states.sync_blocked(tx, sid)
    return out


def _check_target(tx, to: str, tasks: dict[str, dict[str, Any]]) -> None:
    record = entity(tx, "sprints", to)
    if record is None:
        raise ValueError(_unknown(to))
    if record.get("status") in ("planning", "ready"):
        ids = " ".join(tasks)
        raise ValueError(f"sprint {to} has not started, so its file says what it holds: take the work out of its "
                         f"sprint with `orchestra task move {ids} --out`, then list it in the file of {to} "
                         f"({record.get('definition') or 'its definition'}); starting {to} takes it, status kept")
    if record.get("status") not in RUNNING:
        raise ValueError(f"sprint {to} is {record.get('status')}: work moves only into a running sprint "
                         f"(active or blocked)")


def _unknown(to: str) -> str:
    """Why no work moves into `to`, a sprint not in state: a sprint file names it, to start first, or none does."""
    from .definitions import DefinitionError, find_definition

    if is_entity_id(to):
        try:
            find_definition("sprint", to)
        except DefinitionError:
            return (f"sprint {to}: no such sprint is known (none in state, and no file in .claude/sprints declares "
                    "it); `orchestra sprint status` lists the sprints in state")
    return states.not_in_state(to, "start")


def _check_movable(tx, task: dict[str, Any]) -> None:
    status, source = task.get("status", "queued"), task.get("sprint")
    if status not in MOVABLE:
        how = ("finished work stays in the sprint that did it" if status in TERMINAL_TASK_STATUSES else
               f"wait for its report, or take it back with `orchestra task set-status {task['id']} queued` first")
        raise ValueError(f"task {task['id']} is {status}: only queued or blocked work moves; {how}")
    if source:
        current = (entity(tx, "sprints", source) or {}).get("status")
        if current == "review":
            raise ValueError(f"task {task['id']} is in sprint {source}, which is in review: closing it (`orchestra "
                             f"sprint close {source}`) carries its unfinished work out, and then it moves; or reopen "
                             f"it (`orchestra sprint close {source} --reopen REASON`), take the task out of its file "
                             "and start it again")
        if current is not None and current not in RUNNING:  # a sprint gone from state holds nothing
            raise ValueError(f"task {task['id']} is in sprint {source}, which is {current}: until it starts (again) "
                             f"its file says what it holds, so edit the file instead")


def _check_dependencies(tx, tasks: dict[str, dict[str, Any]], moving: set[str], to: str | None) -> None:
    """A moved task's unfinished dependencies go with it (or are in `to` already); no task staying behind
    depends on one that leaves."""
    def finished(tid: str) -> bool:
        return tx.get(f"tasks.{tid}.status", None) in TERMINAL_TASK_STATUSES

    def behind(tid: str, taken: set[str]) -> list[str]:
        return [dep for dep in (tx.get(f"tasks.{tid}.dependencies", None) or ())
                if dep not in taken and tx.get(f"tasks.{dep}.sprint", None) != to and not finished(dep)]

    for tid in sorted(moving):
        if not to or not (first := behind(tid, moving)):
            continue
        taken, todo = set(moving), list(first)  # what has to go with it, dependencies of dependencies too
        while todo:
            if (dep := todo.pop(0)) not in taken:
                taken.add(dep)
                todo += behind(dep, taken)
        extra = list(dict.fromkeys([*first, *sorted(taken - moving - set(first))]))
        stuck = [f"{dep} is {status} and cannot move (wait for its report, or take it back with `orchestra task "
                 f"set-status {dep} queued`)" for dep in extra
                 if (status := tx.get(f"tasks.{dep}.status", None) or "queued") not in MOVABLE]
        what = (f"{first[0]}, which is" if len(first) == 1 else f"{', '.join(first)}, which are")
        how = "; ".join(stuck) if stuck else f"move them together (`orchestra task move {' '.join([*tasks, *extra])} {to}`)"
        raise ValueError(f"{tid} depends on {what} not finished and not in {to}: {how}")
    for source in {tasks[tid].get("sprint") for tid in moving} - {None}:
        for other in states.sprint_tasks(tx, source):
            if other["id"] in moving or other.get("status") in TERMINAL_TASK_STATUSES:
                continue
            for dep in sorted(set(other.get("dependencies") or ()) & moving):
                raise ValueError(f"{other['id']}, which stays in {source}, depends on {dep}: move them together "
                                 f"(`orchestra task move {' '.join([*tasks, other['id']])} {to or '--out'}`), "
                                 f"or leave {dep} in {source}")


def _leave(tx, sprint_id: str, task_id: str) -> None:
    record = entity(tx, "sprints", sprint_id)
    if record is None:
        return
    assignments = {team: [t for t in ids if t != task_id] for team, ids in (record.get("team_assignments") or {}).items()}
    tx.update(f"sprints.{sprint_id}", {"tasks": [t for t in record.get("tasks") or [] if t != task_id],
                                       "team_assignments": {team: ids for team, ids in assignments.items() if ids}})


def _join(tx, sprint_id: str, task_id: str, team: str | None) -> None:
    record = tx.get(f"sprints.{sprint_id}", None) or {}
    assignments = dict(record.get("team_assignments") or {})
    assignments[team or "unassigned"] = [*assignments.get(team or "unassigned", []), task_id]
    tx.update(f"sprints.{sprint_id}", {"tasks": [*(record.get("tasks") or []), task_id],
                                       "team_assignments": assignments})


def membership(tx) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each task's sprint, and each sprint's task list: what only `move_tasks` (and the sprint commands) change."""
    return ({tid: t.get("sprint") for tid, t in tx.items("tasks").items()},
            {sid: s.get("tasks") for sid, s in tx.items("sprints").items()})


def check_membership_kept(before: tuple[dict[str, Any], dict[str, Any]], tx, path: str) -> None:
    """Refuse a direct write (`orchestra state set`) that changed which sprint a task is in."""
    tasks, sprints = membership(tx)
    moved = sorted(tid for tid in tasks.keys() | before[0].keys() if tasks.get(tid) != before[0].get(tid))
    listed = sorted(sid for sid in sprints.keys() & before[1].keys() if sprints[sid] != before[1][sid])
    if moved or listed:
        what = (f"the sprint of task {', '.join(moved)}" if moved else f"the task list of sprint {', '.join(listed)}")
        raise ValueError(f"{path}: {what} is not written directly (the sprint's task list, its plan and the task "
                         f"would disagree); move work between sprints with {HOW}")
