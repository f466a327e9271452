"""What agents report about their work: progress, test coverage and build results.

A report is an event `status_reported` (data: `progress`, `coverage`, `build`, `summary`, each
optional) tied to the reporting run and task; the latest coverage is also kept at
`observability.metrics.test_coverage` so the status line reads one value instead of the event log.
The MCP tool `report_status` and any other reporter call `record_status_report` inside their
transaction. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

STATUS_REPORTED = "status_reported"
COVERAGE_PATH = "observability.metrics.test_coverage"
BUILD_RESULTS = ("passed", "failed")
SUMMARY_LIMIT = 500


def _percent(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ValueError(f"{name} {value!r}: give a number of percent from 0 to 100")
    return round(float(value), 2)


def record_status_report(tx, *, task_id: str | None = None, agent_id: str | None = None,
                         session_id: str | None = None, progress: float | None = None,
                         coverage: float | None = None, build: str | None = None,
                         summary: str | None = None) -> dict[str, Any]:
    """Store one status report; return its data. Raises ValueError (nothing written) on a bad value."""
    data: dict[str, Any] = {"progress": _percent("progress", progress), "coverage": _percent("coverage", coverage)}
    if build is not None and build not in BUILD_RESULTS:
        raise ValueError(f"build {build!r}: give one of {', '.join(BUILD_RESULTS)}")
    if summary is not None and not isinstance(summary, str):
        raise ValueError(f"summary: expected text, got {type(summary).__name__}")
    data["build"] = build
    data["summary"] = summary[:SUMMARY_LIMIT] if summary else None
    data = {k: v for k, v in data.items() if v is not None}
    if not data:
        raise ValueError("a status report needs at least one of progress, coverage, build or summary")
    event_id = tx.append_event(STATUS_REPORTED, data, task_id=task_id, agent_id=agent_id, session_id=session_id)
    if "coverage" in data:
        tx.set(COVERAGE_PATH, {"percent": data["coverage"], "task": task_id, "agent_id": agent_id,
                               "event": event_id})
    return data


def quality(reports: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """test_coverage (the latest reported, with who and when) and build_success_rate (passed share of
    reported builds) from `status_reported` events, oldest first; None where nothing was reported."""
    coverage = None
    passed = failed = 0
    for event in reports:
        data = event.get("data") or {}
        if isinstance(data.get("coverage"), int | float):
            coverage = {"percent": data["coverage"], "task": event.get("task_id"), "agent_id": event.get("agent_id"),
                        "at": event.get("ts")}
        passed += data.get("build") == "passed"
        failed += data.get("build") == "failed"
    builds = passed + failed
    return {"test_coverage": coverage,
            "build_success_rate": {"passed": passed, "failed": failed, "rate": round(passed / builds, 4)}
            if builds else None}
