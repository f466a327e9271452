"""`orchestra task list|show|delegate|set-status|set-team|move`: tasks and their delegations from a terminal."""

from __future__ import annotations

import sys
from typing import Any

from ..models import TASK_STATUSES
from ..store import open_store
from ._output import add_json_flag, emit, table

LIST_FIELDS = ("id", "status", "type", "title", "sprint", "team", "assignee", "agent_id", "priority", "artifacts",
               "dependencies", "blocker", "review_reason")


def register(sub) -> None:
    task = sub.add_parser("task", help="list, inspect, delegate and move tasks")
    ops = task.add_subparsers(dest="op", metavar="OP", required=True)

    listing = ops.add_parser("list", help="tasks, optionally filtered")
    listing.add_argument("--status", action="append", choices=TASK_STATUSES, help="only this status (repeatable)")
    listing.add_argument("--sprint", help="only tasks of this sprint")
    listing.add_argument("--team", help="only tasks of this team")
    add_json_flag(listing)
    listing.set_defaults(func=cmd_list)

    show = ops.add_parser("show", help="one task with its delegations, agent runs and history")
    show.add_argument("id")
    add_json_flag(show)
    show.set_defaults(func=cmd_show)

    delegate = ops.add_parser("delegate", help="print ready Agent tool arguments for a task (tag and brief included)",
                              description="Print ready Agent tool arguments for a task (tag and brief included). "
                              "Refused for a completed or cancelled task (a completed task of one of "
                              "`lifecycle: repeatable_types` excepted) and for what the delegation gate refuses.")
    delegate.add_argument("id")
    add_json_flag(delegate)
    delegate.set_defaults(func=cmd_delegate)

    status = ops.add_parser("set-status", help="move a task to a status (the transition table decides)", description=(
        "Move a task to a status; the transition table and the task's sprint decide. A status the task has already "
        "is refused, changing nothing; the same blocked or needs_review with a new --reason updates that reason."))
    status.add_argument("id")
    status.add_argument("status", choices=TASK_STATUSES)
    status.add_argument("--reason", help="why (kept as the blocker or review reason)")
    add_json_flag(status)
    status.set_defaults(func=cmd_set_status)

    team = ops.add_parser("set-team", help="move a task to another team of teams.yaml", description=(
        "Move a task to another team of .claude/teams.yaml: after a team is renamed there, or for a task filed "
        "under the wrong team. Refused while an agent of another team works on the task (wait for its report, or "
        "`task set-status ID queued` first); an agent of the new team (the team renamed) goes on working. An "
        "assignee who is a member of another team is let go, so the new team picks who does it. A started sprint "
        "lists the task under the new team; a task_team_set event records the move."))
    team.add_argument("id")
    team.add_argument("team", help="a team name under `teams:` in .claude/teams.yaml")
    add_json_flag(team)
    team.set_defaults(func=cmd_set_team)

    move = ops.add_parser("move", help="move queued or blocked tasks to another running sprint, or out of any",
                          usage="orchestra task move TASK [TASK ...] (SPRINT | --out) [--json]", description=(
        "Move queued or blocked tasks of a running sprint (or in no sprint) into another running sprint (active or "
        "blocked), or out of any sprint with --out. The task's sprint and both sprints' task lists and team "
        "assignments change together, and a task_moved event records each move. Refused, changing nothing, when "
        "a moved task depends on unfinished work left behind, or a task staying behind depends on a moved one "
        "(move them together), and for a sprint not started yet: its file says what it holds (move the task "
        "--out, then list it in that file)."))
    move.add_argument("ids", nargs="+", metavar="TASK", help="task ids, then the sprint (unless --out)")
    move.add_argument("--out", action="store_true", help="take the tasks out of any sprint")
    add_json_flag(move)
    move.set_defaults(func=cmd_move)


def cmd_list(args) -> int:
    for flag, value in (("--sprint", args.sprint), ("--team", args.team)):
        if value is not None and not value.strip():  # "" would filter nothing out
            raise ValueError(f"{flag} is empty: name one, or leave {flag} out to list every task")
    with open_store() as store, store.snapshot() as tx:
        tasks = list(tx.items("tasks").values())
    tasks = [t for t in tasks if (not args.status or t.get("status", "queued") in args.status)
             and (not args.sprint or t.get("sprint") == args.sprint) and (not args.team or t.get("team") == args.team)]
    rows = [{k: t.get(k) for k in LIST_FIELDS} for t in sorted(tasks, key=lambda t: t["id"])]
    emit(rows, args.json, _list_text)
    return 0


def _list_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no tasks (load a sprint with `orchestra sprint start`, or delegate work to create ad-hoc tasks)"
    return table([[r["id"], r.get("status") or "queued", r.get("type") or "", r.get("agent_id") or r.get("assignee") or "",
                   (r.get("title") or "")[:60]] for r in rows], ["ID", "STATUS", "TYPE", "AGENT", "TITLE"])


