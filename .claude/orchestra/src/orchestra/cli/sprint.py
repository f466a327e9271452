"""`orchestra sprint load|plan|start|status|close|block|unblock` (JSON shapes: README, "Sprints and epics")."""

from __future__ import annotations

import sys
from typing import Any

from . import UsageError
from ._output import add_json_flag, emit, table
from ._store import project_store


def register(sub) -> None:
    sprint = sub.add_parser("sprint", help="load, plan, start, follow and close sprints (.claude/sprints/*.yaml)")
    ops = sprint.add_subparsers(dest="op", metavar="OP", required=True)

    load = ops.add_parser("load", help="validate sprint files and record them in state (planning -> ready)")
    load.add_argument("refs", nargs="*", metavar="SPRINT", help="ids or files (default: every file in .claude/sprints)")
    load.add_argument("--check", action="store_true", help="only validate; write nothing")
    add_json_flag(load)
    load.set_defaults(func=cmd_load)

    plan = ops.add_parser("plan", help="delegation waves, critical path, slack and ready queue of the remaining work")
    plan.add_argument("sprint", metavar="SPRINT")
    add_json_flag(plan)
    plan.set_defaults(func=cmd_plan)

    start = ops.add_parser("start", help="ready -> active: put the tasks into state and print the first plan")
    start.add_argument("sprint", metavar="SPRINT")
    add_json_flag(start)
    start.set_defaults(func=cmd_start)

    status = ops.add_parser("status", help="progress, blockers, metrics and forecast (every sprint without an id)")
    status.add_argument("sprint", nargs="?", metavar="SPRINT")
    status.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo forecast (default 0)")
    status.add_argument("--trials", type=int, help="forecast trials, at least 1 (default 2000, fewer when more than "
                        "100 tasks are left: 200,000 / tasks left, at least 20)")
    add_json_flag(status)
    status.set_defaults(func=cmd_status)

    close = ops.add_parser("close", help="active -> review -> complete, carrying unfinished work over; "
                                         "writes the retrospective")
    close.add_argument("sprint", metavar="SPRINT")
    mode = close.add_mutually_exclusive_group()
    mode.add_argument("--review", action="store_true", help="stop at review")
    mode.add_argument("--reopen", metavar="REASON", help="back to planning (from review: the review found "
                                                         "issues; from ready: to edit before starting)")
    add_json_flag(close)
    close.set_defaults(func=cmd_close)

    block = ops.add_parser("block", help="active -> blocked by hand, with the reason (kept until unblock)")
    block.add_argument("sprint", metavar="SPRINT")
    block.add_argument("reason")
    add_json_flag(block)
    block.set_defaults(func=cmd_block)

    unblock = ops.add_parser("unblock", help="blocked -> active (only a blocked sprint)")
    unblock.add_argument("sprint", metavar="SPRINT")
    add_json_flag(unblock)
    unblock.set_defaults(func=cmd_unblock)


