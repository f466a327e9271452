"""The Monte Carlo forecast: exact where chance cannot matter, reproducible where it can."""

from __future__ import annotations

import datetime as dt

import pytest
from orchestra.workflow.forecast import forecast, hours_per_point, percentile, trial_count
from orchestra.workflow.graph import Node, TaskGraph

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
GRAPH = TaskGraph([Node("a", 2), Node("b", 3, ("a",)), Node("c", 1)])


def test_one_rate_gives_an_exact_answer() -> None:
    # 2 h per point: a 4 h, b 6 h (after a), c 2 h. One worker: 12 h. Two workers: a then b on the
    # chain is 10 h, and c fits beside it.
    one = forecast(GRAPH, [2.0], 1, now=NOW, trials=50, seed=1)
    assert (one["p50_hours"], one["p85_hours"]) == (12.0, 12.0)
    assert one["p50_at"] == "2026-12-01T21:00:00Z"
    two = forecast(GRAPH, [2.0], 2, now=NOW, trials=50, seed=1)
    assert (two["p50_hours"], two["p85_hours"]) == (10.0, 10.0)


def test_each_team_runs_only_on_its_own_workers() -> None:
    # 1 h per point. Engineering runs one task at a time: e1, e2, e3 (2 h each) one after another, 6 h;
    # devops' d (1 h) runs beside them on its own workers. Pooled, the three would run at once: 2 h.
    graph = TaskGraph([Node("e1", 2, team="engineering"), Node("e2", 2, team="engineering"),
                       Node("e3", 2, team="engineering"), Node("d", 1, team="devops")])
    result = forecast(graph, [1.0], {"engineering": 1, "devops": 2}, now=NOW, trials=20, seed=1)
    assert (result["p50_hours"], result["p85_hours"], result["slots"]) == (6.0, 6.0, 3)


def test_a_member_runs_no_more_tasks_at_once_than_their_capacity() -> None:
    # 1 h per point; the team could run all three at once, but ann takes one at a time: a1 and a2 (2 h
    # each) back to back, 4 h; bob's b (3 h) runs beside them.
    graph = TaskGraph([Node("a1", 2, team="eng", assignee="ann"), Node("a2", 2, team="eng", assignee="ann"),
                       Node("b", 3, team="eng", assignee="bob")])
    result = forecast(graph, [1.0], {"eng": 3}, now=NOW, trials=20, seed=1, members={"ann": 1, "bob": 2})
    assert (result["p50_hours"], result["p85_hours"]) == (4.0, 4.0)
    assert forecast(graph, [1.0], {"eng": 3}, now=NOW, trials=20, seed=1)["p50_hours"] == 3.0  # no member limit


def test_work_that_names_nobody_goes_to_one_able_member_with_a_free_place() -> None:
    # 1 h per point; the team runs four at once, but only ann and bob (one place each) can take p1..p3
    # (2 h each): two at once, then the third, 4 h. With a1 (ann's own) in the way too, bob takes p1 at
    # once beside a1 (he runs less), then ann and bob take p2 and p3: 4 h; ann alone for all four: 8 h.
    graph = TaskGraph([Node(f"p{i}", 2, team="eng") for i in (1, 2, 3)])
    pools = {f"p{i}": ("ann", "bob") for i in (1, 2, 3)}
    caps = {"ann": 1, "bob": 1}
    assert forecast(graph, [1.0], {"eng": 4}, now=NOW, trials=5, seed=1, members=caps, pools=pools)[
        "p85_hours"] == 4.0
    assert forecast(graph, [1.0], {"eng": 4}, now=NOW, trials=5, seed=1, members=caps)["p85_hours"] == 2.0
    mixed = TaskGraph([Node("a1", 2, team="eng", assignee="ann"), *graph.nodes])
    result = forecast(mixed, [1.0], {"eng": 4}, now=NOW, trials=5, seed=1, members=caps, pools=pools)
    assert (result["p50_hours"], result["p85_hours"]) == (4.0, 4.0)
    only_ann = forecast(mixed, [1.0], {"eng": 4}, now=NOW, trials=5, seed=1, members=caps,
                        pools=dict.fromkeys(pools, ("ann",)))
    assert only_ann["p85_hours"] == 8.0


