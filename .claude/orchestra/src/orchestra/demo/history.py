"""The engineering team's earlier work in the demo: tasks done before sprint-3, at a person's pace.

The replayed session finishes task-oauth within a second of its delegation, so a forecast that learnt
only from it would say the 16 points left take seconds. A team that runs Orchestra has finished work
behind it; the demo records some, each task's start and completion stamped at the hours they took
(`now` the moment the demo runs), and the forecast draws on them as on any completed task.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Done:
    id: str
    title: str
    estimate: float
    days_ago: int
    hours: float  # from its start, at 09:00 UTC that day, to its completion


EARLIER = (
    Done("task-signup", "Email sign-up", 3, 8, 6.5),
    Done("task-session-store", "Session store", 2, 7, 3.5),
    Done("task-login-form", "Login form", 1, 6, 2.0),
    Done("task-password-reset", "Password reset", 3, 5, 7.0),
    Done("task-account-page", "Account page", 2, 4, 5.0),
)


def store_url(root: Path) -> str:
    """The demo project's own store, whatever store the environment names (as its hooks are run)."""
    return f"sqlite://{(root / '.claude/state/orchestration.db').resolve()}"


def record_earlier_work(root: Path, *, now: dt.datetime | None = None) -> list[Done]:
    """Put EARLIER into the project's state as completed tasks of no sprint, with their history."""
    from ..store import open_store
    from ..validation import validate_change

    now = now or dt.datetime.now(dt.UTC)
    with open_store(store_url(root)) as store, store.transaction() as tx:
        for task in EARLIER:
            start = (now - dt.timedelta(days=task.days_ago)).replace(hour=9, minute=0, second=0, microsecond=0)
            end = start + dt.timedelta(hours=task.hours)
            tx.set(f"tasks.{task.id}", {"id": task.id, "title": task.title, "team": "engineering",
                                        "assignee": "fullstack-eng", "estimate": task.estimate,
                                        "status": "completed", "sprint": None})
            validate_change(tx, f"tasks.{task.id}")
            tx.append_event("task_started", {"by": "fullstack-eng"}, task_id=task.id, ts=_stamp(start))
            tx.append_event("task_completed", {"by": "fullstack-eng"}, task_id=task.id, ts=_stamp(end))
    return list(EARLIER)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
