"""`orchestra audit verify|tail`: check the hash chain of the audit log, and read its last lines.

With the state in PostgreSQL the chain is the database's `audit_log` table, shared by every machine;
otherwise it is the project's `.claude/state/audit.jsonl`."""

from __future__ import annotations

import sys

from .. import audit, paths
from ._output import add_json_flag, emit, table


def register(sub) -> None:
    parser = sub.add_parser("audit", help="verify and read the tamper-evident audit log")
    ops = parser.add_subparsers(dest="op", metavar="OP", required=True)
    verify = ops.add_parser("verify", help="check every line's hash and the chain; exit 1 naming the first bad line")
    add_json_flag(verify)
    verify.set_defaults(func=cmd_verify)
    tail = ops.add_parser("tail", help="print the last lines (who, role, action, resource, result)")
    tail.add_argument("-n", "--lines", type=int, default=20, help="how many lines (default 20)")
    tail.add_argument("--agent", help="only lines of this agent_id or agent type (main: the main thread)")
    tail.add_argument("--result", choices=audit.RESULTS, help="only lines with this result")
    add_json_flag(tail)
    tail.set_defaults(func=cmd_tail)


def _database_url() -> str | None:
    url = paths.state_url()
    return url if url.startswith(("postgresql://", "postgres://")) else None


def _in_database(read):
    """Run `read(store)` on the PostgreSQL store named by the state URL."""
    from ..store import open_store

    with open_store(_database_url()) as store:
        return read(store), store.where


def cmd_verify(args) -> int:
    if _database_url():
        from ..store import postgres_audit

        report, where = _in_database(postgres_audit.check)
        log = paths.audit_log()  # lines from before the move to PostgreSQL, or kept while the server could not take them
        local = audit.check(log) if log.exists() else None
        if args.json:
            emit({"log": f"{where} {postgres_audit.TABLE}", **report.to_dict(),
                  **({"local": {"log": str(log), **local.to_dict()}} if local else {})}, True)
        elif report.ok:
            print(f"audit chain intact: {report.lines} rows, last hash {report.last_hash[:16]} "
                  f"(table {postgres_audit.TABLE} in {where})")
        else:
            print(f"orchestra audit verify: {where} {report.where}: {report.problem}", file=sys.stderr)
        if local and not args.json:
            print(f"local chain {log} (lines from before the move to PostgreSQL or kept while the server could not "
                  f"take them): {local.lines} lines, " + ("intact" if local.ok else f"{local.where}: {local.problem}"),
                  file=sys.stdout if local.ok else sys.stderr)
        return 0 if report.ok and (not local or local.ok) else 1
    log = paths.audit_log()
    report = audit.check(log)
    if args.json:
        emit({"log": str(log), **report.to_dict()}, True)
        return 0 if report.ok else 1
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not report.ok:
        print(f"orchestra audit verify: {log.parent / report.where}: {report.problem}", file=sys.stderr)
        return 1
    print(f"audit log intact: {report.lines} lines, last hash {report.last_hash[:16]} ({log})")
    return 0


def cmd_tail(args) -> int:
    if args.lines < 1:
        raise ValueError(f"--lines {args.lines}: give a positive number of lines")
    wanted = []
    # Read more than asked when filtering, so filters still return up to --lines matches.
    scan = args.lines if not (args.agent or args.result) else max(args.lines * 50, 1000)
    if _database_url():
        from ..store import postgres_audit

        lines, _ = _in_database(lambda store: postgres_audit.tail(store, scan))
        # Lines the hooks kept in the local file while the server could not take them, in time order.
        lines = sorted(lines + audit.tail(paths.audit_log(), scan), key=lambda line: str(line.get("ts", "")))[-scan:]
    else:
        lines = audit.tail(paths.audit_log(), scan)
    for line in lines:
        if args.agent and args.agent not in (line.get("agent"), line.get("agent_type")):
            continue
        if args.result and line.get("result") != args.result:
            continue
        wanted.append(line)
    wanted = wanted[-args.lines:]
    filters = " ".join(f"--{flag} {value}" for flag, value in (("agent", args.agent), ("result", args.result)) if value)
    nothing = (f"none of the last {len(lines)} audit lines matches {filters}" if filters and lines else
               "the audit log has no lines yet (each hook run writes one)")
    emit(wanted, args.json, lambda rows: _text(rows) or nothing)
    return 0


def _text(lines: list[dict]) -> str:
    rows = [[str(line.get("ts", "")), str(line.get("agent_type") or line.get("agent") or "-"),
             str(line.get("role") or "-"), str(line.get("action") or "-"), _short(line.get("resource")),
             str(line.get("result") or "-"), _short(line.get("reason"), 80)] for line in lines]
    return table(rows, ["time", "agent", "role", "action", "resource", "result", "reason"]) if rows else ""


def _short(value, limit: int = 48) -> str:
    text = "-" if value in (None, "") else " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
