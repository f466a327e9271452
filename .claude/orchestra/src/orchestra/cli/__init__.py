"""`orchestra ...`: one argparse tree; each sibling module registers its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from ..store.errors import StateError


class UsageError(Exception):
    """Bad command-line input; the message says what and how to fix it."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole tree; or, when a sibling module named `command` registers that command, only its
    branch: one command then imports one module (`orchestra mcp` starts with every Claude Code session)."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    if command in names:
        parser, sub = _tree([command])
        if command in sub.choices:
            return parser
    return _tree(names)[0]


def _tree(modules: list[str]) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="orchestra", description="Multi-team orchestration for Claude Code.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in modules:
        register = getattr(importlib.import_module(f"{__name__}.{name}"), "register", None)
        if register is not None:
            register(sub)
    return parser, sub


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (StateError, UsageError, ValueError) as exc:
        print(f"orchestra {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run() -> None:
    raise SystemExit(main())
