"""The sprint report's HTML page in a real browser: text agents wrote is shown, never run, and text
without spaces wraps inside the page's width."""

from __future__ import annotations

from pathlib import Path

from orchestra.report import write_report
from orchestra.store import open_store

from tests.observability.harness import NOW, sample_project, started_sprint

XSS = ('<img src=x onerror="window.__pwned=1;document.title=\'PWNED\'"></script><script>window.__pwned=2</script>'
       '" onmouseover="window.__pwned=3" x="<svg onload="window.__pwned=4"></svg>')


# The cycle-time table's id and status cells and its headers but Title: how many, and those whose text the
# browser broke over more than one line (distinct tops of its line boxes).
ONE_LINE_CELLS = """(() => {
  const table = [...document.querySelectorAll("table")].find(t => t.tHead.innerText.includes("Title"));
  const cells = [...table.tBodies[0].rows].flatMap(row => [row.cells[0], row.cells[2]]).concat(
    [...table.tHead.rows[0].cells].filter(cell => cell.innerText !== "Title"));
  const lines = cell => { const range = document.createRange(); range.selectNodeContents(cell);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; };
  return {cells: cells.length, split: cells.filter(c => lines(c) > 1).map(c => c.innerText)};
})()"""


def test_the_report_page_with_hostile_and_long_text(page, project: Path, tmp_path: Path) -> None:
    sample_project(project)
    with open_store(root=project) as store:
        started_sprint(store, project)
        with store.transaction() as tx:
            tx.update("sprints.sprint-3", {"name": XSS, "goal": "G" * 3000})
            tx.update("tasks.task-2fa", {"title": XSS})
            tx.update("tasks.task-checkout", {"title": "A" * 5000})
            tx.update("tasks.task-fraud-rules", {"blocker": "B" * 5000})
        _, html, _ = write_report(store, "sprint-3", tmp_path, project, now=NOW)
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(html.as_uri())
        for cell in page.locator("td").all()[:40]:
            cell.hover()
        assert page.evaluate("window.__pwned") is None and page.title() == "Sprint report sprint-3"
        assert page.evaluate("document.scripts.length + document.images.length") == 0
        assert XSS in page.locator("h1").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") == width
        # the 5000-letter title takes what is left: each task's id and status, and the headers, stay on one line
        assert page.evaluate(ONE_LINE_CELLS) == {"cells": 6 * 2 + 6, "split": []}
    assert page.problems == []
