"""Shared by the observability and browser tests: the sample project with sprint-3 started and some
work done on it, and a real dashboard server running on its own event loop in a thread."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestra.workflow.metrics import EVENT_OF_STATUS

from tests.conftest import REPO

# The dashboard's clock in these tests: day 4 of sprint-3 (2026-12-01 .. 2026-12-14).
NOW = dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC)


def sample_project(project: Path) -> Path:
    """`project` with the pack's teams.yaml and sample sprint-3 definition."""
    claude = project / ".claude"
    shutil.copy(REPO / ".claude/teams.yaml", claude / "teams.yaml")
    (claude / "sprints").mkdir(exist_ok=True)
    shutil.copy(REPO / ".claude/sprints/sprint-3.yaml", claude / "sprints" / "sprint-3.yaml")
    from orchestra import paths

    paths.ensure_state_dir(project)
    return project


def work(store, task: str, status: str, ts: str, blocker: str | None = None, agent_id: str | None = None) -> None:
    """A task's status change the way the lifecycle records it: the field and its event."""
    with store.transaction() as tx:
        tx.update(f"tasks.{task}", {"status": status, "blocker": blocker})
        tx.append_event(EVENT_OF_STATUS[status], {}, task_id=task, agent_id=agent_id, ts=ts)


def started_sprint(store, root: Path | None = None) -> None:
    """sprint-3 loaded and started, task-oauth done on day 2, fraud rules blocked on day 3. `root`: the
    project (default: CLAUDE_PROJECT_DIR, as the tests set it), where the sprint's worktrees go."""
    from orchestra.workflow import start_sprint

    start_sprint(store, "sprint-3", root)
    work(store, "task-oauth", "assigned", "2026-12-01T09:00:00.000Z")
    work(store, "task-oauth", "in_progress", "2026-12-01T09:05:00.000Z")
    work(store, "task-oauth", "completed", "2026-12-02T16:00:00.000Z")
    work(store, "task-fraud-rules", "in_progress", "2026-12-02T10:00:00.000Z")
    work(store, "task-fraud-rules", "blocked", "2026-12-03T11:00:00.000Z", blocker="waiting for the risk team's rules")


def report_made_while_running(tx, task: str, report: dict, **who) -> None:
    """A report its agent made while `task` ran (`record_report` refuses one on a finished task), kept on a task
    that may be finished now: the task is put back as it was."""
    from orchestra.lifecycle import record_report

    status = tx.get(f"tasks.{task}.status")
    tx.update(f"tasks.{task}", {"status": "in_progress"})
    record_report(tx, task, report, **who)
    tx.update(f"tasks.{task}", {"status": status})


@contextmanager
def running_dashboard(root: Path, **options) -> Iterator:
    """A `Dashboard` on 127.0.0.1, a free port, serving from a thread; stopped on exit."""
    from orchestra.dashboard.server import Dashboard

    options = {"host": "127.0.0.1", "port": 0, "clock": lambda: NOW, **options}
    dashboard = Dashboard(root, **options)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(dashboard.start())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread below
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(60), "the dashboard did not start within 60 s"
    if failure:
        raise failure[0]
    try:
        yield dashboard
    finally:
        asyncio.run_coroutine_threadsafe(dashboard.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def an_earlier_export(store) -> dict:
    """sprint-3 started in `store`, then five more events; returned: an export of it with only its first two
    events, which `store.import_document` puts in place of the log a follower has read further than."""
    started_sprint(store)
    earlier = store.export()
    with store.transaction() as tx:
        for n in range(5):
            tx.append_event("state_updated", {"n": n}, ts="2026-12-04T11:00:00Z")
    earlier["observability"]["events"] = earlier["observability"]["events"][:2]
    return earlier


def spy_event_reads(monkeypatch) -> list[dict]:
    """Every event the stores' `events_after` returns from now on (both transaction kinds), for tests that a read
    reaches only the events it needs."""
    from orchestra.store.doc_tx import DocTx
    from orchestra.store.table_tx import TableTx

    read: list[dict] = []
    for kind in (DocTx, TableTx):
        def spied(self, *args, _read=kind.events_after, **kwargs):
            page = _read(self, *args, **kwargs)
            read.extend(page)
            return page

        monkeypatch.setattr(kind, "events_after", spied)
    return read


def large_sprint_with_history(store, left: int) -> None:
    """Sprint `big`: `left` queued tasks and one completed, its start and finish in the log (what a forecast
    learns from)."""
    ids = [f"big-{i}" for i in range(left + 1)]
    with store.transaction() as tx:
        tx.set("sprints.big", {"status": "active", "started_at": "2026-12-01T00:00:00Z", "tasks": ids})
        for i, tid in enumerate(ids):
            tx.set(f"tasks.{tid}", {"sprint": "big", "title": tid, "estimate": 1 + i % 3,
                                    "status": "completed" if i == 0 else "queued"})
        tx.append_event("task_started", {}, task_id="big-0", ts="2026-12-01T09:00:00Z")
        tx.append_event("task_completed", {}, task_id="big-0", ts="2026-12-01T11:00:00Z")
