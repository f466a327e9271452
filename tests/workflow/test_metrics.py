"""Metrics on a synthetic event stream whose answers are worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from orchestra.workflow import metrics

D = dt.date


def ev(i: int, ts: str, type: str, task: str | None = None, **data) -> dict:
    return {"id": i, "ts": ts, "type": type, "task_id": task, "data": data}


# Sprint 2026-12-01 .. 2026-12-05; scope a=5, b=3, c=2 (10 points).
#   a: assigned 12-01 09:00, started 10:00, completed 12-02 16:00 (event repeated) -> cycle 31 h
#   b: started 12-02 08:00, blocked 12:00, started again 12-03 09:00, completed 12-04 08:00 -> 48 h
#   c: assigned 12-03 10:00, completed 22:00, reopened 12-04 10:00, completed 12-05 10:00 -> 48 h
EVENTS = [
    ev(1, "2026-12-01T08:00:00.000Z", "sprint_status", None, sprint="s", to="active"),  # not a task
    ev(2, "2026-12-01T09:00:00.000Z", "task_assigned", "a"),
    ev(3, "2026-12-01T10:00:00.000Z", "task_started", "a", **{"from": "assigned"}),
    ev(4, "2026-12-02T08:00:00.000Z", "task_started", "b"),
    ev(5, "2026-12-02T12:00:00.000Z", "task_blocked", "b", reason="waiting for API keys"),
    ev(6, "2026-12-02T16:00:00.000Z", "task_completed", "a"),
    ev(7, "2026-12-02T16:00:30.000Z", "task_completed", "a"),  # the same hook event seen twice
    ev(8, "2026-12-03T09:00:00.000Z", "task_started", "b"),
    ev(9, "2026-12-03T10:00:00.000Z", "delegation_linked", "c", how="definitive"),  # no status: ignored
    ev(10, "2026-12-03T10:00:00.000Z", "task_assigned", "c"),
    ev(11, "2026-12-03T22:00:00.000Z", "task_completed", "c"),
    ev(12, "2026-12-04T08:00:00.000Z", "task_completed", "b"),
    ev(13, "2026-12-04T10:00:00.000Z", "task_requeued", "c", reason="review found a bug"),
    # the generic shape: any event naming a task and the status it went `to`
    {"id": 14, "ts": "2026-12-05T10:00:00.000Z", "type": "status_changed", "data": {"task": "c", "to": "completed"}},
]
SCOPE = {"a": 5.0, "b": 3.0, "c": 2.0}


def changes(events=EVENTS):
    return metrics.task_changes(events, SCOPE)


def test_changes_skip_noise_and_repeats() -> None:
    found = [(c.task, c.status) for c in changes()]
    assert found == [("a", "assigned"), ("a", "in_progress"), ("b", "in_progress"), ("b", "blocked"),
                     ("a", "completed"), ("b", "in_progress"), ("c", "assigned"), ("c", "completed"),
                     ("b", "completed"), ("c", "queued"), ("c", "completed")]


def test_order_of_arrival_does_not_matter() -> None:
    shuffled = EVENTS[:]
    random.Random(3).shuffle(shuffled)
    assert changes(shuffled) == changes()


def test_a_task_changed_on_machines_whose_clocks_disagree_ends_on_its_status() -> None:
    # d: started on a machine 10 minutes ahead (10:10 by its clock), completed two minutes later on one
    # that keeps time (10:02 by its clock). The store recorded them in that order: d is completed.
    skewed = [ev(1, "2026-12-02T10:10:00.000Z", "task_started", "d"),
              ev(2, "2026-12-02T10:02:00.000Z", "task_completed", "d")]
    found = metrics.task_changes(skewed)
    assert [(c.status, c.at.isoformat()) for c in found] == [("in_progress", "2026-12-02T10:02:00+00:00"),
                                                             ("completed", "2026-12-02T10:02:00+00:00")]
    assert metrics.cycle_times(found) == {"d": 0.0}
    assert metrics.throughput(found, D(2026, 12, 1), D(2026, 12, 3))["completed"] == 1
    chart = metrics.burndown({"d": 2.0}, found, D(2026, 12, 1), D(2026, 12, 3))
    assert [d["remaining"] for d in chart["days"]] == [2, 0, 0]


def test_a_change_stamped_in_the_future_counts_now() -> None:
    # e: started on a machine a day ahead (12-03 by its clock), then completed on one that keeps time
    # (12-02 11:00), and f completed on the machine ahead. As of 12-02 12:00 both are done, today.
    skewed = [ev(1, "2026-12-03T10:00:00.000Z", "task_started", "e"),
              ev(2, "2026-12-02T11:00:00.000Z", "task_completed", "e"),
              ev(3, "2026-12-03T11:30:00.000Z", "task_completed", "f")]
    now = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)
    found = metrics.task_changes(skewed, now=now)
    assert [(c.task, c.status, c.at) for c in found] == [
        ("e", "in_progress", dt.datetime(2026, 12, 2, 11, tzinfo=dt.UTC)),
        ("e", "completed", dt.datetime(2026, 12, 2, 11, tzinfo=dt.UTC)), ("f", "completed", now)]
    chart = metrics.burndown({"e": 2.0, "f": 1.0}, found, D(2026, 12, 1), D(2026, 12, 3), today=D(2026, 12, 2))
    assert [d["remaining"] for d in chart["days"]] == [3, 0, None]
    assert metrics.throughput(found, D(2026, 12, 1), D(2026, 12, 2))["completed"] == 2


def test_burndown_by_hand() -> None:
    # end of 12-01: nothing done -> 10; 12-02: a -> 5; 12-03: c -> 3; 12-04: b done, c reopened -> 2;
    # 12-05: c again -> 0. Ideal falls by 10/5 = 2 a day from 10: 8, 6, 4, 2, 0.
    chart = metrics.burndown(SCOPE, changes(), D(2026, 12, 1), D(2026, 12, 5))
    assert chart["total"] == 10
    assert [d["remaining"] for d in chart["days"]] == [10, 5, 3, 2, 0]
    assert [d["ideal"] for d in chart["days"]] == [8, 6, 4, 2, 0]
    assert [d["date"] for d in chart["days"]] == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04",
                                                  "2026-12-05"]


def test_burndown_future_days_have_no_actual() -> None:
    chart = metrics.burndown(SCOPE, changes(), D(2026, 12, 1), D(2026, 12, 5), today=D(2026, 12, 3))
    assert [d["remaining"] for d in chart["days"]] == [10, 5, 3, None, None]


def test_burndown_of_a_sprint_running_past_its_end_goes_on_with_the_ideal_at_zero() -> None:
    # Planned 12-01 .. 12-03 (ideal 10 * 2/3, 10 * 1/3, 0), closed 12-05: b (12-04) and c (12-05) count.
    chart = metrics.burndown(SCOPE, changes(), D(2026, 12, 1), D(2026, 12, 3), today=D(2026, 12, 5),
                             through=D(2026, 12, 5))
    assert [d["remaining"] for d in chart["days"]] == [10, 5, 3, 2, 0]
    assert [d["ideal"] for d in chart["days"]] == [6.6667, 3.3333, 0, 0, 0]
    assert (chart["start"], chart["end"]) == ("2026-12-01", "2026-12-03")
    early = metrics.burndown(SCOPE, changes(), D(2026, 12, 1), D(2026, 12, 5), today=D(2026, 12, 3),
                             through=D(2026, 12, 3))  # closed early: the plan keeps its length
    assert [d["ideal"] for d in early["days"]] == [8, 6, 4, 2, 0]


def test_burndown_refuses_a_backwards_window() -> None:
    with pytest.raises(ValueError, match="end 2026-11-30 is before start 2026-12-01"):
        metrics.burndown(SCOPE, [], D(2026, 12, 1), D(2026, 11, 30))


def test_cycle_times_by_hand() -> None:
    assert metrics.cycle_times(changes()) == {"a": 31.0, "b": 48.0, "c": 48.0}


def test_cycle_time_needs_a_start_and_a_current_completion() -> None:
    only_done = [ev(1, "2026-12-01T10:00:00Z", "task_completed", "x")]
    reopened = [ev(1, "2026-12-01T10:00:00Z", "task_started", "y"), ev(2, "2026-12-01T12:00:00Z", "task_completed", "y"),
                ev(3, "2026-12-01T13:00:00Z", "task_requeued", "y")]
    assert metrics.cycle_times(metrics.task_changes(only_done + reopened)) == {}


def test_throughput_by_hand() -> None:
    # final completions: a 12-02, b 12-04, c 12-05 -> 3 in 5 days
    assert metrics.throughput(changes(), D(2026, 12, 1), D(2026, 12, 5)) == {"completed": 3, "days": 5,
                                                                          "per_day": 0.6}
    # up to 12-03 c was done, but it was reopened later: only a counts (its last completion is inside)
    assert metrics.throughput(changes(), D(2026, 12, 1), D(2026, 12, 3))["completed"] == 1


def test_blockers_by_hand() -> None:
    tasks = [{"id": "a", "status": "completed"}, {"id": "d", "status": "blocked", "blocker": "no staging DB"}]
    assert metrics.blockers(changes(), tasks) == {
        "raised": 1, "open": 1, "tasks": [{"task": "d", "blocker": "no staging DB"}]}


def test_completion_rate_by_hand() -> None:
    tasks = [{"id": "a", "status": "completed", "estimate": 5}, {"id": "b", "status": "completed", "estimate": 3},
             {"id": "c", "status": "completed", "estimate": 2}, {"id": "d", "status": "cancelled", "estimate": 4},
             {"id": "e", "status": "queued", "estimate": 1}]
    # cancelled work is out of scope: 3 of 4 tasks, 10 of 11 points
    assert metrics.completion_rate(tasks) == {
        "tasks_completed": 3, "tasks_total": 4, "tasks_rate": 0.75,
        "points_completed": 10, "points_total": 11, "points_rate": 0.9091,
    }
    assert metrics.completion_rate([])["tasks_rate"] == 0.0


def test_velocity_orders_closed_sprints_and_skips_open_ones() -> None:
    sprints = [
        {"id": "s3", "status": "active"},
        {"id": "s2", "status": "complete", "retrospective": {"completed_points": 12, "closed_at": "2026-11-28T17:00:00Z"}},
        {"id": "s1", "status": "complete", "retrospective": {"completed_points": 10, "closed_at": "2026-11-14T17:00:00Z"}},
    ]
    assert metrics.velocity(sprints) == [
        {"sprint": "s1", "points": 10, "closed_at": "2026-11-14T17:00:00Z"},
        {"sprint": "s2", "points": 12, "closed_at": "2026-11-28T17:00:00Z"},
    ]


def test_lifecycle_event_names_match_the_lifecycle() -> None:
    from orchestra.lifecycle.transitions import TASK_EVENTS

    for status, event_type in TASK_EVENTS.items():
        assert metrics.STATUS_OF_EVENT[event_type] == status