def cmd_load(args) -> int:
    from ..workflow.definitions import check_end, check_unique_ids, definition_files
    from ..workflow.metrics import round_points
    from ..workflow.sprints import (
        check_task_ids,
        closed_elsewhere,
        drop,
        first_day,
        load_definition,
        not_loadable,
        orphaned,
        register,
    )

    refs = args.refs or [str(p) for p in definition_files("sprint")]
    definitions = [load_definition(ref) for ref in refs]  # all valid before anything is written
    check_unique_ids(definitions, "sprint")
    recorded = _recorded_sprints(create=not args.check and bool(refs))
    # A sprint closed in another state (a fresh checkout, a teammate's machine) is known by its retrospective.
    closed = closed_elsewhere(definitions, recorded)
    for sprint in definitions:
        if args.refs and sprint.id in closed:
            raise ValueError(f"{sprint.path}: sprint {sprint.id} is closed (its retrospective "
                             f"{closed[sprint.id]['retrospective_file']} says so; it did not run in this state), so "
                             "it is not loaded again; its carried-over work can join a later sprint's file (to plan "
                             "it afresh, move the retrospective away)")
        if args.refs and (recorded.get(sprint.id) or {}).get("status") not in (None, "planning", "ready"):
            raise ValueError(f"{sprint.path}: {not_loadable(sprint.id, recorded[sprint.id]['status'])}")  # --check too
    # Without arguments, a sprint never started whose file is gone is dropped: until it starts, its file is the truth.
    dropped = {} if args.refs else {sid: (f, f"never started, and its file {f} is gone")
                                    for sid, f in orphaned(definitions, recorded).items()}
    if not refs and not dropped:  # with no file left, the sprints loaded from the last ones are still dropped
        raise ValueError("no sprint files in .claude/sprints; write one (README, \"Sprints and epics\")")
    dropped.update({sid: (r["definition"], f"never started here, and its retrospective {r['retrospective_file']} says "
                                           "it was closed where it ran") for sid, r in closed.items() if r["here"]})
    recorded = {sid: record for sid, record in {**recorded, **closed}.items() if sid not in dropped or sid in closed}
    # Without arguments, the files of sprints already started are checked but not loaded again: their
    # tasks in state are the truth, and their unfinished work may be listed again in a later file.
    started = {s.id: recorded[s.id]["status"] for s in definitions if not args.refs and s.id in recorded
               and recorded[s.id].get("status") not in ("planning", "ready")}
    check_task_ids([s for s in definitions if s.id not in started], recorded)
    for sprint in definitions:  # what `register` refuses, refused by --check too
        if sprint.id not in started:
            check_end(sprint, first_day(recorded.get(sprint.id)))
    rows = []
    for sprint in definitions:
        graph = sprint.graph()
        rows.append({"sprint": sprint.id, "file": str(sprint.path), "status": started.get(sprint.id),
                     "skipped": sprint.id in started, "tasks": len(sprint.tasks), "points": sprint.points,
                     "retrospective": (closed.get(sprint.id) or {}).get("retrospective_file"),
                     "critical_path": graph.critical_path(), "critical_length": round_points(graph.length)})
    if not args.check:
        with project_store() as store, store.transaction() as tx:  # all of them or none
            for sid, (definition, reason) in dropped.items():
                drop(tx, sid, definition, reason)
            batch = frozenset(r["sprint"] for r in rows if not r["skipped"])
            for row, sprint in zip(rows, definitions, strict=True):
                if not row["skipped"]:
                    row["status"] = register(tx, sprint, batch=batch)["status"]
    emit({"sprints": rows, "dropped": [{"sprint": sid, "file": f, "reason": why} for sid, (f, why) in dropped.items()],
          "checked_only": args.check}, args.json, _load_text)
    return 0


def _recorded_sprints(*, create: bool) -> dict[str, dict[str, Any]]:
    """The sprints in state; with `create` false (`--check`), none when there is no store yet."""
    from ..store import open_store
    from ..store.errors import StateError

    if create:
        with project_store() as store, store.snapshot() as tx:
            return tx.items("sprints")
    try:
        with open_store(create=False) as store, store.snapshot() as tx:
            return tx.items("sprints")
    except StateError:  # no store yet (PostgreSQL says so on first use): nothing recorded
        return {}


def _load_text(data: dict[str, Any]) -> str:
    def outcome(row: dict[str, Any]) -> str:
        if row.get("retrospective"):
            return (f"{'valid, ' if data['checked_only'] else ''}not loaded again (closed, as its retrospective "
                    f"{row['retrospective']} says; it did not run in this state)")
        if row.get("skipped"):
            return f"{'valid, ' if data['checked_only'] else ''}not loaded again ({row['status']}: its tasks in state are the truth)"
        return ("valid" if data["checked_only"] else "loaded") + (f" ({row['status']})" if row["status"] else "")

    dropped = [f"{d['sprint']}: {'would be ' if data['checked_only'] else ''}dropped ({d['reason']})"
               for d in data.get("dropped") or ()]
    def figures(row: dict[str, Any]) -> str:  # a sprint not loaded again keeps what state has: these are its file's
        return (f"{'; its file: ' if row.get('skipped') and not row.get('retrospective') else ', '}{row['tasks']} tasks, "
                f"{row['points']:g} points, critical path {row['critical_length']:g}: {' -> '.join(row['critical_path'])}")

    return "\n".join([*(f"{r['sprint']}: {outcome(r)}{figures(r)}" for r in data["sprints"]),
                      *dropped])


