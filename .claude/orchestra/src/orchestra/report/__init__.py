"""Sprint reports: `write_report` writes Markdown, a self-contained HTML page and the burndown SVG.

Sprint close (`workflow.retrospective.close`), `orchestra report --sprint ID` and the demo call it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import atomic
from . import html, markdown, model
from .svg import burndown_svg

__all__ = ["default_dir", "report_files", "write_report"]


def default_dir(root: Path | None = None) -> Path:
    """`.claude/sprints/reports` of the project (next to `retrospectives/`)."""
    from ..workflow.definitions import definitions_dir

    return definitions_dir("sprint", root) / "reports"


def report_files(sprint_id: str, out_dir: Path) -> tuple[Path, Path, Path]:
    """Where a sprint's report goes in `out_dir`: its Markdown, its HTML page and its burndown chart."""
    return out_dir / f"{sprint_id}.md", out_dir / f"{sprint_id}.html", out_dir / f"{sprint_id}-burndown.svg"


def write_report(store, sprint_id: str, out_dir: Path, root: Path | None = None, *,
                 now: dt.datetime | None = None) -> list[Path]:
    """Write `<sprint>.md`, `<sprint>.html` and `<sprint>-burndown.svg` into `out_dir`; return their paths."""
    report = model.build(store, sprint_id, root, now=now)
    md, page, chart = report_files(report["sprint"], Path(out_dir))
    atomic.write_text(chart, burndown_svg(report["burndown"], f"Burndown of {report['sprint']}") + "\n")
    atomic.write_text(md, markdown.render(report, chart.name))
    atomic.write_text(page, html.render(report))
    return [md, page, chart]
