"""`orchestra epic load|plan|status` (JSON shapes: README, "Sprints and epics")."""

from __future__ import annotations

from typing import Any

from ._output import add_json_flag, emit, table
from ._store import project_store


def register(sub) -> None:
    epic = sub.add_parser("epic", help="load epics (.claude/epics/*.yaml), split them into sprints, follow them")
    ops = epic.add_subparsers(dest="op", metavar="OP", required=True)

    load = ops.add_parser("load", help="validate epic files and record them in state")
    load.add_argument("refs", nargs="*", metavar="EPIC", help="ids or files (default: every file in .claude/epics)")
    load.add_argument("--check", action="store_true", help="only validate; write nothing")
    add_json_flag(load)
    load.set_defaults(func=cmd_load)

    plan = ops.add_parser("plan", help="split the epic's features into sprints by dependencies and capacity")
    plan.add_argument("epic", metavar="EPIC")
    plan.add_argument("--points", type=float, help="points per sprint (default: the epic's sprint_points, "
                                                   "else velocity history, else teams.yaml)")
    add_json_flag(plan)
    plan.set_defaults(func=cmd_plan)

    status = ops.add_parser("status", help="features, sprints and the plan of what is left")
    status.add_argument("epic", metavar="EPIC")
    status.add_argument("--points", type=float, help="points per sprint for the plan of what is left")
    add_json_flag(status)
    status.set_defaults(func=cmd_status)


def cmd_load(args) -> int:
    from ..workflow.definitions import check_unique_ids, definition_files
    from ..workflow.epics import load_definition
    from ..workflow.epics import register as record

    refs = args.refs or [str(p) for p in definition_files("epic")]
    if not refs:
        raise ValueError("no epic files in .claude/epics; write one (README, \"Sprints and epics\")")
    epics = [load_definition(ref) for ref in refs]  # all valid before anything is written
    check_unique_ids(epics, "epic")
    rows = [{"epic": e.id, "file": str(e.path), "features": len(e.features), "points": e.points,
             "critical_path": e.graph().critical_path(), "loaded": False} for e in epics]
    if not args.check:
        with project_store() as store:
            for row, epic in zip(rows, epics, strict=True):
                record(store, str(epic.path))
                row["loaded"] = True
    emit({"epics": rows, "checked_only": args.check}, args.json, _load_text)
    return 0


def _load_text(data: dict[str, Any]) -> str:
    verb = "valid" if data["checked_only"] else "loaded"
    return "\n".join(f"{r['epic']}: {verb}, {r['features']} features, {r['points']:g} points, "
                     f"critical path {' -> '.join(r['critical_path'])}" for r in data["epics"])


def cmd_plan(args) -> int:
    from ..workflow import plan_epic

    with project_store() as store:
        emit(plan_epic(store, args.epic, points=args.points), args.json, _plan_text)
    return 0


def _plan_text(plan: dict[str, Any]) -> str:
    cap = plan["capacity"]
    lines = [f"{plan['epic']} {plan['name']}: {plan['points']['total']:g} points; "
             f"{cap['points']:g} points per sprint (from {cap['source']})"]
    rows = [[s["sprint"], f"{s['points']:g}", ", ".join(f["id"] for f in s["features"])] for s in plan["existing"]]
    rows += [[s["id"] + (f" ({s['start']} .. {s['end']})" if s.get("start") else ""), f"{s['points']:g}",
              ", ".join(f["id"] for f in s["features"])] for s in plan["sprints"]]
    lines.append(table(rows, ["sprint", "points", "features"]) if rows else "nothing to plan")
    lines += [f"warning: {w}" for w in plan["warnings"]]
    return "\n".join(lines)


def cmd_status(args) -> int:
    from ..workflow import epic_status

    with project_store() as store:
        emit(epic_status(store, args.epic, points=args.points), args.json, _status_text)
    return 0


def _status_text(status: dict[str, Any]) -> str:
    points = status["points"]
    lines = [f"{status['epic']} {status['name']} ({status['status']}): {points['completed']:g} of "
             f"{points['total']:g} points complete"]
    rows = [[f["id"], f["status"], f"{f['estimate']:g}", ", ".join(f.get("sprints") or ()) or f.get("sprint") or "-"]
            for f in status["features"]]
    lines.append(table(rows, ["feature", "status", "points", "sprint"]))
    for sprint in status["sprints"]:
        lines.append(f"sprint {sprint['sprint']}: {sprint['status']}, {sprint['completed_points']:g} of "
                     f"{sprint['points'] or 0:g} points")
    plan = status["remaining_plan"]
    if "error" in plan:
        lines.append(f"plan of what is left: {plan['error']}")
    elif not plan["sprints"]:
        lines.append("nothing is left to plan")
    else:
        last = plan["sprints"][-1].get("end") if plan["sprints"] else None
        lines.append(f"what is left fits in {plan['sprint_count']} more sprint(s) of {plan['capacity']['points']:g} "
                     f"points" + (f", the last ending {last}" if last else ""))
        lines += [f"  {s['id']}" + (f" ({s['start']} .. {s['end']})" if s.get("start") else "")
                  + f": {', '.join(f['id'] for f in s['features'])}" for s in plan["sprints"]]
        lines += [f"warning: {w}" for w in plan["warnings"]]
    return "\n".join(lines)