def cmd_show(args) -> int:
    from ..lifecycle import task_view

    with open_store() as store, store.snapshot() as tx:
        view = task_view(tx, args.id)
        review = _review_text(tx, view["task"].get("review"))
    emit(view, args.json, lambda v: _show_text(v, review))
    return 0


def _review_text(tx, review: dict[str, Any] | None) -> str | None:
    """The task's latest verdict: who gave it (agent type and run) and its findings."""
    from ..briefing import reviewer

    if not (review or {}).get("verdict"):
        return None
    findings = "".join(f"\n    - {f}" for f in review.get("findings") or ())
    return f"{review['verdict']} by {reviewer(tx, review.get('by'), run_id=True)}{findings}"


def _show_text(view: dict[str, Any], review: str | None = None) -> str:
    task = view["task"]
    lines = [f"{task['id']}  {task.get('status') or 'queued'}  {task.get('title') or ''}".rstrip()]
    for key in ("type", "sprint", "team", "assignee", "agent_id", "priority", "spec", "blocker", "review_reason"):
        if task.get(key):
            lines.append(f"  {key}: {task[key]}")
    for key in ("dependencies", "artifacts"):
        if task.get(key):
            lines.append(f"  {key}: {', '.join(task[key])}")
    if review:
        lines.append(f"  review: {review}")
    for run in view["runs"]:
        lines.append(f"  run {run['id']} {run.get('agent_type')} [{run.get('status')}] parent {run.get('parent')}")
    for event in view["events"]:
        lines.append(f"  {event['ts']} {event['type']}" + (f" ({event['agent_id']})" if event.get("agent_id") else ""))
    return "\n".join(lines)


def cmd_delegate(args) -> int:
    from .. import agentfiles, paths, teams
    from ..lifecycle import delegation_arguments
    from ..lifecycle.views import idle_despite_gate_off

    org = teams.load(paths.project_root())
    with open_store() as store, store.snapshot() as tx:
        arguments = delegation_arguments(tx, org, args.id)
        idle = idle_despite_gate_off(tx, org, args.id)
    if idle:  # the hook lets it through too: the gate is off everywhere
        print(f"orchestra task delegate: warning: {idle}; the capacity gate is off (`gates: {{capacity: false}}` in "
              "teams.yaml), so it is handed out all the same", file=sys.stderr)
    missing = agentfiles.missing_agent_files(org, [arguments["subagent_type"]])
    if missing:  # a warning, not a refusal: the file may be added before the Agent call
        print(f"orchestra task delegate: warning: {missing}", file=sys.stderr)
    emit(arguments, args.json, lambda a: f"subagent_type: {a['subagent_type']}\ndescription: {a['description']}\n"
                                         f"prompt:\n{a['prompt']}", lines=True)
    return 0


def cmd_set_status(args) -> int:
    """The transition table and the task's sprint both decide; a sprint stuck on blockers blocks itself."""
    from .. import workflow
    from ..lifecycle import set_status
    from ..lifecycle.views import task_record

    with open_store() as store, store.transaction() as tx:
        workflow.check_task_status(tx, task_record(tx, args.id), args.status)
        task = set_status(tx, args.id, args.status, reason=args.reason)
        if task.get("sprint"):
            workflow.sync_blocked(tx, task["sprint"])
    emit(task, args.json, lambda t: f"{t['id']}: {t['status']}")
    return 0


def cmd_set_team(args) -> int:
    from .. import paths, teams
    from ..lifecycle.team_change import set_team

    root = paths.project_root()
    where = teams.teams_file(root)
    if not where.exists():
        raise teams.TeamsError(f"{where}: not found, so there is no team to move task {args.id} to (copy "
                               "templates/teams.yaml or run `orchestra install`)")
    org = teams.load(root)
    with open_store() as store, store.transaction() as tx:
        task = set_team(tx, org, args.id, args.team, where=str(where))
    emit(task, args.json, _set_team_text)
    return 0


def _set_team_text(task: dict[str, Any]) -> str:
    moved = task["moved"]
    if moved is None:
        return f"{task['id']}: already in team {task['team']}"
    line = f"{task['id']}: team {moved['from'] or '(none)'} -> {moved['to']}"
    if moved["assignee_cleared"]:
        line += f" (assignee {moved['assignee_cleared']} let go: not a member of {moved['to']})"
    return line


def cmd_move(args) -> int:
    from ..workflow.moves import move_tasks
    from . import UsageError

    ids, to = (args.ids, None) if args.out else (args.ids[:-1], args.ids[-1])
    if not ids:
        raise UsageError("task move: name the tasks, then the SPRINT or --out")
    with open_store() as store, store.transaction() as tx:
        moved = move_tasks(tx, ids, to)
    emit(moved, args.json, lambda rows: "\n".join(
        f"{t['id']}: sprint {t['moved']['from'] or '(none)'} -> {t['moved']['to'] or '(none)'}" if t["moved"]
        else f"{t['id']}: already in {t.get('sprint') or 'no sprint'}" for t in rows))
    return 0
