"""`sprint status` reads only the events its metrics count (task status changes, carry-overs), on every
backend, and answers exactly as it did reading the whole log."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

import pytest
from orchestra.store import Store
from orchestra.workflow import sprint_status
from orchestra.workflow.progress import status_view
from orchestra.workflow.sprints import organization
from orchestra.workflow.view import sprint_view

from tests.observability.harness import large_sprint_with_history

NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)


def _fill(store: Store) -> None:
    with store.transaction() as tx:
        tx.set("sprints.s0", {"status": "complete", "started_at": "2026-11-20T00:00:00Z",
                              "closed_at": "2026-11-30T00:00:00Z", "tasks": ["old"],
                              "retrospective": {"closed_at": "2026-11-30T00:00:00Z", "completed_points": 2.0,
                                                "carried_over": [], "blockers": []}})
        tx.set("sprints.s1", {"status": "active", "started_at": "2026-12-01T00:00:00Z", "tasks": ["a", "b", "c", "d"]})
        tx.set("tasks.old", {"sprint": "s0", "status": "completed", "estimate": 2})
        for tid, status in (("a", "completed"), ("b", "in_progress"), ("c", "blocked"), ("d", "queued")):
            tx.set(f"tasks.{tid}", {"sprint": "s1", "status": status, "estimate": 3, "team": "engineering",
                                    **({"blocker": "waits on the API"} if status == "blocked" else {})})

        def at(day: int, hour: int) -> str:
            return f"2026-{11 if day > 5 else 12}-{day:02d}T{hour:02d}:00:00Z"

        events = [
            ("task_assigned", {}, {"task_id": "old"}, at(21, 9)),
            ("task_completed", {}, {"task_id": "old"}, at(23, 9)),
            ("task_carried_over", {"sprint": "s0", "status": "blocked"}, {"task_id": "c"}, at(30, 1)),
            ("task_blocked", {"reason": "before this sprint"}, {"task_id": "c"}, at(29, 9)),
            ("task_requeued", {}, {"task_id": "c"}, at(1, 8)),
            ("task_assigned", {}, {"task_id": "a"}, at(1, 9)),
            ("tool_failed", {"tool": "Bash", "to": 3}, {"task_id": "a"}, at(1, 10)),
            ("message.sent", {"from": "tech-lead", "to": "backend-dev"}, {"task_id": "a"}, at(1, 11)),
            ("task_started", {}, {"task_id": "a"}, at(1, 12)),
            ("task_completed", {}, {"task_id": "a"}, at(2, 15)),
            ("task_status_set", {"from": "queued", "to": "in_progress", "by": "cli"}, {"task_id": "b"}, at(2, 9)),
            ("review_requested", {"to": ["qa"]}, {"task_id": "b"}, at(2, 10)),
            ("note", {"meta": {"to": "completed"}}, {"task_id": "b"}, at(2, 11)),
            ("agent_started", {"agent_type": "backend-dev"}, {"task_id": "b", "agent_id": "r1"}, at(2, 12)),
            ("task.status", {"task": "c", "to": "blocked", "reason": "waits on the API"}, {}, at(3, 9)),
            ("sprint_status", {"sprint": "s1", "from": "active", "to": "blocked"}, {}, at(3, 10)),
            ("task_moved", {"from": "s0", "to": "s1", "by": "cli"}, {"task_id": "d"}, at(3, 11)),
            ("note", {"to": "completed\u0000 not quite"}, {"task_id": "d"}, at(3, 12)),
            ("task_status_set", {"from": "queued", "to": "completed"}, {"task_id": "x-unknown"}, at(3, 13)),
        ]
        for kind, data, refs, ts in events:
            tx.append_event(kind, data, ts=ts, **refs)
        for n in range(30):  # a busy log: far more noise than status changes
            tx.append_event("tool_failed", {"tool": "Edit", "n": n}, task_id="b", ts=at(4, n % 24))


class Unfiltered:
    """A transaction that reads the whole log whatever it is asked: the answer before reads were narrowed."""

    def __init__(self, tx) -> None:
        self.tx = tx

    def __getattr__(self, name: str):
        return getattr(self.tx, name)

    def events_after(self, after: int = 0, limit: int | None = 1000, types=(), to=()):
        return self.tx.events_after(after, limit)


def _whole_log_answer(store: Store, sprint: str, root: Path) -> dict:
    org = organization(root)
    with store.snapshot() as tx:
        from orchestra.workflow.holders import with_holders

        view = with_holders(tx, sprint_view(tx, sprint, root), org)
        return status_view(Unfiltered(tx), view, org, now=NOW)


@pytest.mark.parametrize("sprint", ["s1", "s0"])
def test_sprint_status_answers_as_it_did_reading_the_whole_log(store: Store, tmp_path: Path, sprint: str) -> None:
    _fill(store)
    answer = sprint_status(store, sprint, tmp_path, now=NOW)
    assert answer == _whole_log_answer(store, sprint, tmp_path)
    if sprint == "s1":  # the mixed events counted: a's cycle, c blocked twice (once before it was carried in)
        assert answer["metrics"]["cycle_time"]["tasks"] == {"a": 30.0}
        assert answer["metrics"]["blockers"]["raised"] == 1
        assert answer["forecast"]["available"] is True


def test_sprint_status_reads_no_event_its_metrics_do_not_count(store: Store, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(store)
    read: list[dict] = []
    snapshot = type(store).snapshot

    class Spy(Unfiltered):
        def events_after(self, *args, **kwargs):
            page = self.tx.events_after(*args, **kwargs)
            read.extend(page)
            return page

    @contextmanager
    def spied(self):
        with snapshot(self) as tx:
            yield Spy(tx)

    monkeypatch.setattr(type(store), "snapshot", spied)
    sprint_status(store, "s1", tmp_path, now=NOW)
    kinds = {e["type"] for e in read}
    assert kinds <= {"task_assigned", "task_started", "task_completed", "task_blocked", "task_requeued",
                     "task_status_set", "task_carried_over", "task.status", "sprint_status"}
    assert {"task.status", "task_status_set", "task_carried_over"} <= kinds  # status changes of any type count


def test_events_after_to_selects_by_data_to_exactly(store: Store) -> None:
    _fill(store)
    wanted = ("blocked", "completed", "in_progress")
    with store.snapshot() as tx:
        every = tx.events_after(0, None)
        selected = tx.events_after(0, None, ("task_carried_over",), wanted)
        paged = [e for after in (0, 3, 11) for e in tx.events_after(after, 2, ("task_carried_over",), wanted)]
    expected = [e for e in every if e["type"] == "task_carried_over"
                or (isinstance(e["data"].get("to"), str) and e["data"]["to"] in wanted)]
    assert [e["id"] for e in selected] == [e["id"] for e in expected]
    assert [e["type"] for e in selected] == ["task_carried_over", "task_status_set", "task.status",
                                             "sprint_status", "task_status_set"]
    # a page holds `limit` selected events even when the database could not tell some apart (U+0000)
    firsts = {after: [e for e in expected if e["id"] > after][:2] for after in (0, 3, 11)}
    assert paged == [e for after in (0, 3, 11) for e in firsts[after]]


def test_the_metrics_panel_and_the_report_count_the_status_changes_sprint_status_counts(store: Store,
                                                                                       tmp_path: Path) -> None:
    """A status change in the generic shape (any event naming a task and the status it went `to`) counts in
    the dashboard's metrics and the report as it does in `sprint status`."""
    from orchestra.metrics.system import collect
    from orchestra.report.model import build

    _fill(store)
    with store.transaction() as tx:
        tx.append_event("task_started", {}, task_id="d", ts="2026-12-04T09:00:00Z")
        tx.append_event("status_changed", {"task": "d", "to": "completed"}, ts="2026-12-04T12:00:00Z")
        tx.append_event("status_changed", {"task": "b", "to": "blocked", "reason": "needs keys"},
                        ts="2026-12-04T13:00:00Z")
        tx.append_event("task_status_set", {"from": "blocked", "to": "in_progress"}, task_id="b",
                        ts="2026-12-04T14:00:00Z")
    status = sprint_status(store, "s1", tmp_path, now=NOW)
    assert status["metrics"]["cycle_time"]["tasks"] == {"a": 30.0, "d": 3.0}
    assert status["metrics"]["blockers"]["raised"] == 2
    metrics = collect(store, tmp_path, sprint_id="s1", now=NOW, audit_records=[])
    assert metrics["task_throughput"]["completed"] == 3  # a, d and x-unknown, completed in the last 7 days
    assert metrics["average_task_time"]["tasks"] == 3  # a, d and the earlier sprint's task
    report = build(store, "s1", tmp_path, now=NOW)
    assert {(b["task"], b["blocker"], b["open"]) for b in report["blockers"]} == {
        ("b", "needs keys", False), ("c", "waits on the API", True)}


