"""Monte Carlo completion forecast: how long the remaining tasks take, drawn from past cycle times.

Each trial gives every remaining task a duration of (its estimate) x (hours per point of a past
task drawn at random), then runs the tasks on parallel workers as time passes, each free worker taking
the first task in dependency order that can start: `slots` workers, or per team when `slots` maps each
team to its limit (a team's tasks run only on its own workers), and no member runs more tasks at once
than `members` gives as its capacity. A task that names nobody (`pools`: the members able to take it, as
`lifecycle.views.auto_pool` gives them) goes, as delegation gives it, to one of them with a free place: the
one running the fewest tasks, then the first by name.
The 50th and 85th percentiles of the trials' finish times are the forecast. Same seed, same answer.

Unless asked for a number, the forecast runs `trial_count` trials: 2000, or fewer on a large sprint so that
trials x remaining tasks stays within TASK_TRIALS (at least MIN_TRIALS). A trial's cost grows with the tasks
left, and the spread of the finish time, relative to it, shrinks as 1/sqrt(tasks): the error of a percentile
drawn from n trials, relative to the finish time, goes as 1/sqrt(n x tasks), so holding that product keeps the
answer as precise as 2000 trials of a 100-task sprint.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .graph import TaskGraph

DEFAULT_TRIALS = None  # as many as `trial_count` gives
MOST_TRIALS = 2000
TASK_TRIALS = 200_000  # trials x remaining tasks: about half a second of CPU
MIN_TRIALS = 20


def trial_count(remaining: int, most: int = MOST_TRIALS) -> int:
    """Trials the forecast runs unless asked for a number: `most`, fewer once trials x `remaining` tasks would
    pass TASK_TRIALS (past 100 tasks left at 2000), never fewer than MIN_TRIALS."""
    return min(most, max(MIN_TRIALS, TASK_TRIALS // max(1, remaining)))


def hours_per_point(cycle_hours: dict[str, float], estimates: dict[str, float]) -> list[float]:
    """Past tasks' cycle time divided by their estimate (tasks estimated at 0 points tell nothing)."""
    return sorted(h / estimates[t] for t, h in cycle_hours.items() if estimates.get(t, 0) > 0)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


Slots = int | Mapping[str | None, int]
Pools = Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class Workers:
    """What every trial of one graph shares: each task's team pool and the members any of whom may take it
    (its assignee, or `pools`' members; None: no member's capacity bounds it), its place in topological order,
    the workers per team, the places per member, the takers' sets each member is in (and every such set), how many
    dependencies each task waits on, and the tasks that can start at once."""

    team_of: list[str | None]
    takers_of: list[tuple[str, ...] | None]
    rank: list[int]
    free: dict[str | None, int]
    places: dict[str, int]
    sets_of: dict[str, list[tuple[str, ...]]]
    sets: tuple[tuple[str, ...], ...]
    waiting: tuple[int, ...]
    first: list[tuple[int, int]]

    @classmethod
    def of(cls, graph: TaskGraph, slots: Slots, members: Mapping[str, int] | None = None,
           pools: Pools | None = None) -> Workers:
        per_team = isinstance(slots, Mapping)
        free = {t: max(1, n) for t, n in slots.items()} if per_team else {None: max(1, slots)}
        team_of = [node.team if per_team else None for node in graph.nodes]
        for team in team_of:
            free.setdefault(team, 1)
        places = {name: max(1, n) for name, n in (members or {}).items()}
        takers_of: list[tuple[str, ...] | None] = []
        for node in graph.nodes:
            able = tuple(pools[node.id]) if pools and node.id in pools else (node.assignee,)
            # a member the capacities do not name takes it with no bound: nothing holds the task back
            takers_of.append(able if able and all(m in places for m in able) else None)
        sets_of: dict[str, list[tuple[str, ...]]] = {name: [] for name in places}
        sets = tuple(dict.fromkeys(t for t in takers_of if t))
        for able in sets:
            for name in able:
                sets_of[name].append(able)
        rank = [0] * len(graph)
        for position, i in enumerate(graph.order):
            rank[i] = position
        return cls(team_of, takers_of, rank, free, places, sets_of, sets, tuple(len(p) for p in graph.preds),
                   [(rank[i], i) for i in range(len(graph)) if not graph.preds[i]])


