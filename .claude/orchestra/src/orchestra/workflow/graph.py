"""The dependency graph of a piece of work: order, critical path, slack, waves under capacity, ready queue.

Pure and stdlib-only. Every function is linear or n·log n in tasks + dependencies, so a plan of
10,000 tasks stays well under a second (tests/bench/bench_workflow.py).
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..models import PRIORITY_RANK

# Sums of float estimates are compared with this tolerance, scaled by the plan length
# (0.1 + 0.2 != 0.3 in binary).
EPSILON = 1e-9
DEFAULT_TEAM_CAPACITY = 4


class GraphError(ValueError):
    """The graph is not a DAG over known ids; `ids` names the tasks involved, in order."""

    def __init__(self, message: str, ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.ids = tuple(ids)


class DuplicateIdError(GraphError):
    pass


class UnknownDependencyError(GraphError):
    def __init__(self, task: str, dependency: str) -> None:
        super().__init__(f"{task}: depends on unknown id {dependency!r}", (task, dependency))


class CycleError(GraphError):
    def __init__(self, cycle: Sequence[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(cycle) + " (each must finish before the next)", cycle)


@dataclass(frozen=True, slots=True)
class Node:
    """One unit of work as the graph sees it."""

    id: str
    estimate: float = 1.0
    dependencies: tuple[str, ...] = ()
    priority: str = "normal"
    team: str | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class Capacity:
    """How many tasks may run at once: per team, per assignee (member), and for unlisted teams."""

    teams: dict[str, int] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    default_team: int = DEFAULT_TEAM_CAPACITY

    def team_limit(self, team: str | None) -> int:
        return self.teams.get(team or "", self.default_team)

    def member_limit(self, member: str | None) -> float:
        return self.members.get(member, float("inf")) if member else float("inf")

    def ungated(self) -> Capacity:
        """These limits as work is spread while the capacity gate is off, which lets work named to a team or
        member of capacity 0 through: such a team or member takes one task at a time."""
        return Capacity({t: max(1, n) for t, n in self.teams.items()}, {m: max(1, n) for m, n in self.members.items()},
                        max(1, self.default_team))


@dataclass
class Pools:
    """Tasks that name nobody, each with the members (by name) any of whom may take it, and the work those
    members have in hand outside the plan: `busy` (what the capacity gate counts against each) and `load`
    (tasks and points in hand). `batches` gives each such task, wave by wave, to the member with room and the
    least load (in the first wave, work in hand; in every wave, the tasks that wave already gives each), then
    the first by name; `picks` records whom, and `hands` each member's (tasks, points, full) at that moment."""

    members: dict[str, Sequence[str]] = field(default_factory=dict)
    busy: dict[str, int] = field(default_factory=dict)
    load: dict[str, tuple[int, float]] = field(default_factory=dict)
    picks: dict[str, str] = field(default_factory=dict)
    hands: dict[str, list[tuple[str, int, float, bool]]] = field(default_factory=dict)


class _Places:
    """One wave's places: what it gives each member, beside the work outside the plan that holds some of
    them (`busy`) and weighs in the picks (`load`: tasks and points in hand)."""

    def __init__(self, limits: dict, busy: dict[str, int], load: dict[str, tuple[int, float]],
                 away: frozenset[str] = frozenset()) -> None:
        self.limits, self.busy, self.load, self.away = limits, busy, load, away  # away: no pick goes to them
        self.taken: dict[str | None, int] = {}
        self.spent: dict[str | None, float] = {}

    def free(self, member: str | None) -> bool:
        return member not in self.away and self.taken.get(member, 0) + self.busy.get(member, 0) < self.limits[member]

    def room(self, slot: str | tuple | None) -> bool:
        """Whether the wave can give one more task to the member, or (a pool) to any member of it."""
        if isinstance(slot, tuple):
            return any(map(self.free, slot))
        return self.taken.get(slot, 0) < self.limits[slot]

    def rank(self, member: str) -> tuple[int, float, str]:
        count, points = self.load.get(member, (0, 0.0))
        return count + self.taken.get(member, 0), points + self.spent.get(member, 0.0), member

    def give(self, member: str | None, estimate: float) -> None:
        self.taken[member] = self.taken.get(member, 0) + 1
        self.spent[member] = self.spent.get(member, 0.0) + estimate


