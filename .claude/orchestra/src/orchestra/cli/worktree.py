"""`orchestra worktree create|list|assign|release|remove|prune|conflicts`: git worktrees from a terminal."""

from __future__ import annotations

import os
import sys
from typing import Any

from ._output import add_json_flag, emit, table


def register(sub) -> None:
    wt = sub.add_parser("worktree", help="git worktrees per epic, sprint, task or team: make, lock, clean up")
    ops = wt.add_subparsers(dest="op", metavar="OP", required=True)

    create = ops.add_parser("create", help="make the worktree of a task (by its strategy), sprint, epic or team")
    create.add_argument("id", help="a task, sprint or epic id, or a team name")
    create.add_argument("--strategy", choices=("epic", "sprint", "task", "team"),
                        help="the kind of scope: ID is one of that kind, or a task whose sprint, epic or team "
                             "(by its fallbacks) is meant")
    add_json_flag(create)
    create.set_defaults(func=cmd_create)

    listing = ops.add_parser("list", help="worktrees with branch, scope, holder and lock state")
    listing.add_argument("--all", action="store_true", help="also removed ones")
    add_json_flag(listing)
    listing.set_defaults(func=cmd_list)

    assign = ops.add_parser("assign", help="lock a task's worktree (made if needed) for an agent run or session")
    assign.add_argument("task", help="task id; its strategy picks the worktree")
    assign.add_argument("--agent", help="the agent run that will work there (agent_id)")
    assign.add_argument("--session", default=os.environ.get("CLAUDE_CODE_SESSION_ID"),
                        help="the session holding the lock (default: $CLAUDE_CODE_SESSION_ID)")
    add_json_flag(assign)
    assign.set_defaults(func=cmd_assign)

    release = ops.add_parser("release", help="take the lock off a worktree, or off all of a session's")
    release.add_argument("name", nargs="?", help="worktree id, branch or path")
    release.add_argument("--session", help="release every lock taken in this session instead")
    add_json_flag(release)
    release.set_defaults(func=cmd_release)

    remove = ops.add_parser("remove", help="remove a worktree (refused if held, dirty or unmerged)")
    remove.add_argument("name", help="worktree id, branch or path")
    remove.add_argument("--force", action="store_true",
                        help="discard uncommitted and ignored files too (a branch with unmerged commits is still "
                             "kept; commits only a detached HEAD holds, and a git lock, still refuse)")
    add_json_flag(remove)
    remove.set_defaults(func=cmd_remove)

    prune = ops.add_parser("prune", help="remove orphaned and finished worktrees, recover stale locks")
    prune.add_argument("--dry-run", action="store_true", help="report what would happen; change nothing")
    add_json_flag(prune)
    prune.set_defaults(func=cmd_prune)

    conflicts = ops.add_parser("conflicts", help="files changed in more than one worktree of a sprint")
    conflicts.add_argument("sprint")
    add_json_flag(conflicts)
    conflicts.set_defaults(func=cmd_conflicts)


def _context():
    from .. import paths
    from ..store import open_store

    root = paths.project_root()
    return root, open_store(root=root)


def cmd_create(args) -> int:
    from .. import teams
    from ..worktrees import create, scope_named

    root, store = _context()
    with store:
        scope, task = scope_named(store, teams.load(root), args.id, args.strategy)
        record = create(store, root, scope, task=task)
    say_repaired("worktree create", record)
    emit(record, args.json, _record_text)
    setup = record.get("setup") or {}
    if setup.get("status") != "failed":
        return 0
    # On stderr too: Claude Code aborts a slash command whose `!` line fails and shows the user only its stderr.
    print(f"orchestra worktree create: {record['id']}: setup `{setup['command']}` failed (exit {setup.get('exit')}), "
          f"log {setup['log']}; the worktree is made all the same", file=sys.stderr)
    return 1


def say_repaired(command: str, record: dict[str, Any]) -> None:
    """On stderr: the worktree was cut short before and has been made afresh (`repaired` on the record)."""
    if repair := record.get("repaired"):
        branch = f" and its branch {repair['branch']}" if repair.get("branch_deleted") else ""
        print(f"orchestra {command}: {repair['worktree']} had been cut short ({repair['why']}); nothing of anyone's "
              f"work could be in it, so it{branch} {'were' if branch else 'was'} removed and made afresh",
              file=sys.stderr)


