"""`orchestra report [SPRINT] [--sprint ID] [--out DIR]`: write a sprint's report (Markdown, HTML, burndown
SVG); without an id, of the sprint in progress (`metrics.current_sprint`), as `/orchestra:report` runs it."""

from __future__ import annotations

from pathlib import Path

from ..store import open_store
from ._output import add_json_flag, emit


def register(sub) -> None:
    parser = sub.add_parser("report", help="write a sprint report: Markdown and HTML with a burndown chart")
    parser.add_argument("sprint_id", nargs="?", metavar="SPRINT",
                        help="the sprint to report on (default: the one in progress, as `orchestra metrics`)")
    parser.add_argument("--sprint", metavar="ID", help="the same as SPRINT")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write (default: .claude/sprints/reports)")
    add_json_flag(parser)
    parser.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from ..metrics import current_sprint
    from ..report import default_dir, write_report

    if args.sprint_id and args.sprint and args.sprint_id != args.sprint:
        raise ValueError(f"two sprints named: {args.sprint_id} and --sprint {args.sprint}; give one")
    out = args.out or default_dir()
    if out.exists() and not out.is_dir():
        raise ValueError(f"cannot write into {out}: a file, not a directory; give --out a directory you can write to")
    with open_store() as store:
        sprint_id = args.sprint_id or args.sprint
        if sprint_id is None:
            with store.snapshot() as tx:
                sprint_id = (current_sprint(tx.items("sprints")) or {}).get("id")
        if sprint_id is None:
            raise ValueError("no sprint in state; load one with `orchestra sprint load` or name it: "
                             "orchestra report SPRINT")
        try:
            written = write_report(store, sprint_id, out)
        except OSError as exc:
            if exc.filename2:  # the directory took the temporary file; putting it in place of this one failed
                raise ValueError(f"cannot write {exc.filename2} ({exc.strerror or exc}); move it aside or give "
                                 "--out another directory") from None
            raise ValueError(f"cannot write into {out} ({exc.strerror or exc}); give --out a directory you "
                             "can write to") from None
    emit({"sprint": sprint_id, "files": [str(p) for p in written]}, args.json,
         lambda data: "\n".join(f"wrote {p}" for p in data["files"]))
    return 0
