"""Printing for CLI commands: stable JSON with --json, readable text otherwise. The text is for a
terminal: the strings it is made from are printed on one line each, without escape sequences or
control characters (`termtext`), whoever wrote them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

# Imported here, not when printing: `orchestra uninstall` run from the repo it uninstalls has deleted
# the package's files by the time it prints its report.
from ..termtext import json_text, printable, scrubbed


def emit(data: Any, as_json: bool, text: Callable[[Any], str] | None = None, *, lines: bool = False) -> None:
    """`data` as JSON, or as `text` renders it; `lines`: its strings keep their line breaks (a prompt)."""
    if as_json or text is None:
        sys.stdout.write(json_text(data, indent=2, sort_keys=False) + "\n")
    else:
        out = printable(text(scrubbed(data, lines=lines)))
        if out:
            sys.stdout.write(out.rstrip("\n") + "\n")


def add_json_flag(parser, inherited: bool = False) -> None:
    """`--json` on `parser`. `inherited`: its parent command has `--json` as well; then the flag is set
    here only when given here, since a subcommand's defaults override whatever its parent parsed
    (`teams --json check` would otherwise print text)."""
    from argparse import SUPPRESS

    parser.add_argument("--json", action="store_true", default=SUPPRESS if inherited else False,
                        help="print stable machine-readable JSON")


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