def _record_text(record: dict[str, Any]) -> str:
    lines = [f"{record['id']}: {record['path']} (branch {record['branch']}, from {record.get('base')})"]
    if record.get("copied"):
        lines.append(f"  copied: {', '.join(record['copied'])}")
    if record.get("skipped_secrets"):
        lines.append(f"  not copied (secrets; copy_secrets: true to allow): {', '.join(record['skipped_secrets'])}")
    if record.get("skipped_special"):
        lines.append(f"  not copied (FIFOs, sockets or devices: only files, directories and symlinks are): "
                     f"{', '.join(record['skipped_special'])}")
    setup = record.get("setup") or {}
    if setup:
        lines.append(f"  setup `{setup['command']}`: {setup['status']}" + (f" (exit {setup['exit']})" if "exit" in setup
                                                                         else "") + f", log {setup['log']}")
    return "\n".join(lines)


def cmd_list(args) -> int:
    from ..worktrees import listing

    root, store = _context()
    with store:
        rows = listing(store, root, include_removed=args.all)
    emit(rows, args.json, _list_text)
    return 0


def _list_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no worktrees (`orchestra worktree create ID`, or delegate a task whose team has a worktree_strategy)"

    def held(row):
        lock = row.get("lock")
        if not lock:
            return "-"
        return lock["holder"] + ("" if lock["live"] else f" [stale: {lock['stale']}]")

    return table([[r["id"], r.get("status") or "", r.get("branch") or "", f"{r.get('scope')}:{r.get('scope_id')}",
                   held(r), r["path"] + _broken(r)] for r in rows],
                 ["ID", "STATUS", "BRANCH", "SCOPE", "HELD BY", "PATH"])


def _broken(row: dict[str, Any]) -> str:
    if row.get("moved_to"):
        return f" (moved by hand to {row['moved_to']})"
    if not row["exists"]:
        return " (missing)"
    return "" if row.get("in_git", True) or row.get("status") != "active" else " (not a git worktree any more)"


def cmd_assign(args) -> int:
    from .. import teams
    from ..store.document import is_entity_id
    from ..worktrees import Owner, assign

    if args.agent and not is_entity_id(args.agent):  # `a1.report` would lock for a part of run a1
        raise ValueError(f"--agent {args.agent!r} is no agent run id (`orchestra agents --all` lists the runs)")
    root, store = _context()
    owner = Owner(agent_id=args.agent, session_id=args.session, task=args.task, by="cli")
    with store:
        record = assign(store, root, teams.load(root), args.task, owner)
    say_repaired("worktree assign", record)
    emit(record, args.json, lambda r: f"{r['id']}: {r['path']} locked for {args.agent or 'you'} (task {args.task})")
    return 0


def cmd_release(args) -> int:
    from ..worktrees import release_named, release_session

    if bool(args.name) == bool(args.session):
        raise ValueError("name one worktree, or give --session SESSION_ID (not both)")
    root, store = _context()
    with store:
        if args.session:
            with store.transaction() as tx:
                released = release_session(tx, args.session)
            emit({"released": released}, args.json, lambda d: "released: " + (", ".join(d["released"]) or "nothing"))
            return 0
        record = release_named(store, args.name)
    emit(record, args.json, lambda r: f"{r['id']}: released")
    return 0


def cmd_remove(args) -> int:
    from ..worktrees import remove

    root, store = _context()
    with store:
        record = remove(store, root, args.name, force=args.force)
    emit(record, args.json, lambda r: f"{r['id']}: removed" + (f"; branch {r['branch']} kept ({r['branch_kept_why']})"
                                                               if r.get("branch_kept") else "")
         + (f"; {r['left']} is not a git worktree any more and is left as it is" if r.get("left") else ""))
    return 0


def cmd_prune(args) -> int:
    from ..worktrees import prune

    root, store = _context()
    with store:
        report = prune(store, root, dry_run=args.dry_run)
    emit(report, args.json, lambda r: _prune_text(r, args.dry_run))
    return 0


def _prune_text(report: dict[str, list], dry_run: bool) -> str:
    verbs = {"removed": "would remove" if dry_run else "removed", "closed": "would close" if dry_run else "closed",
             "locks_released": "would release" if dry_run else "released", "kept": "kept", "foreign": "left alone",
             "moved": "would follow" if dry_run else "followed"}
    lines = [f"{verbs[key]}: {entry.get('worktree') or entry.get('path')} ({entry['why']})"
             for key in verbs for entry in report[key]]
    return "\n".join(lines) or "nothing to prune"


def cmd_conflicts(args) -> int:
    from ..worktrees import sprint_conflicts

    root, store = _context()
    with store:
        found = sprint_conflicts(store, root, args.sprint)
    emit(found, args.json, _conflicts_text)
    return 0


def _conflicts_text(found: dict[str, Any]) -> str:
    if not found["conflicts"]:
        return f"no file is changed in more than one of sprint {found['sprint']}'s {len(found['worktrees'])} worktree(s)"
    return table([[c["file"], ", ".join(c["worktrees"])] for c in found["conflicts"]], ["FILE", "CHANGED IN"])