def cmd_plan(args) -> int:
    from ..workflow import plan_sprint

    with project_store() as store:
        emit(plan_sprint(store, args.sprint), args.json, _plan_text)
    return 0


def _plan_text(plan: dict[str, Any]) -> str:
    path = plan["critical_path"]
    points = plan["points"]
    left = "carried over" if points["carried_over"] else "left"
    cancelled = f" ({points['cancelled']:g} cancelled, out of scope)" if points["cancelled"] else ""
    head = (f"{plan['sprint']} ({plan['status']}): {points['remaining']:g} of {points['total']:g} points {left}"
            f"{cancelled}; critical path {path['length']:g}: {' -> '.join(path['tasks']) or '-'}")
    rows = [[str(b["wave"]), t["id"], t["status"], _who(t), f"{t['estimate']:g}",
             t["priority"], f"{t['slack']:g}", "*" if t["critical"] else ""]
            for b in plan["batches"] for t in b["tasks"]]
    body = table(rows, ["wave", "task", "status", "who", "pts", "priority", "slack", "crit"]) if rows else "nothing left"
    ready = f"ready {'once unblocked' if plan.get('hold') else 'now'}: {', '.join(plan['ready']) or 'nothing'}"
    unchecked = [t["id"] for b in plan["batches"] for t in b["tasks"] if not t.get("acceptance", True)]
    if unchecked:  # /sprint:plan names them as a risk
        body += f"\nno acceptance criteria: {', '.join(unchecked)}"
    if plan.get("idle"):  # capacity 0 (teams.yaml or the sprint file): in no wave until someone takes them
        body += ("\nin no wave (capacity 0): " + "; ".join(f"{t['id']}: {t['why']}" for t in plan["idle"])
                 + ". Assign them to a member who takes work, raise the capacity, or move them to a later sprint")
    for task in plan.get("warnings") or ():  # capacity 0, but the capacity gate is off: planned all the same
        body += f"\nwarning: {task['id']}: {task['why']}"
    if plan["source"] != "state" or plan["status"] not in ("active", "blocked"):
        return "\n".join([head, body, ready])
    # A started sprint (and one resumed by starting it again): what to delegate now, and why not the rest.
    items = [t for b in plan["batches"] for t in b["tasks"]]
    teams: dict[str, list[str]] = {}  # /sprint:start hands each team's share to that team's orchestrator
    for task in items:
        if task.get("agent"):
            teams.setdefault(task.get("team") or "no team", []).append(task["id"])
    now = "; ".join(f"{team}: {', '.join(ids)}" for team, ids in teams.items()) or "nothing"
    if plan.get("hold"):
        now += (f" (blocked by hand: {plan['hold']['reason']}; no new work starts until `orchestra sprint unblock "
                f"{plan['sprint']}`)")
    elif not items:
        now += f" (every task is finished: close the sprint with `orchestra sprint close {plan['sprint']}`)"
    waiting = [f"  {t['id']}: {t['not_now']}" for t in items if t.get("not_now")]
    return "\n".join([head, body, ready, f"delegate now: {now}", *(["not now:", *waiting] if waiting else [])])


def _who(task: dict[str, Any]) -> str:
    """Who does a planned task: its assignee, else the member its ready Agent call goes to, else its team."""
    return task.get("assignee") or (task.get("agent") or {}).get("subagent_type") or task.get("team") or "-"


