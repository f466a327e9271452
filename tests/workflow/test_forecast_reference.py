"""The forecast's simulation against a straightforward one: the same answer for the same seed, on random
sprints of teams, members with capacities, assignees and pools of able members."""

from __future__ import annotations

import datetime as dt
import heapq
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from orchestra.workflow.forecast import finish_time, forecast, percentile
from orchestra.workflow.graph import Node, TaskGraph

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
TEAMS = ("eng", "qa", "ops")
MEMBERS = ("ann", "bob", "cy", "dee", "eve")


def reference_finish(graph: TaskGraph, durations, slots, members, pools) -> float:
    """List scheduling as time passes, everything looked up afresh at each step: whenever a team has a free
    worker, it takes the first task in topological order that can start (dependencies finished, and one of
    its takers with a free place: the one running the fewest tasks, then the first listed)."""
    per_team = isinstance(slots, dict)
    free = {t: max(1, n) for t, n in slots.items()} if per_team else {None: max(1, slots)}
    team = [node.team if per_team else None for node in graph.nodes]
    for t in team:
        free.setdefault(t, 1)
    capacity = {m: max(1, n) for m, n in (members or {}).items()}
    places = dict(capacity)

    def takers(i):
        node = graph.nodes[i]
        able = tuple(pools[node.id]) if pools and node.id in pools else (node.assignee,)
        return able if able and all(m in capacity for m in able) else None

    rank = {i: position for position, i in enumerate(graph.order)}
    done, started, doer = set(), set(), {}
    sets_of = {m: list(dict.fromkeys(a for i in range(len(graph)) if (a := takers(i)) and m in a))
               for m in capacity}
    held: dict[tuple, list] = {}
    queued: dict = {t: [] for t in free}
    waiting = [len(p) for p in graph.preds]
    for i in range(len(graph)):
        if not waiting[i]:
            heapq.heappush(queued[team[i]], (rank[i], i))
    running, now = [], 0.0
    while True:
        for t in list(queued):
            while queued[t] and free[t]:
                item = heapq.heappop(queued[t])
                able = takers(item[1])
                person = None
                if able is not None:
                    person = min(able, key=lambda m: (not places[m], capacity[m] - places[m]))
                    if not places[person]:
                        heapq.heappush(held.setdefault(able, []), item)
                        continue
                    places[person] -= 1
                doer[item[1]] = person
                free[t] -= 1
                started.add(item[1])
                heapq.heappush(running, (now + durations[item[1]], *item))
        if not running:
            return now
        now, _, i = heapq.heappop(running)
        done.add(i)
        free[team[i]] += 1
        if doer[i] is not None:
            places[doer[i]] += 1
            for able in sets_of[doer[i]]:
                if held.get(able):
                    item = heapq.heappop(held[able])
                    heapq.heappush(queued[team[item[1]]], item)
        for j in graph.succs[i]:
            waiting[j] -= 1
            if not waiting[j]:
                heapq.heappush(queued[team[j]], (rank[j], j))


@st.composite
def sprints(draw):
    count = draw(st.integers(1, 40))
    nodes = []
    for i in range(count):
        deps = draw(st.lists(st.integers(0, max(0, i - 1)), max_size=3, unique=True)) if i else []
        assignee = draw(st.one_of(st.none(), st.sampled_from((*MEMBERS, "outsider"))))
        nodes.append(Node(f"t{i}", draw(st.sampled_from((0, 1, 2, 3, 5, 8))), tuple(f"t{d}" for d in deps),
                          "normal", draw(st.sampled_from(TEAMS)), assignee))
    pools = {n.id: tuple(draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=4, unique=True)))
             for n in nodes if n.assignee is None and draw(st.booleans())}
    members = draw(st.one_of(st.none(), st.fixed_dictionaries({m: st.integers(0, 3) for m in MEMBERS})))
    slots = draw(st.one_of(st.integers(0, 4), st.fixed_dictionaries({t: st.integers(0, 3) for t in TEAMS[:2]})))
    return TaskGraph(nodes), members, pools, slots


@settings(max_examples=300, deadline=None)
@given(sprints(), st.integers(0, 2**32), st.lists(st.floats(0.1, 9.0), min_size=1, max_size=6))
def test_the_forecast_matches_a_straightforward_simulation(sprint, seed, rates) -> None:
    graph, members, pools, slots = sprint
    rng = random.Random(seed)
    results = sorted(reference_finish(graph, [e * rng.choice(rates) for e in graph.estimates], slots, members, pools)
                     for _ in range(25))
    answer = forecast(graph, rates, slots, now=NOW, trials=25, seed=seed, members=members, pools=pools)
    assert (answer["trials"], answer["p50_hours"], answer["p85_hours"]) == (
        25, round(percentile(results, 50), 2), round(percentile(results, 85), 2))
    durations = [e * rates[0] for e in graph.estimates]
    assert finish_time(graph, durations, slots, members, pools=pools) == reference_finish(
        graph, durations, slots, members, pools)
