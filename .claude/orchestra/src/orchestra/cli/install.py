"""`orchestra install|uninstall|doctor` and `orchestra plugin build`: the front of `orchestra.installer`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._output import add_json_flag, emit


def register(sub) -> None:
    install = sub.add_parser("install", help="install or upgrade the pack in a project (safe merge, manifest)")
    install.add_argument("target", type=Path, help="root of the project to install into")
    install.add_argument("--dry-run", action="store_true", help="print the plan as a unified diff; write nothing")
    install.add_argument("--force", action="store_true",
                         help="replace user files at pack paths (moved to the backup dir, restored by uninstall)")
    install.add_argument("--statusline", action="store_true",
                         help="replace an existing statusLine with the pack's (yours is kept for uninstall)")
    install.add_argument("--no-warm", action="store_true", help="skip building the scripts' uv environments")
    install.add_argument("--source", type=Path, help="pack checkout to install from (default: this one)")
    add_json_flag(install)
    install.set_defaults(func=cmd_install)

    uninstall = sub.add_parser("uninstall", help="remove exactly what install added; restore what it displaced")
    uninstall.add_argument("target", type=Path, help="root of the project to uninstall from")
    uninstall.add_argument("--purge", action="store_true", help="also delete the state dir (tasks, messages, audit)")
    uninstall.add_argument("--dry-run", action="store_true", help="print the plan as a unified diff; write nothing")
    add_json_flag(uninstall)
    uninstall.set_defaults(func=cmd_uninstall)

    doctor = sub.add_parser("doctor", help="check uv, hook wiring, teams.yaml, agent files, state, Claude Code")
    doctor.add_argument("target", type=Path, nargs="?",
                        help="project root (default: $CLAUDE_PROJECT_DIR, else the repo whose bin/orchestra runs, "
                             "else the project around the working directory)")
    add_json_flag(doctor)
    doctor.set_defaults(func=cmd_doctor)

    plugin = sub.add_parser("plugin", help="the pack as a Claude Code plugin")
    ops = plugin.add_subparsers(dest="op", metavar="OP", required=True)
    build = ops.add_parser("build", help="regenerate .claude-plugin/, hooks/hooks.json, plugin/agents/, "
                                         "plugin/commands/ and the icon from the pack")
    build.add_argument("--check", action="store_true", help="write nothing; exit 1 when a generated file is stale")
    build.set_defaults(func=cmd_plugin_build)


def cmd_install(args) -> int:
    from ..installer import plan_install
    from ..installer.source import SOURCE_ROOT

    with _refusal():
        plan = plan_install(args.target, args.source or SOURCE_ROOT, force=args.force, statusline=args.statusline)
    return _run(plan, args, warm=not args.no_warm)


def cmd_uninstall(args) -> int:
    from ..installer import plan_uninstall

    with _refusal():
        plan = plan_uninstall(args.target, purge=args.purge)
    return _run(plan, args, warm=False)


@contextmanager
def _refusal() -> Iterator[None]:
    """Planning reads and never writes: say so with every refusal it raises."""
    from ..installer import InstallError

    try:
        yield
    except InstallError as exc:
        raise InstallError(f"{exc}; nothing was written") from None


def _run(plan, args, warm: bool) -> int:
    from ..installer import apply
    from ..installer.errors import Interrupted

    if args.dry_run:
        if args.json:
            plan.next_steps = []  # nothing is installed yet
            emit({**plan.describe(), "dry_run": True}, True)
        else:
            sys.stdout.write(plan.diff())
        return 0
    try:
        left = apply(plan) if not plan.noop else []
    except Interrupted as exc:
        from ..termtext import printable

        print(f"orchestra {plan.command}: {printable(str(exc))}", file=sys.stderr)
        return 130
    interrupted = False
    if warm and plan.scripts:  # also on a no-op: it builds what an earlier install could not (offline)
        from ..installer.warm import INTERRUPTED
        from ..installer.warm import warm as warm_scripts

        built = warm_scripts(plan.target, plan.scripts, built_first=plan.noop)
        interrupted = any(n.message.startswith(INTERRUPTED) for n in built)
        left += built
    plan.notices += left
    emit(plan.describe(), args.json, _report)
    return 130 if interrupted else 0  # Ctrl-C while the environments were built: the report, then its exit code


def _report(data: dict) -> str:
    verb = {"install": "installed", "uninstall": "uninstalled"}[data["command"]]
    if data["noop"]:
        lines = [f"{data['target']}: already {verb} (Orchestra {data['version']}); nothing changed"]
    else:
        counts: dict[str, int] = {}
        for step in data["steps"]:
            counts[step["kind"]] = counts.get(step["kind"], 0) + 1
        done = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(counts.items()))
        lines = [f"{verb} Orchestra {data['version'] or '(entries only)'} {'into' if verb == 'installed' else 'from'} "
                 f"{data['target']}: {done}"]
    notices = data["notices"]
    for kind, marks, summary in _BULK:  # a copied pack or a killed install: one line, not hundreds hiding the rest
        bulk = [n for n in notices if n["kind"] == kind and marks in n["message"]]
        if len(bulk) > 3:
            notices = [n for n in notices if n not in bulk]
            lines.append(f"  {kind:<10} {len(bulk)} files {summary} (such as {bulk[0]['path']}; --json lists each)")
    unbuilt: dict[str, list[str]] = {}  # offline or a broken index: every script for the same reason
    for n in notices:
        if n["kind"] == "left" and n["message"].startswith(_UNBUILT):
            unbuilt.setdefault(n["message"], []).append(n["path"])
    for message, scripts in unbuilt.items():
        if len(scripts) > 3:
            notices = [n for n in notices if n["message"] != message]
            lines.append(f"  {'left':<10} {len(scripts)} scripts: {message} (such as {scripts[0]}; --json lists each)")
    lines += [f"  {n['kind']:<10} {n['path']}: {n['message']}" for n in notices]
    if data.get("next_steps"):
        lines += ["next:", *(f"  {step}" for step in data["next_steps"])]
    return "\n".join(lines)


_DISPLACED = ".claude/orchestra/backup/displaced/"
_UNBUILT = "environment not built"
_BULK = (("adopted", "already identical", "already identical to the pack's: now recorded as ours"),
         ("backed-up", f"moved to {_DISPLACED}",
          f"moved to {_DISPLACED}, at their own paths; uninstall puts them back"),
         ("restored", f"(from {_DISPLACED}", f"of yours back from {_DISPLACED}"))


def cmd_doctor(args) -> int:
    from ..installer import InstallError
    from ..installer.doctor import run_checks

    if args.target is not None and not args.target.is_dir():
        raise InstallError(f"{args.target}: not a directory; give the root of the project to check")
    checks = run_checks((args.target or _doctor_root()).resolve())
    failed = [c for c in checks if c.status == "fail"]
    emit({"ok": not failed, "checks": [c.describe() for c in checks]}, args.json,
         lambda data: "\n".join(f"{c['status']:<4}  {c['name']}: {c['detail']}" for c in data["checks"]))
    return 1 if failed else 0


def _doctor_root() -> Path:
    """The project `orchestra doctor` checks when given none: CLAUDE_PROJECT_DIR when set (as for every
    command), else the repo whose `.claude/orchestra/bin/orchestra` is running (`../shop/.claude/orchestra/
    bin/orchestra doctor` checks shop), else the project around the working directory."""
    from .. import paths

    started = Path(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else None
    if not os.environ.get(paths.PROJECT_ENV) and started and started.resolve() == paths.PACK_DIR / "bin" / "orchestra":
        # The repo as the path names it: a `.claude` that is a symlink (to `config/claude`, say) resolves
        # to a folder that is not the project.
        named = started.parts[-4:] == (".claude", "orchestra", "bin", "orchestra")
        return started.parents[3] if named else paths.PACK_DIR.parent.parent
    return paths.project_root()


def cmd_plugin_build(args) -> int:
    from ..installer import plugin

    root = _clone()
    stale = plugin.build(root, check=args.check)
    for why in plugin.left_out(root):
        print(f"not an agent of the plugin: {why}", file=sys.stderr)
    if args.check and stale:
        print("stale: " + ", ".join(stale) + "; run `uv run orchestra plugin build`", file=sys.stderr)
        return 1
    done = [f"{'stale' if args.check else 'wrote' if (root / rel).exists() else 'removed'} {rel}" for rel in stale]
    print("\n".join(done) or "plugin files are up to date")
    return 0


def _clone() -> Path:
    """The clone of Orchestra this CLI runs from: the plugin is its root. In a project the pack was installed or copied into, a
    build would write .claude-plugin/, hooks/ and plugin/ over the project's own files, and delete its
    `plugin/agents|commands/*.md`."""
    from ..installer.source import MANIFEST, SOURCE_ROOT
    from . import UsageError

    if (SOURCE_ROOT / MANIFEST).is_file():
        why = "the pack is installed here"
    elif not (SOURCE_ROOT / "templates" / "teams.yaml").is_file():
        why = "no templates/teams.yaml, so a copy of the pack"
    else:
        return SOURCE_ROOT
    raise UsageError(f"{SOURCE_ROOT}: not a clone of Orchestra ({why}); the plugin is the root of a clone: "
                     "run `uv run orchestra plugin build` in a clone; nothing was written")