def cmd_start(args) -> int:
    from ..workflow import start_sprint

    with project_store() as store:
        result = start_sprint(store, args.sprint)
    missing = _missing_agents(result)
    if missing:  # a warning, not a refusal: the files may be added before the work is delegated
        result["warnings"] = [missing]
    emit(result, args.json, _start_text)
    from .worktree import say_repaired

    for entry in {e["worktree"]: e for e in result["worktrees"].values() if e.get("repaired")}.values():
        say_repaired("sprint start", entry)  # a worktree cut short before, made afresh
    # On stderr: Claude Code aborts a slash command whose `!` line fails and shows the user only its stderr.
    problems = _worktree_problems(result["worktrees"])
    for line in problems:
        print(f"orchestra sprint start: {line}", file=sys.stderr)
    if problems:
        print(f"orchestra sprint start: {result['sprint']} is started all the same (starting it again "
              "changes nothing)", file=sys.stderr)
    return 1 if problems else 0  # as `worktree create` does: started all the same


def _missing_agents(result: dict[str, Any]) -> str | None:
    """The agent files the teams given work lack (e.g. a team pasted from templates/team.yaml without them)."""
    from .. import agentfiles, teams

    try:
        org = teams.load()
    except teams.TeamsError:
        return None
    names = [n for team in result["team_assignments"] if team in org.teams
             for n in (org.teams[team].orchestrator, *org.teams[team].members) if n]
    return agentfiles.missing_agent_files(org, names)


def _start_text(result: dict[str, Any]) -> str:
    verb = "started" if result["started"] else "already " + result["status"]
    teams = "; ".join(f"{team}: {', '.join(ids)}" for team, ids in result["team_assignments"].items())
    made = sorted({entry["worktree"] for entry in result["worktrees"].values() if "worktree" in entry})
    lines = [f"{result['sprint']} {verb}: {len(result['tasks'])} tasks ({teams})",
             *([f"worktrees: {', '.join(made)}"] if made else []), *_later_text(result), *_removed_text(result)]
    return "\n".join([*lines, _plan_text(result["plan"]), *(f"warning: {w}" for w in result.get("warnings") or ())])


def _later_text(result: dict[str, Any]) -> list[str]:
    """Team-less tasks get no worktree at start: which member's team they are is known only once delegated."""
    later = result.get("worktrees_at_delegation") or []
    if not later:
        return []
    return [f"no worktree yet for {', '.join(later)} (no team or assignee): delegating {'it' if len(later) == 1 else 'one'} "
            "gives it the worktree that the `worktree_strategy` of the team of the member it goes to names; "
            "give it a `team:`, an `assignee:` or its own `worktree_strategy:` to have it made at sprint start"]


def _removed_text(result: dict[str, Any]) -> list[str]:
    """The tasks a restart took out of the sprint because its file no longer lists them: they stay in state."""
    removed = result.get("removed") or []
    if not removed:
        return []
    ids = ", ".join(f"{t['id']} ({t['status']})" for t in removed)
    what, one, each = ("it", removed[0]["id"], "it") if len(removed) == 1 else ("them", "TASK", "each")
    return [f"removed from {result['sprint']} (no longer in its file): {ids}, now in no sprint: list {what} in a "
            f"sprint's file to plan {what} again, or cancel {each} with `orchestra task set-status {one} cancelled`"]


def _worktree_problems(worktrees: dict[str, dict[str, Any]]) -> list[str]:
    """One line per error the worktrees of tasks could not be made for (a config error is one, for every
    task) and per worktree whose setup failed."""
    errors: dict[str, list[str]] = {}
    for task_id, entry in worktrees.items():
        if "error" in entry:
            errors.setdefault(entry["error"], []).append(task_id)
    lines = [f"worktree of {', '.join(ids)} not made: {error}; once that is fixed, `orchestra worktree create "
             f"{ids[0]}` makes it (so does delegating the task)" if len(ids) == 1 else
             f"worktree of each of {', '.join(ids)} not made: {error}; once that is fixed, `orchestra worktree "
             "create TASK` makes a task's (so does delegating the task)" for error, ids in errors.items()]
    failed = {entry["worktree"]: entry["setup"] for entry in worktrees.values()
              if (entry.get("setup") or {}).get("status") == "failed"}
    lines += [f"worktree {name}: setup `{setup['command']}` failed (exit {setup.get('exit')}), log {setup['log']}"
              for name, setup in sorted(failed.items())]
    return lines


