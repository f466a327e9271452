"""Monte Carlo completion forecast: how long the remaining tasks take, drawn from past cycle times.

Each trial gives every remaining task a duration of (its estimate) x (hours per point of a past
task drawn at random), then runs the tasks on parallel workers as time passes, each free worker taking
the first task in dependency order that can start: `slots` workers, or per team when `slots` maps each
team to its limit (a team's tasks run only on its own workers), and no member runs more tasks at once
than `members` gives as its capacity.
The 50th and 85th percentiles of the trials' finish times are the forecast. Same seed, same answer.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .graph import TaskGraph

DEFAULT_TRIALS = 2000


def hours_per_point(cycle_hours: dict[str, float], estimates: dict[str, float]) -> list[float]:
    """Past tasks' cycle time divided by their estimate (tasks estimated at 0 points tell nothing)."""
    return sorted(h / estimates[t] for t, h in cycle_hours.items() if estimates.get(t, 0) > 0)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


Slots = int | Mapping[str | None, int]


@dataclass(frozen=True, slots=True)
class Workers:
    """What every trial of one graph shares: each task's team pool and assignee, its place in topological
    order, the workers per team, the places per assignee, and the tasks that can start at once."""

    team_of: list[str | None]
    person_of: list[str | None]
    rank: list[int]
    free: dict[str | None, int]
    places: dict[str, int]
    first: list[tuple[int, int]]

    @classmethod
    def of(cls, graph: TaskGraph, slots: Slots, members: Mapping[str, int] | None = None) -> Workers:
        per_team = isinstance(slots, Mapping)
        free = {t: max(1, n) for t, n in slots.items()} if per_team else {None: max(1, slots)}
        team_of = [node.team if per_team else None for node in graph.nodes]
        for team in team_of:
            free.setdefault(team, 1)
        places = {name: max(1, n) for name, n in (members or {}).items()}
        rank = [0] * len(graph)
        for position, i in enumerate(graph.order):
            rank[i] = position
        return cls(team_of, [node.assignee if node.assignee in places else None for node in graph.nodes], rank,
                   free, places, [(rank[i], i) for i in range(len(graph)) if not graph.preds[i]])


def finish_time(graph: TaskGraph, durations: list[float], slots: Slots,
                members: Mapping[str, int] | None = None, workers: Workers | None = None) -> float:
    """Makespan of list scheduling as time passes: whenever a worker is free (of its team, when `slots`
    is per team), it takes the first task in topological order whose dependencies have finished and
    whose assignee, when `members` gives the assignee's capacity, has a free place. A task that cannot
    start leaves its worker to one that can."""
    w = workers or Workers.of(graph, slots, members)
    team_of, person_of, rank = w.team_of, w.person_of, w.rank
    free, places = dict(w.free), dict(w.places)
    waiting = [len(p) for p in graph.preds]
    queues: dict[str | None, list[tuple[int, int]]] = {team: [] for team in free}
    held: dict[str, list[tuple[int, int]]] = {name: [] for name in places}  # their assignee had no place
    for item in w.first:
        queues[team_of[item[1]]].append(item)
    for queue in queues.values():
        heapq.heapify(queue)
    running: list[tuple[float, int, int]] = []
    now = 0.0
    while True:
        for team, queue in queues.items():
            while queue and free[team]:
                item = heapq.heappop(queue)
                person = person_of[item[1]]
                if person is not None and not places[person]:
                    heapq.heappush(held[person], item)
                    continue
                free[team] -= 1
                if person is not None:
                    places[person] -= 1
                heapq.heappush(running, (now + durations[item[1]], *item))
        if not running:
            return now
        now, _, i = heapq.heappop(running)
        free[team_of[i]] += 1
        person = person_of[i]
        if person is not None:
            places[person] += 1
            if held[person]:  # the place goes to the first of the assignee's tasks that was waiting for it
                item = heapq.heappop(held[person])
                heapq.heappush(queues[team_of[item[1]]], item)
        for j in graph.succs[i]:
            waiting[j] -= 1
            if not waiting[j]:
                heapq.heappush(queues[team_of[j]], (rank[j], j))


def forecast(graph: TaskGraph, rates: list[float], slots: Slots, *, now: dt.datetime,
             trials: int = DEFAULT_TRIALS, seed: int = 0, members: Mapping[str, int] | None = None) -> dict[str, Any]:
    """p50/p85 hours (and timestamps from `now`) to finish every task in `graph`."""
    if trials < 1:
        raise ValueError(f"trials {trials}: the forecast needs at least 1 trial")
    total = max(1, sum(slots.values()) if isinstance(slots, Mapping) else slots)
    base = {"trials": trials, "seed": seed, "samples": len(rates), "slots": total, "remaining_tasks": len(graph)}
    if len(graph) == 0:
        stamp = _stamp(now)
        return {**base, "available": True, "p50_hours": 0.0, "p85_hours": 0.0, "p50_at": stamp, "p85_at": stamp}
    if not rates:
        return {**base, "available": False,
                "reason": "no completed task with a recorded start and an estimate above 0 to learn from yet"}
    rng = random.Random(seed)
    estimates = graph.estimates
    workers = Workers.of(graph, slots, members)
    results = sorted(
        finish_time(graph, [e * rng.choice(rates) for e in estimates], slots, members, workers)
        for _ in range(trials)
    )
    p50, p85 = percentile(results, 50), percentile(results, 85)
    return {
        **base, "available": True, "p50_hours": round(p50, 2), "p85_hours": round(p85, 2),
        "p50_at": _stamp(now + dt.timedelta(hours=p50)), "p85_at": _stamp(now + dt.timedelta(hours=p85)),
    }


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
