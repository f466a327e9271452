"""`orchestra ...`: one argparse tree; each sibling module registers its own subcommands."""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


class UsageError(Exception):
    """Bad command-line input; the message says what and how to fix it."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole tree; or, when a sibling module named `command` registers that command, only its
    branch: one command then imports one module (`orchestra mcp` starts with every Claude Code session)."""
    names = sorted(name[:-3] for name in os.listdir(__path__[0]) if name.endswith(".py") and name[0] != "_")
    if command in names:
        parser, sub = _tree([command])
        if command in sub.choices:
            return parser
    return _tree(names)[0]


def _tree(modules: list[str]) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    import argparse

    from .. import __version__

    parser = argparse.ArgumentParser(prog="orchestra", description="Multi-team orchestration for Claude Code.")
    parser.add_argument("--version", action="version", version=f"orchestra {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in modules:
        register = getattr(importlib.import_module(f"{__name__}.{name}"), "register", None)
        if register is not None:
            register(sub)
    return parser, sub


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["mcp"]:  # Claude Code starts it with every session: no argument parsing on that path
        from .mcp import cmd_mcp

        return cmd_mcp(None)
    from ..store.errors import StateError

    try:  # Ctrl-C while the commands' modules load
        parser = build_parser(argv[0] if argv else None)
        args, unknown = parser.parse_known_args(argv)
    except KeyboardInterrupt:
        return 130
    if unknown:  # said by the command they were given to, with its usage, not by `orchestra` with its own
        _given_to(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        if args.command not in _OWN_TARGET:
            _refuse_outside_a_project()
        return int(args.func(args) or 0)
    except (StateError, UsageError, ValueError) as exc:
        from ..termtext import printable

        print(f"orchestra {args.command}: {printable(str(exc))}", file=sys.stderr)  # it may quote text from state
        return 1
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say, and no one to say it to
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # a state directory that is a file, a project the user may not write...
        from .. import paths
        from ..termtext import printable

        print(f"orchestra {args.command}: {printable(paths.file_trouble(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _given_to(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command `args` were parsed for: `task list`'s parser, not `orchestra`'s."""
    import argparse

    while True:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        chosen = getattr(args, sub.dest, None) if sub is not None else None
        if chosen not in (sub.choices if sub is not None else {}):
            return parser
        parser = sub.choices[chosen]


# Commands that take their project as an argument, make one, or are started by Claude Code in it.
_OWN_TARGET = frozenset({"install", "uninstall", "doctor", "demo", "plugin", "init", "mcp"})


def _refuse_outside_a_project() -> None:
    """A command run where no project is found would make a store there (`.claude/state/`) for nothing.
    Named by CLAUDE_PROJECT_DIR, ORCHESTRA_STATE_URL or ORCHESTRA_STATE_DIR, any directory is one."""
    from .. import paths

    if any(os.environ.get(name) for name in (paths.PROJECT_ENV, paths.STATE_URL_ENV, paths.STATE_DIR_ENV)):
        return
    root = paths.project_root()
    if not (root / ".claude").is_dir():
        raise UsageError(f"{root}: not an Orchestra project (no .claude/ there); run it in the project, set "
                         f"CLAUDE_PROJECT_DIR to it, or {_first_step(root)}")


def _first_step(root) -> str:
    """What makes `root` a project: in plugin form its teams.yaml (an install would put a second pack beside
    the plugin), else an install of the pack."""
    import shlex

    from .. import paths

    if os.environ.get(paths.PLUGIN_ENV):
        from ..teams import missing_advice

        return f"give it its organisation: {missing_advice(root / '.claude' / 'teams.yaml')}"
    return f"install the pack first (`orchestra install {shlex.quote(str(root))}`)"


def run() -> None:
    raise SystemExit(main())
