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

    parser = argparse.ArgumentParser(prog="orchestra", description="Multi-team orchestration for Claude Code.")
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