def test_the_metrics_read_the_status_changes_once_and_answer_as_sprint_status_does(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`metrics.collect` (every dashboard rebuild) shares its read of the status changes with the sprint
    status it includes: one read of them, the same answers as `sprint status` and the whole log give."""
    from orchestra.metrics.system import DASHBOARD_TRIALS, collect
    from orchestra.workflow import metrics as sprint_metrics

    _fill(store)
    status = sprint_status(store, "s1", tmp_path, now=NOW, trials=DASHBOARD_TRIALS)
    with store.snapshot() as tx:
        every = sprint_metrics.task_changes(tx.events_after(0, None), now=NOW)
    reads: list[tuple] = []
    snapshot = type(store).snapshot

    class Counting(Unfiltered):
        def events_after(self, after: int = 0, limit: int | None = 1000, types=(), to=()):
            reads.append((after, tuple(types), tuple(to)))
            return self.tx.events_after(after, limit, types, to) if to else self.tx.events_after(after, limit, types)

    @contextmanager
    def counted(self):
        with snapshot(self) as tx:
            yield Counting(tx)

    monkeypatch.setattr(type(store), "snapshot", counted)
    metrics = collect(store, tmp_path, sprint_id="s1", now=NOW, audit_records=[])
    assert len([read for read in reads if read[2]]) == 1, reads  # the status changes: once, not once per use
    assert metrics["sprint"] == {key: status[key] for key in metrics["sprint"]}
    assert metrics["sprint"]["forecast"] == status["forecast"] and metrics["sprint"]["forecast"]["available"]
    for key, part in (("cycle_time", "cycle_time"), ("blockers", "blockers"), ("completion_rate", "completion"),
                      ("burndown", "burndown")):
        assert metrics[key] == status["metrics"][part], key
    today = NOW.date()
    assert metrics["task_throughput"] == sprint_metrics.throughput(every, today - dt.timedelta(days=6), today)
    assert metrics["average_task_time"]["tasks"] == len(sprint_metrics.cycle_times(every)) == 2


@pytest.mark.parametrize(("left", "trials"), [(40, 500), (1000, 200)])
def test_the_dashboard_forecast_runs_fewer_trials_on_a_large_sprint(store: Store, tmp_path: Path, left: int,
                                                                     trials: int) -> None:
    """Every dashboard rebuild forecasts with at most 500 trials, and no more than 200,000 / tasks left."""
    from orchestra.metrics.system import collect

    large_sprint_with_history(store, left)
    forecast = collect(store, tmp_path, sprint_id="big", now=NOW, audit_records=[])["sprint"]["forecast"]
    assert forecast["available"] and (forecast["trials"], forecast["remaining_tasks"]) == (trials, left)