class _Sharing:
    """Tasks that share a worktree (`worktree[i]`: its key, None for a worktree of its own) wait off the ready
    heaps, each group (worktree, team, slot) in a heap of its own: one task of a group at a time is ready (a better
    one that comes later joins it), and a wave that has placed a task of a worktree sets the others aside again.
    So a wave never looks at more tasks of a worktree than it has groups, however long the worktree's queue."""

    def __init__(self, worktree: list[Hashable | None] | None) -> None:
        self.worktree = worktree
        self.parked: dict[tuple, list[tuple]] = {}  # group -> heap of keys
        self.out: dict[tuple, int] = {}  # group -> how many of its tasks are on the ready heaps
        self.best: dict[tuple, tuple] = {}  # group -> the best key on the ready heaps, while known
        self.dirty: set[tuple] = set()
        self.used: set[Hashable] = set()  # the worktrees the wave being filled has given a task

    def park(self, key: tuple, place: tuple) -> bool:
        """Set a task aside if it shares a worktree (`place`: its team and slot); False: it has its own."""
        if self.worktree is None or (tree := self.worktree[key[-1]]) is None:
            return False
        group = (tree, *place)
        heapq.heappush(self.parked.setdefault(group, []), key)
        self.dirty.add(group)
        return True

    def expose(self, ready: dict) -> None:
        """Move each group's best waiting task to the ready heaps, unless a task as good is there already."""
        for group in self.dirty:
            heap, best = self.parked[group], self.best.get(group)
            if heap and (not self.out.get(group) or best is None or heap[0] < best):
                key = heapq.heappop(heap)
                heapq.heappush(ready.setdefault(group[1], {}).setdefault(group[2], []), key)
                self.out[group] = self.out.get(group, 0) + 1
                self.best[group] = key
        self.dirty.clear()

    def take(self, key: tuple, place: tuple) -> bool:
        """Whether the wave may take this task off the ready heaps: its worktree is its own, or no task of the
        wave has it yet (then it has now); if not, the task waits again."""
        if self.worktree is None or (tree := self.worktree[key[-1]]) is None:
            return True
        group = (tree, *place)
        self.out[group] -= 1
        if self.best.get(group) == key:
            del self.best[group]
        self.dirty.add(group)
        if tree in self.used:
            heapq.heappush(self.parked[group], key)
            return False
        self.used.add(tree)
        return True


