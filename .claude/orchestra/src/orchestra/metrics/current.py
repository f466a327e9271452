"""Which sprint is "the" sprint right now, for the status line, the dashboard and `orchestra metrics`
(stdlib only: the status line imports it)."""

from __future__ import annotations

# A sprint people are working in, before one merely loaded or planned, before one closed.
_RANK = {"active": 0, "blocked": 0, "review": 1, "ready": 2, "planning": 3, "complete": 4}


def _stamp(sprint: dict[str, object]) -> str:
    if sprint.get("status") == "complete" and sprint.get("closed_at"):
        return sprint["closed_at"]
    return sprint.get("started_at") or sprint.get("loaded_at") or ""


def current_sprint(sprints: dict[str, dict[str, object]]) -> dict[str, object] | None:
    """The sprint in progress (active, blocked or in review), else the next one loaded, else the
    last one closed; among equals the one started (or loaded, or closed) last."""
    newest_first = sorted(sprints.values(), key=lambda s: (_stamp(s), s.get("id", "")), reverse=True)
    return min(newest_first, key=lambda s: _RANK.get(s.get("status", "planning"), 5), default=None)