def test_a_free_worker_takes_work_that_can_start_instead_of_waiting_for_the_next_in_order() -> None:
    # 1 h per point, two workers. a (1 h) then b (1 h) after it, and c (5 h) on its own: a and c start at
    # once, b follows a on its worker, all done at 5 h (not 6 h with the second worker idle, kept for b).
    chain_first = TaskGraph([Node("a", 1), Node("b", 1, ("a",)), Node("c", 5)])
    assert forecast(chain_first, [1.0], 2, now=NOW, trials=5, seed=1)["p85_hours"] == 5.0
    # ann takes one task at a time: while she does b1, the team's other worker does e1, then b2 and e2
    # run together: 4 h (not 6 h with that worker idle waiting for ann).
    busy = TaskGraph([Node("b1", 2, team="qa", assignee="ann"), Node("b2", 2, team="qa", assignee="ann"),
                      Node("e1", 2, team="qa"), Node("e2", 2, team="qa")])
    result = forecast(busy, [1.0], {"qa": 2}, now=NOW, trials=5, seed=1, members={"ann": 1})
    assert (result["p50_hours"], result["p85_hours"]) == (4.0, 4.0)


def test_percentiles_follow_the_sampled_history() -> None:
    # one 1-point task; three of four past tasks took 1 h per point, one took 5: P(1 h) = 0.75, so the
    # median is 1 h and the 85th percentile 5 h.
    result = forecast(TaskGraph([Node("x", 1)]), [1.0, 1.0, 1.0, 5.0], 1, now=NOW, trials=2000, seed=42)
    assert (result["p50_hours"], result["p85_hours"]) == (1.0, 5.0)


def test_same_seed_same_answer() -> None:
    rates = [0.5, 1.0, 2.5, 4.0, 7.0]
    first = forecast(GRAPH, rates, 2, now=NOW, trials=300, seed=7)
    assert forecast(GRAPH, rates, 2, now=NOW, trials=300, seed=7) == first
    answers = {forecast(GRAPH, rates, 2, now=NOW, trials=300, seed=s)["p85_hours"] for s in range(8)}
    assert len(answers) > 1  # the seed is really used
    assert first["p50_hours"] <= first["p85_hours"]
    # bounds: every task at the fastest rate on the chain .. every task at the slowest, one after another
    assert 0.5 * 5 <= first["p50_hours"] <= 7.0 * 6


def test_without_history_there_is_no_forecast() -> None:
    result = forecast(GRAPH, [], 2, now=NOW)
    assert result["available"] is False and "no completed task" in result["reason"]


def test_nothing_left_is_done_now() -> None:
    result = forecast(TaskGraph([]), [], 2, now=NOW)
    assert result["available"] and result["p85_hours"] == 0 and result["p85_at"] == "2026-12-01T09:00:00Z"


def test_history_rates_and_percentile() -> None:
    assert hours_per_point({"a": 10.0, "b": 3.0, "z": 1.0}, {"a": 5, "b": 0, "z": 2}) == [0.5, 2.0]
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([1, 2, 3, 4], 85) == 4 and percentile([9], 1) == 9
    with pytest.raises(ValueError, match="trials 0"):
        forecast(GRAPH, [1.0], 1, now=NOW, trials=0)


@pytest.mark.parametrize("rates", [[], [2.0]])
@pytest.mark.parametrize("graph", [GRAPH, TaskGraph([])])
def test_fewer_than_one_trial_is_refused_whatever_is_left(graph: TaskGraph, rates: list[float]) -> None:
    for trials in (0, -5):
        with pytest.raises(ValueError, match=f"trials {trials}: the forecast needs at least 1 trial"):
            forecast(graph, rates, 1, now=NOW, trials=trials)


def test_a_large_sprint_runs_fewer_trials_unless_asked_for_a_number() -> None:
    # 2000 trials up to 100 tasks left, then 200,000 trial-tasks' worth, never fewer than 20
    assert [trial_count(n) for n in (0, 1, 50, 100, 101, 500, 10_000, 50_000)] == [
        2000, 2000, 2000, 2000, 1980, 400, 20, 20]
    assert forecast(GRAPH, [2.0, 3.0], 2, now=NOW)["trials"] == 2000
    wide = TaskGraph([Node(f"t{i}", 1 + i % 3) for i in range(1000)])
    auto = forecast(wide, [1.0, 2.0, 4.0], 10, now=NOW, seed=3)
    assert auto["trials"] == 200 and auto == forecast(wide, [1.0, 2.0, 4.0], 10, now=NOW, seed=3, trials=200)
    assert forecast(wide, [1.0, 2.0, 4.0], 10, now=NOW, seed=3, trials=700)["trials"] == 700  # a number asked for
    assert forecast(wide, [], 10, now=NOW)["trials"] == 200
