"""`orchestra report --sprint ID [--out DIR]`: write the sprint's report (Markdown, HTML, burndown SVG)."""

from __future__ import annotations

from pathlib import Path

from ..store import open_store
from ._output import add_json_flag, emit


def register(sub) -> None:
    parser = sub.add_parser("report", help="write a sprint report: Markdown and HTML with a burndown chart")
    parser.add_argument("--sprint", required=True, metavar="ID", help="the sprint to report on")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write (default: .claude/sprints/reports)")
    add_json_flag(parser)
    parser.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from ..report import default_dir, write_report

    out = args.out or default_dir()
    with open_store() as store:
        try:
            written = write_report(store, args.sprint, out)
        except OSError as exc:
            raise ValueError(f"cannot write into {out} ({exc.strerror or exc}); give --out a directory you "
                             "can write to") from None
    emit({"sprint": args.sprint, "files": [str(p) for p in written]}, args.json,
         lambda data: "\n".join(f"wrote {p}" for p in data["files"]))
    return 0
