"""Who takes a task that names nobody, in a team that auto-assigns: of the members able to do it, the one
with the least work in hand, never one at its capacity.

Work in hand is what the capacity gate counts (`occupancy.live_attempts`: live runs and delegations waiting
to start) plus the open tasks assigned to the member (`assigned`, `in_progress`). Fewest tasks wins, then
fewest story points, then the name. `delegation_arguments` (delegate_task, `orchestra task delegate`) picks
with it, and `plan_sprint` spreads each wave over the same members in the same order (`graph.Pools`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from .config import load as lifecycle_config
from .ledger import Ledger
from .occupancy import live_attempts

CLAIMED = ("assigned", "in_progress")


class Workload(NamedTuple):
    """Per agent type: the capacity gate's (label, task) of each live run and waiting delegation (`running`),
    and the tasks in hand (`tasks`: those, and open tasks assigned to it); `estimates`: their story points."""

    running: dict[str, list[tuple[str, str]]]
    tasks: dict[str, set[str]]
    estimates: dict[str, float]
    gate: bool  # the capacity gate is on: a member at its capacity is never picked

    def hand(self, name: str, leave: Iterable[str] = ()) -> tuple[int, float]:
        """Tasks and points `name` has in hand, less the tasks in `leave` (those a plan counts itself)."""
        left = self.tasks.get(name, set()).difference(leave)
        return len(left), sum(self.estimates.get(t, 1.0) for t in left)

    def full(self, org, name: str) -> bool:
        """Whether the capacity gate would refuse `name` one more delegation (its own capacity)."""
        member = org.member(name)
        return self.gate and member is not None and len(self.running.get(name, ())) >= member.capacity


def workload(tx, org) -> Workload:
    """Everyone's work in hand now, read once (a plan picks for a whole wave from it)."""
    led, cfg = Ledger(tx, org), lifecycle_config(org)
    running: dict[str, list[tuple[str, str]]] = defaultdict(list)
    tasks: dict[str, set[str]] = defaultdict(set)
    for agent_type, key, label in live_attempts(led, cfg):
        task = (led.get("agents", key) or led.get("delegations", key) or {}).get("task") or key
        running[agent_type].append((label, task))
        tasks[agent_type].add(task)
    for status in CLAIMED:
        for task in tx.find("tasks", status=status):
            if task.get("assignee"):
                tasks[task["assignee"]].add(task["id"])
    estimates = {tid: float((tx.get(f"tasks.{tid}", None) or {}).get("estimate", 1.0) or 0.0)
                 for ids in tasks.values() for tid in ids}
    return Workload(dict(running), dict(tasks), estimates, cfg.capacity_gate)


def least_busy(org, task: dict[str, Any], pool: tuple[list[str], str], work: Workload) -> tuple[str, str]:
    """The member of `pool` (`views.auto_pool`: the names able to take `task`, and what makes them able) to give
    it to, and a line saying why. ValueError, naming each member's runs, when every one is at its capacity."""
    able, basis = pool
    off = {name for name in able if (member := org.member(name)) is not None and member.capacity == 0}
    free = [name for name in able if name not in off and not work.full(org, name)]
    if not free:
        team = f"team {task['team']}" if task.get("team") else "the teams"
        taken = "; ".join(f"{name} takes no work (capacity 0)" if name in off else
                          f"{name} takes {org.member(name).capacity} at once, running "
                          f"{', '.join(label for label, _ in work.running.get(name, ()))}" for name in able)
        raise ValueError(f"task {task['id']}: every member of {team} able to take it is at its capacity "
                         f"(teams.yaml): {taken}. Wait for one to report, or raise a member's capacity")
    chosen = min(free, key=lambda name: (*work.hand(name), name))
    hands = [(name, *work.hand(name), work.full(org, name)) for name in able]
    return chosen, picked_line(org, task, chosen, basis, hands)


def picked_line(org, task: dict[str, Any], chosen: str, basis: str,
                hands: list[tuple[str, int, float, bool]]) -> str:
    """Why `chosen` takes `task`: each able member's (name, tasks, points, at capacity) when it was picked."""
    def shown(name: str, count: int, points: float, full: bool) -> str:
        held = f"{count} task{'' if count == 1 else 's'}" + (f", {points:g} point{'' if points == 1 else 's'}"
                                                             if count else "")
        return f"{name} {held}" + (f", at its capacity of {org.member(name).capacity}" if full else "")

    team = f"team {task['team']}" if task.get("team") else "the teams"
    return (f"Orchestra picked {chosen} for this task: of the members of {team} {basis}, the one with the least "
            f"work in hand ({'; '.join(shown(*hand) for hand in hands)}).")
