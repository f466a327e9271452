"""Sprint reports: `write_report` writes Markdown, a self-contained HTML page and the burndown SVG.

Sprint close (`workflow.retrospective.close`), `orchestra report --sprint ID` and the demo call it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import atomic
from . import html, markdown, model
from .svg import burndown_svg

__all__ = ["default_dir", "write_report"]


def default_dir(root: Path | None = None) -> Path:
    """`.claude/sprints/reports` of the project (next to `retrospectives/`)."""
    from ..workflow.definitions import definitions_dir

    return definitions_dir("sprint", root) / "reports"


def write_report(store, sprint_id: str, out_dir: Path, root: Path | None = None, *,
                 now: dt.datetime | None = None) -> list[Path]:
    """Write `<sprint>.md`, `<sprint>.html` and `<sprint>-burndown.svg` into `out_dir`; return their paths."""
    report = model.build(store, sprint_id, root, now=now)
    out_dir = Path(out_dir)
    sid = report["sprint"]
    chart = out_dir / f"{sid}-burndown.svg"
    md = out_dir / f"{sid}.md"
    page = out_dir / f"{sid}.html"
    atomic.write_text(chart, burndown_svg(report["burndown"], f"Burndown of {sid}") + "\n")
    atomic.write_text(md, markdown.render(report, chart.name))
    atomic.write_text(page, html.render(report))
    return [md, page, chart]
