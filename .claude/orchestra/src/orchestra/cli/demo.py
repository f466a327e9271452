"""`orchestra demo [DIR]`: the pack at work on a sample sprint, offline, through the real hooks."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    demo = sub.add_parser("demo", help="install the pack into a throwaway repo and replay a sprint through the hooks")
    demo.add_argument("dir", nargs="?", type=Path, help="use this directory instead of a new temp repo")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    from ..demo import run_demo

    try:
        run_demo(args.dir)
    except RuntimeError as exc:  # a step of the story failed: its command and stderr, one line
        raise ValueError(str(exc).replace("\n", " ")) from None
    return 0