def cmd_status(args) -> int:
    from ..workflow import sprint_status

    if args.trials is not None and args.trials < 1:
        raise UsageError(f"--trials {args.trials}: the forecast needs at least 1 trial (default 2000)")
    with project_store() as store:
        if args.sprint is None:
            from ..workflow.view import recorded_points

            with store.snapshot() as tx:
                sprints = [{"sprint": s["id"], "name": s.get("name", ""), "status": s.get("status"),
                            "points": recorded_points(tx, s)["total"], "epic": s.get("epic")}
                           for s in tx.items("sprints").values()]
            emit({"sprints": sprints}, args.json, _list_text)
            return 0
        emit(sprint_status(store, args.sprint, seed=args.seed, trials=args.trials), args.json, _status_text)
    return 0


def _list_text(data: dict[str, Any]) -> str:
    rows = [[s["sprint"], s["status"] or "-", s["name"], f"{s['points'] or 0:g}", s["epic"] or "-"]
            for s in data["sprints"]]
    return table(rows, ["sprint", "status", "name", "points", "epic"]) if rows else (
        "no sprints in state: `orchestra sprint start SPRINT` starts the one in .claude/sprints/SPRINT.yaml "
        "(`orchestra sprint load` checks and records them all)")


def _status_text(status: dict[str, Any]) -> str:
    points, counts = status["points"], status["counts"]
    shown = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n)  # in_progress: in progress
    forecast = status["forecast"]
    if forecast.get("available"):
        eta = (f"forecast: p50 {_duration(forecast['p50_hours'])} ({forecast['p50_at']}), "
               f"p85 {_duration(forecast['p85_hours'])} ({forecast['p85_at']})")
    elif status["status"] == "complete":
        eta = "forecast: none, the sprint is closed"
    else:
        eta = f"forecast: not yet ({forecast.get('reason')})"
    lines = [f"{status['sprint']} {status['name']} ({status['status']}) {status['start']} .. {status['end']}",
             f"points: {_points_text(points)}; tasks: {shown}",
             _critical_text(status),
             f"ready{' once unblocked' if status.get('hold') else ''}: {', '.join(status['ready']) or 'nothing'}; "
             f"running: {_running_text(status) or 'nothing'}"]
    past = [d for d in status["metrics"]["burndown"]["days"] if d["remaining"] is not None]
    if past:
        lines.append(f"burndown {past[-1]['date']}: {past[-1]['remaining']:g} points left, ideal {past[-1]['ideal']:g}")
    if status.get("hold"):
        lines.append(f"blocked by hand: {status['hold']['reason']} (until `orchestra sprint unblock {status['sprint']}`)")
    if status.get("idle"):  # capacity 0: nobody takes them; the forecast leaves them out
        lines.append("taken by nobody (capacity 0), left out of the forecast: "
                     + "; ".join(f"{tid}: {why}" for tid, why in status["idle"].items()))
    # capacity 0, but the capacity gate is off: delegated all the same, and in the forecast
    lines += [f"warning: {tid}: {why}" for tid, why in (status.get("warnings") or {}).items()]
    stuck = [t["id"] for t in status["tasks"] if t["status"] == "blocked"]
    if stuck and not status["ready"] and not status["running"] and status["status"] in ("active", "blocked"):
        lines.append(f"every remaining task waits on a blocker (blocked: {', '.join(stuck)}): nothing starts until "
                     "one is resolved; then `orchestra task set-status ID queued` makes that task ready again")
    for blocked in status["metrics"]["blockers"]["tasks"]:
        task = next((t for t in status["tasks"] if t["id"] == blocked["task"]), {})
        owner = task.get("assignee") or (f"team {task['team']}" if task.get("team") else None)
        lines.append(f"blocked: {blocked['task']}: {blocked['blocker'] or 'no reason given'}"
                     + (f" (owner: {owner})" if owner else ""))
    lines.append(eta)
    return "\n".join(lines)