def finish_time(graph: TaskGraph, durations: list[float], slots: Slots,
                members: Mapping[str, int] | None = None, workers: Workers | None = None,
                pools: Pools | None = None) -> float:
    """Makespan of list scheduling as time passes: whenever a worker is free (of its team, when `slots`
    is per team), it takes the first task in topological order whose dependencies have finished and
    of whose takers (its assignee, or the members of its pool), when `members` gives their capacities, one
    has a free place. A task that cannot start leaves its worker to one that can."""
    w = workers or Workers.of(graph, slots, members, pools)
    team_of, takers_of, rank, capacity, sets_of, succs = w.team_of, w.takers_of, w.rank, w.places, w.sets_of, graph.succs
    free, places = dict(w.free), dict(w.places)
    waiting = list(w.waiting)
    queues: dict[str | None, list[tuple[int, int]]] = {team: [] for team in free}
    held: dict[tuple[str, ...], list[tuple[int, int]]] = {able: [] for able in w.sets}  # those of each set with no place
    doer: list[str | None] = [None] * len(graph)
    for item in w.first:
        queues[team_of[item[1]]].append(item)
    for queue in queues.values():
        heapq.heapify(queue)
    push, pop = heapq.heappush, heapq.heappop
    running: list[tuple[float, int, int]] = []
    now = 0.0
    while True:
        for team, queue in queues.items():
            while queue and free[team]:
                item = pop(queue)
                able = takers_of[item[1]]
                if able is not None:
                    person = able[0]
                    if len(able) > 1:  # by name: the first of those with a free place running the fewest tasks
                        fewest = capacity[person] - places[person] if places[person] else None
                        for member in able:
                            if places[member] and (fewest is None or capacity[member] - places[member] < fewest):
                                person, fewest = member, capacity[member] - places[member]
                    if not places[person]:
                        push(held[able], item)
                        continue
                    places[person] -= 1
                    doer[item[1]] = person
                free[team] -= 1
                push(running, (now + durations[item[1]], *item))
        if not running:
            return now
        now, _, i = pop(running)
        free[team_of[i]] += 1
        person = doer[i]
        if person is not None:
            places[person] += 1
            for able in sets_of[person]:  # the place goes to the first task waiting for it, of each set it is in
                if held[able]:
                    push(queues[team_of[held[able][0][1]]], pop(held[able]))
        for j in succs[i]:
            waiting[j] -= 1
            if not waiting[j]:
                push(queues[team_of[j]], (rank[j], j))


def forecast(graph: TaskGraph, rates: list[float], slots: Slots, *, now: dt.datetime,
             trials: int | None = DEFAULT_TRIALS, seed: int = 0, members: Mapping[str, int] | None = None,
             pools: Pools | None = None, most: int = MOST_TRIALS) -> dict[str, Any]:
    """p50/p85 hours (and timestamps from `now`) to finish every task in `graph`; `pools`: the members able to
    take each task that names nobody. `trials`: how many to run, or None for `trial_count`'s (at most `most`)."""
    if trials is None:
        trials = trial_count(len(graph), most)
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
    workers = Workers.of(graph, slots, members, pools)
    choice = rng.choice
    results = sorted(
        finish_time(graph, [e * choice(rates) for e in estimates], slots, members, workers)
        for _ in range(trials)
    )
    p50, p85 = percentile(results, 50), percentile(results, 85)
    return {
        **base, "available": True, "p50_hours": round(p50, 2), "p85_hours": round(p85, 2),
        "p50_at": _stamp(now + dt.timedelta(hours=p50)), "p85_at": _stamp(now + dt.timedelta(hours=p85)),
    }


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