class TaskGraph:
    """A validated DAG over nodes. Dependencies on ids in `done` count as satisfied and are dropped."""

    def __init__(self, nodes: Iterable[Node], done: Iterable[str] = ()) -> None:
        self.nodes: list[Node] = list(nodes)
        self.index: dict[str, int] = {}
        for i, node in enumerate(self.nodes):
            if node.id in self.index:
                raise DuplicateIdError(f"duplicate id {node.id!r}", (node.id,))
            self.index[node.id] = i
        finished = set(done) - set(self.index)
        self.preds: list[list[int]] = []
        self.succs: list[list[int]] = [[] for _ in self.nodes]
        for i, node in enumerate(self.nodes):
            preds = []
            for dep in dict.fromkeys(node.dependencies):
                j = self.index.get(dep)
                if j is None:
                    if dep in finished:
                        continue
                    raise UnknownDependencyError(node.id, dep)
                preds.append(j)
                self.succs[j].append(i)
            self.preds.append(preds)
        self.order: list[int] = self._topological_order()
        self._schedule()

    def __len__(self) -> int:
        return len(self.nodes)

    def _topological_order(self) -> list[int]:
        """Kahn's algorithm; ties broken by input order so the result is stable."""
        indegree = [len(p) for p in self.preds]
        heap = [i for i, d in enumerate(indegree) if d == 0]
        heapq.heapify(heap)
        order: list[int] = []
        while heap:
            i = heapq.heappop(heap)
            order.append(i)
            for j in self.succs[i]:
                indegree[j] -= 1
                if indegree[j] == 0:
                    heapq.heappush(heap, j)
        if len(order) < len(self.nodes):
            raise CycleError(self._a_cycle({i for i, d in enumerate(indegree) if d > 0}))
        return order

    def _a_cycle(self, stuck: set[int]) -> list[str]:
        """A concrete cycle among nodes Kahn's algorithm could not order, closed (first id repeated)."""
        # Every stuck node has a stuck predecessor, so walking predecessors must revisit a node.
        start = min(stuck)
        seen: dict[int, int] = {}
        path: list[int] = []
        node = start
        while node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = next(p for p in self.preds[node] if p in stuck)
        cycle = path[seen[node]:]
        cycle.reverse()  # predecessors were walked; print in dependency direction
        ids = [self.nodes[i].id for i in cycle]
        return [*ids, ids[0]]

    def _schedule(self) -> None:
        """Earliest start/finish forward, latest finish backward (unlimited parallelism)."""
        est = [max(e, 0.0) for e in (n.estimate for n in self.nodes)]
        self.estimates = est
        earliest_start = [0.0] * len(self.nodes)
        earliest_finish = [0.0] * len(self.nodes)
        for i in self.order:
            start = max((earliest_finish[p] for p in self.preds[i]), default=0.0)
            earliest_start[i] = start
            earliest_finish[i] = start + est[i]
        length = max(earliest_finish, default=0.0)
        latest_finish = [length] * len(self.nodes)
        tail = [0.0] * len(self.nodes)  # longest path from a node's start to the end, itself included
        for i in reversed(self.order):
            if self.succs[i]:
                latest_finish[i] = min(latest_finish[s] - est[s] for s in self.succs[i])
                tail[i] = est[i] + max(tail[s] for s in self.succs[i])
            else:
                tail[i] = est[i]
        self.earliest_start = earliest_start
        self.earliest_finish = earliest_finish
        self.length = length
        self.tail = tail
        self.tolerance = EPSILON * max(1.0, length)
        slack = (latest_finish[i] - est[i] - earliest_start[i] for i in range(len(self.nodes)))
        self.slack_of = [0.0 if s < self.tolerance else s for s in slack]

    def topological_order(self) -> list[str]:
        return [self.nodes[i].id for i in self.order]

    def slack(self) -> dict[str, float]:
        """How far each task can slip without lengthening the whole (0 on the critical path)."""
        return {self.nodes[i].id: self.slack_of[i] for i in range(len(self.nodes))}

    def critical_path(self) -> list[str]:
        """The longest chain by estimate, first task first, from a task with no dependencies to one nothing
        depends on (a 0-point milestone that ends the work, a release say, is on it). Ties go to the
        earlier-listed task."""
        if not self.nodes:
            return []
        tol = self.tolerance
        # a task finishing last with dependents has them finish last too (0 points): the chain goes on to one
        end = min(i for i in range(len(self.nodes)) if self.earliest_finish[i] >= self.length - tol
                  and not self.succs[i])
        path = [end]
        while self.preds[path[-1]]:
            node = path[-1]
            start = self.earliest_start[node]
            path.append(min(p for p in self.preds[node] if self.earliest_finish[p] >= start - tol))
        path.reverse()
        return [self.nodes[i].id for i in path]

    def _keys(self, first: frozenset[int] = frozenset()) -> list[tuple]:
        """Scheduling preference per task: pinned first, then priority, then longest remaining chain,
        then input order (the last element is the task's index)."""
        return [(i not in first, PRIORITY_RANK.get(node.priority, 2), -self.tail[i], i)
                for i, node in enumerate(self.nodes)]

    def batches(self, capacity: Capacity | None = None, first: Iterable[str] = (),
                held: Iterable[str] = (), pools: Pools | None = None, stop_after: int | None = None,
                gate: bool = True, shared: Mapping[str, Hashable] | None = None) -> list[list[str]]:
        """Waves of tasks that can run in parallel: every dependency sits in an earlier wave, and no
        wave holds more tasks of one team or one assignee than its capacity, nor two tasks of one worktree
        (`shared`: the tasks that share one, each with its key; tasks not in it have their own). `first` (e.g. tasks
        already running) go into the earliest wave their dependencies allow; `held` (blocked tasks,
        which cannot start now) leave the first wave's places to work that can, unless nothing can.
        A task of `pools` goes to whichever of its members has room, the least loaded first (`Pools`).
        With `stop_after`, only that many waves are made (the same as the first of all of them).
        Without `gate` (the capacity gate is off), work named to a team or member of capacity 0 is placed
        too, as if it took one task at a time (`staffing`); a pool's pick still passes over such members."""
        capacity = capacity or Capacity()
        pools = pools or Pools()
        idle = {self.index[t] for t in self.idle(capacity, pools, gate)}  # never placed, nor what waits on it
        away = frozenset() if gate else frozenset(m for m, n in capacity.members.items() if n == 0)
        capacity = capacity if gate else capacity.ungated()
        keys = self._keys(frozenset(self.index[t] for t in first if t in self.index))
        waiting = {self.index[t] for t in held if t in self.index}
        indegree = [len(p) for p in self.preds]
        slots: list = [tuple(pools.members[n.id]) if n.id in pools.members else n.assignee for n in self.nodes]
        member_limit = {m: capacity.member_limit(m) for s in slots for m in (s if isinstance(s, tuple) else (s,))}
        # team -> member (or pool: a tuple of members) -> heap of keys; a wave merges each team's heaps by their heads.
        ready: dict[str | None, dict[str | tuple | None, list[tuple]]] = {}

        sharing = _Sharing([shared.get(n.id) for n in self.nodes] if shared else None)

        def push(i: int) -> None:
            if not sharing.park(keys[i], (self.nodes[i].team, slots[i])):
                heapq.heappush(ready.setdefault(self.nodes[i].team, {}).setdefault(slots[i], []), keys[i])

        deferred = [i for i in range(len(self.nodes)) if indegree[i] == 0 and i in waiting and i not in idle]
        for i in range(len(self.nodes)):
            if indegree[i] == 0 and i not in waiting and i not in idle:
                push(i)
        waves: list[list[str]] = []
        placed = len(idle)
        outside = (pools.busy, pools.load)
        while placed < len(self.nodes) and (stop_after is None or len(waves) < stop_after):
            sharing.expose(ready)
            if deferred and (waves or not ready):  # held work joins from the second wave (or if alone)
                for i in deferred:
                    push(i)
                deferred = []
                sharing.expose(ready)
            sharing.used.clear()
            wave: list[int] = []
            # per assignee, across teams (tasks may name any team); work outside the plan counts in the first wave
            places = _Places(member_limit, *(outside if not waves else ({}, {})), away)
            for team in list(ready):
                members = ready[team]
                limit = capacity.team_limit(team)
                heads = [(heap[0], slot) for slot, heap in members.items() if heap and places.room(slot)]
                heapq.heapify(heads)
                count = 0
                while heads and count < limit:
                    _, slot = heapq.heappop(heads)
                    if not places.room(slot):  # a pool whose members the wave has filled since its head was pushed
                        continue
                    heap = members[slot]
                    key = heapq.heappop(heap)
                    i = key[-1]
                    if not sharing.take(key, (team, slot)):  # its worktree is this wave's already
                        if heap and places.room(slot):
                            heapq.heappush(heads, (heap[0], slot))
                        continue
                    wave.append(i)
                    count += 1
                    member = slot
                    if isinstance(slot, tuple):
                        member = min(filter(places.free, slot), key=places.rank)
                        pools.picks[self.nodes[i].id] = member
                        pools.hands[self.nodes[i].id] = [(m, *places.rank(m)[:2], not places.free(m)) for m in slot]
                    places.give(member, self.estimates[i])
                    if heap and places.room(slot):
                        heapq.heappush(heads, (heap[0], slot))
                for slot in [s for s, heap in members.items() if not heap]:
                    del members[slot]
                if not members:
                    del ready[team]
            if not wave and any(places.busy.values()):  # all of it waits on work outside the plan: plan as if it were done
                outside = ({}, {})
                continue
            if not wave:  # pragma: no cover - work no one takes (capacity 0) is set aside and the graph is acyclic
                raise GraphError("no task can be scheduled; check capacities")
            wave.sort(key=keys.__getitem__)
            waves.append([self.nodes[i].id for i in wave])
            placed += len(wave)
            for i in wave:
                for j in self.succs[i]:
                    indegree[j] -= 1
                    if indegree[j] == 0 and j not in idle:
                        push(j)
        return waves

    def without(self, ids: Iterable[str]) -> TaskGraph:
        """The graph of the other tasks; `ids` must hold every task that depends on one of them."""
        gone = set(ids)
        return TaskGraph([replace(n, dependencies=tuple(d for d in n.dependencies if d in self.index))
                          for n in self.nodes if n.id not in gone])

    def _unstaffed(self, node: Node, capacity: Capacity, pools: Pools) -> tuple[str, bool] | None:
        """Why the task's own team or member (every member of its pool) takes no work (capacity 0), and whether
        a delegation reaches it all the same while the capacity gate is off: everything but a pick among members
        who all take no work (a pick passes over them). None when someone takes it."""
        pool = tuple(pools.members.get(node.id, ()))
        members = pool or ((node.assignee,) if node.assignee else ())
        nobody = bool(pool) and all(capacity.member_limit(m) == 0 for m in pool)
        if node.team and capacity.team_limit(node.team) == 0:
            return f"team {node.team} takes no work (capacity 0)", not nobody
        if members and all(capacity.member_limit(m) == 0 for m in members):
            return f"{', '.join(members)} take{'s' if len(members) == 1 else ''} no work (capacity 0)", not nobody
        return None

    def staffing(self, capacity: Capacity, pools: Pools | None = None,
                 gate: bool = True) -> tuple[dict[str, str], dict[str, str]]:
        """The work no wave holds (`idle`), and, without `gate` (the capacity gate is off), the work waves hold
        although its team or member takes no work (capacity 0), each task with why it would otherwise be idle."""
        pools = pools or Pools()
        why: dict[str, str] = {}
        waived: dict[str, str] = {}
        for i in self.order:
            node = self.nodes[i]
            off = self._unstaffed(node, capacity, pools)
            if off and (gate or not off[1]):
                why[node.id] = off[0]
            elif waits := [self.nodes[p].id for p in self.preds[i] if self.nodes[p].id in why]:
                why[node.id] = f"waits for {', '.join(waits)}, which no one takes"
            elif off:
                waived[node.id] = off[0]
        return why, waived

    def idle(self, capacity: Capacity, pools: Pools | None = None, gate: bool = True) -> dict[str, str]:
        """Tasks no wave can hold, each with why: its team or its member (every member of its pool) takes no
        work (capacity 0), or it depends on such a task. Without `gate` (the capacity gate is off), only work
        no pick can go to (every member of its pool takes no work), and what depends on it."""
        return self.staffing(capacity, pools, gate)[0]

    def ready(self, done: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[str]:
        """Tasks whose dependencies are all in `done`, not done and not excluded (e.g. running),
        highest priority first, then least slack, then input order."""
        finished = set(done)
        skip = finished | set(exclude)
        out = [i for i, node in enumerate(self.nodes)
               if node.id not in skip and all(self.nodes[p].id in finished for p in self.preds[i])]
        out.sort(key=lambda i: (PRIORITY_RANK.get(self.nodes[i].priority, 2), self.slack_of[i], i))
        return [self.nodes[i].id for i in out]