def _critical_text(status: dict[str, Any]) -> str:
    """The critical path of the work left (`done` once none is left on it)."""
    path = status["critical_path"]
    if not path["tasks"]:
        return "critical path: done"
    return f"critical path left {path['length']:g}: {' -> '.join(path['tasks'])}"


def _running_text(status: dict[str, Any]) -> str:
    """Each running task and who works on it (the agent run or delegation holding it), as /sprint:status reports."""
    from ..workflow.holders import OUTSIDE

    holders = status.get("holders") or {}
    return ", ".join(tid if tid not in holders else f"{tid} ({OUTSIDE})" if holders[tid] == OUTSIDE
                     else f"{tid} by {holders[tid]}" for tid in status["running"])


def _points_text(points: dict[str, Any]) -> str:
    """Done, then what is not: left, or carried over once the sprint is closed; cancelled work apart."""
    left = f"{points['carried_over']:g} carried over" if points["carried_over"] else f"{points['remaining']:g} left"
    cancelled = f" ({points['cancelled']:g} cancelled, out of scope)" if points["cancelled"] else ""
    return f"{points['completed']:g} done, {left} of {points['total']:g}{cancelled}"


def _duration(hours: float) -> str:
    from ..metrics.formatting import duration  # as `orchestra metrics` and the report give it: 4 s, not 0 min

    return duration(hours)


def cmd_close(args) -> int:
    from ..workflow import close_sprint, reopen_sprint

    with project_store() as store:
        if args.reopen is not None:
            record = reopen_sprint(store, args.sprint, args.reopen)
            result = {"sprint": record["id"], "status": record["status"], "closed": False, "retrospective": None,
                      "file": None}
        else:
            result = close_sprint(store, args.sprint, review_only=args.review)
    emit(result, args.json, _close_text)
    for problem in result.get("problems") or ():  # on stderr, as `sprint start` reports its worktrees
        print(f"orchestra sprint close: {problem}", file=sys.stderr)
    if result.get("problems"):
        print(f"orchestra sprint close: {result['sprint']} is {result['status']} all the same", file=sys.stderr)
    return 1 if result.get("problems") else 0


def _close_text(result: dict[str, Any]) -> str:
    """The outcome, the file, then the retrospective's sections: /sprint:close presents them from this output."""
    from ..workflow.retrospective import cancelled_note, markdown

    retro = result.get("retrospective")
    if not retro:
        return f"{result['sprint']}: {result['status']}"
    carried = ", ".join(r["id"] for r in retro["carried_over"])
    sections = markdown(retro).split("\n## ", 1)[1]
    figures = f"{retro['completed_points']:g} of {retro['planned_points']:g} points done, {retro['carried_over_points']:g} carried over"
    report = f"report: {', '.join(result['report'])}\n" if result.get("report") else ""
    if not result["closed"]:  # closed before: say so and when; its retrospective as it was written then
        again = f"`orchestra report {result['sprint']}` writes the report again"
        report = f"report: {', '.join(result['report'])} ({again})\n" if result.get("report") else f"report: {again}\n"
        return (f"{result['sprint']} was already closed at {result.get('closed_at') or retro['closed_at']}; nothing "
                f"changed (it is complete: {figures}{cancelled_note(retro)})\n"
                f"retrospective: {result['file']}\n{report}\n## {sections.rstrip()}")
    return (f"{result['sprint']}: complete; {figures}{f' ({carried})' if carried else ''}{cancelled_note(retro)}\n"
            f"retrospective: {result['file']}\n{report}\n## {sections.rstrip()}")


def cmd_block(args) -> int:
    from ..workflow import block_sprint

    with project_store() as store:
        record = block_sprint(store, args.sprint, args.reason)
    emit({"sprint": record["id"], "status": record["status"]}, args.json, lambda d: f"{d['sprint']}: {d['status']}")
    return 0


def cmd_unblock(args) -> int:
    from ..workflow import unblock_sprint

    with project_store() as store:
        record = unblock_sprint(store, args.sprint)
    emit({"sprint": record["id"], "status": record["status"]}, args.json, lambda d: f"{d['sprint']}: {d['status']}")
    return 0
