"""Quality as agents report it: test coverage and build results.

Agents report through the MCP tool `report_status`, which stores each report with
`lifecycle.record_report`: on the task (`reports`, the latest few) and as a `task_reported` event
whose data holds `coverage` (percent), `build` ("passed" | "failed"), `progress`, `summary`,
`tests_passed`, `tests_failed`, `by` and `at`. These functions only read that. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable

TASK_REPORTED = "task_reported"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def quality(reports: Iterable[dict[str, object]]) -> dict[str, object]:
    """test_coverage (the latest reported, with task, run and time) and build_success_rate (passed
    share of reported builds) from `task_reported` events, oldest first; None where nothing was reported."""
    coverage = None
    passed = failed = 0
    for event in reports:
        data = event.get("data") or {}
        if _number(data.get("coverage")):
            coverage = {"percent": data["coverage"], "task": event.get("task_id"), "agent_id": event.get("agent_id"),
                        "at": data.get("at") or event.get("ts")}
        passed += data.get("build") == "passed"
        failed += data.get("build") == "failed"
    builds = passed + failed
    return {"test_coverage": coverage,
            "build_success_rate": {"passed": passed, "failed": failed, "rate": round(passed / builds, 4)}
            if builds else None}


def latest_coverage(tasks: Iterable[dict[str, object]]) -> float | None:
    """The most recent coverage among the reports kept on `tasks` (what the status line shows)."""
    found = [(r.get("at") or "", r["coverage"]) for t in tasks for r in (t.get("reports") or [])
             if isinstance(r, dict) and _number(r.get("coverage"))]
    return max(found)[1] if found else None
