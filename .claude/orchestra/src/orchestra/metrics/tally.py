"""A sprint's task counts, one meaning for the status line and `sprint status` (and so `orchestra metrics`,
the dashboard and the report), and which status a task of a sprint not started yet shows. Stdlib only:
the status line imports it.
"""

from __future__ import annotations

ACTIVE = ("assigned", "in_progress", "needs_review")
CARRIED_OVER = "carried_over"


def tally(tasks, carried=(), statuses=()) -> dict[str, int]:
    """The sprint's `tasks` by status (each of `statuses` present, 0 when none), then `carried_over`: the
    unfinished work carried out of it at close (`carried`, its retrospective's rows). That work left the
    sprint: it is counted here as carried over, never as queued, active or blocked in it."""
    counts = dict.fromkeys(statuses, 0)
    ids = set()
    for task in tasks:
        status = task.get("status") or "queued"
        counts[status] = counts.get(status, 0) + 1
        ids.add(task.get("id"))
    counts[CARRIED_OVER] = sum(1 for row in carried if row.get("id") not in ids)
    return counts


def glance(counts: dict[str, int]) -> dict[str, int]:
    """A `tally` as the status line shows it: active (assigned, in progress, awaiting review), queued,
    done, blocked, carried over."""
    return {"active": sum(counts.get(status, 0) for status in ACTIVE), "queued": counts.get("queued", 0),
            "done": counts.get("completed", 0), "blocked": counts.get("blocked", 0),
            CARRIED_OVER: counts.get(CARRIED_OVER, 0)}


def carried_out(record: dict[str, object]) -> list[dict[str, object]]:
    """The work a closed sprint carried out at close, as its retrospective lists it (status then)."""
    if record.get("status") != "complete":
        return []
    return list((record.get("retrospective") or {}).get("carried_over") or [])


def reopened(record: dict[str, object] | None) -> bool:
    """Back in planning (or loaded again, ready) after a review found issues: its file says what starting it
    again will do."""
    return bool(record) and record.get("status") in ("planning", "ready") and bool(record.get("started_at"))


def waiting_status(current: dict[str, object] | None, sprint_id: str | None) -> dict[str, object]:
    """A task of a sprint not started yet, given its entity in state (`current`, None when it has none):
    queued, or, when it was carried over from an earlier sprint (in state, in no sprint) or is already the
    sprint's (reopened), its status and blocker there (a blocked task is not ready to start)."""
    if current is None or current.get("sprint") and current["sprint"] != sprint_id:
        return {"status": "queued"}
    return {"status": current.get("status", "queued"), "blocker": current.get("blocker")}
