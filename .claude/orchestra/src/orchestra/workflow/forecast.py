"""Monte Carlo completion forecast: how long the remaining tasks take, drawn from past cycle times.

Each trial gives every remaining task a duration of (its estimate) x (hours per point of a past
task drawn at random), then runs the tasks in dependency order on parallel workers: `slots` of them,
or per team when `slots` maps each team to its limit (a team's tasks run only on its own workers),
and no member runs more tasks at once than `members` gives as its capacity.
The 50th and 85th percentiles of the trials' finish times are the forecast. Same seed, same answer.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from collections.abc import Mapping
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


def finish_time(graph: TaskGraph, durations: list[float], slots: Slots,
                members: Mapping[str, int] | None = None) -> float:
    """Makespan of list scheduling: tasks in topological order, each on the earliest free worker (of
    its team, when `slots` is per team, and of its assignee, when `members` gives the assignee's
    capacity) once its dependencies have finished."""
    finish = [0.0] * len(graph)
    if isinstance(slots, Mapping):
        pools = {team: [0.0] * max(1, n) for team, n in slots.items()}
        pool_of = [pools.setdefault(node.team, [0.0]) for node in graph.nodes]
    else:
        shared = [0.0] * max(1, slots)
        pool_of = [shared] * len(graph)
    people = {name: [0.0] * max(1, n) for name, n in (members or {}).items()}
    person_of = [people.get(node.assignee) if node.assignee else None for node in graph.nodes]
    for i in graph.order:
        ready = max((finish[p] for p in graph.preds[i]), default=0.0)
        workers, person = pool_of[i], person_of[i]
        free = max(heapq.heappop(workers), heapq.heappop(person) if person is not None else 0.0)
        finish[i] = max(free, ready) + durations[i]
        heapq.heappush(workers, finish[i])
        if person is not None:
            heapq.heappush(person, finish[i])
    return max(finish, default=0.0)


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
    results = sorted(
        finish_time(graph, [e * rng.choice(rates) for e in estimates], slots, members) for _ in range(trials)
    )
    p50, p85 = percentile(results, 50), percentile(results, 85)
    return {
        **base, "available": True, "p50_hours": round(p50, 2), "p85_hours": round(p85, 2),
        "p50_at": _stamp(now + dt.timedelta(hours=p50)), "p85_at": _stamp(now + dt.timedelta(hours=p85)),
    }


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
