"""Properties of the dependency graph on random DAGs: waves, capacity, critical path, slack, ready queue."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st
from orchestra.models import PRIORITIES, PRIORITY_RANK
from orchestra.workflow.graph import Capacity, Node, TaskGraph

TEAMS = ("eng", "qa", None)
MEMBERS = ("ann", "bob", "cy", None)
# Halves and integers add exactly in binary floating point, so "no path is longer" can be exact.
ESTIMATES = st.sampled_from([0, 0.5, 1, 2, 3, 5, 8, 13])


@st.composite
def dags(draw, max_size: int = 30):
    """Nodes 0..n-1 where each may depend on earlier ones (acyclic by construction), then shuffled."""
    n = draw(st.integers(0, max_size))
    nodes = []
    for i in range(n):
        deps = draw(st.sets(st.integers(0, i - 1), max_size=4)) if i else set()
        nodes.append(Node(
            id=f"t{i}", estimate=draw(ESTIMATES), dependencies=tuple(f"t{d}" for d in sorted(deps)),
            priority=draw(st.sampled_from(PRIORITIES)), team=draw(st.sampled_from(TEAMS)),
            assignee=draw(st.sampled_from(MEMBERS)),
        ))
    return draw(st.permutations(nodes))


capacities = st.builds(
    Capacity,
    teams=st.fixed_dictionaries({"eng": st.integers(1, 3), "qa": st.integers(1, 2)}),
    members=st.dictionaries(st.sampled_from(MEMBERS[:3]), st.integers(1, 2)),
    default_team=st.integers(1, 3),
)


def all_paths(nodes: list[Node]) -> list[list[str]]:
    """Every maximal dependency chain, by brute force (for small graphs)."""
    by_id = {n.id: n for n in nodes}
    dependents: dict[str, list[str]] = {n.id: [] for n in nodes}
    for n in nodes:
        for d in n.dependencies:
            dependents[d].append(n.id)

    @cache
    def from_(i: str) -> tuple[tuple[str, ...], ...]:
        if not dependents[i]:
            return ((i,),)
        return tuple((i, *rest) for j in dependents[i] for rest in from_(j))

    return [list(p) for n in nodes if not by_id[n.id].dependencies for p in from_(n.id)]


def length(path: list[str], nodes: list[Node]) -> float:
    est = {n.id: n.estimate for n in nodes}
    return sum(est[t] for t in path)


@settings(max_examples=200, deadline=None)
@given(dags(), capacities)
def test_batches_respect_every_dependency_and_capacity(nodes: list[Node], capacity: Capacity) -> None:
    waves = TaskGraph(nodes).batches(capacity)
    wave_of = {t: w for w, wave in enumerate(waves) for t in wave}
    assert sorted(wave_of) == sorted(n.id for n in nodes)  # every task exactly once
    assert sum(len(w) for w in waves) == len(nodes)
    by_id = {n.id: n for n in nodes}
    for node in nodes:
        for dep in node.dependencies:
            assert wave_of[dep] < wave_of[node.id], (dep, node.id)
    for wave in waves:
        assert wave, "no empty waves"
        for team in TEAMS:
            assert sum(1 for t in wave if by_id[t].team == team) <= capacity.team_limit(team)
        for member in MEMBERS[:3]:
            assert sum(1 for t in wave if by_id[t].assignee == member) <= capacity.member_limit(member)


@settings(max_examples=200, deadline=None)
@given(dags(), capacities, st.data())
def test_blocked_tasks_leave_the_first_wave_to_work_that_can_start(nodes: list[Node], capacity: Capacity,
                                                                    data) -> None:
    held = data.draw(st.sets(st.sampled_from([n.id for n in nodes]))) if nodes else set()
    waves = TaskGraph(nodes).batches(capacity, held=held)
    wave_of = {t: w for w, wave in enumerate(waves) for t in wave}
    assert sorted(wave_of) == sorted(n.id for n in nodes) and all(waves)
    for node in nodes:
        assert all(wave_of[dep] < wave_of[node.id] for dep in node.dependencies)
    if waves and not set(waves[0]) <= held:  # held work is in the first wave only when it is all there is
        assert not set(waves[0]) & held
    free = [n for n in nodes if not n.dependencies and n.id not in held]
    assert bool(free) == bool(waves and set(waves[0]) - held)


@settings(max_examples=200, deadline=None)
@given(dags(), capacities)
def test_a_wave_is_never_short_of_a_task_that_could_have_joined(nodes: list[Node], capacity: Capacity) -> None:
    """Greedy, not lazy: a task that is ready and whose team and member still have room is in the wave."""
    waves = TaskGraph(nodes).batches(capacity)
    by_id = {n.id: n for n in nodes}
    done: set[str] = set()
    for wave in waves:
        for node in nodes:
            if node.id in done or node.id in wave or not set(node.dependencies) <= done:
                continue
            team_full = sum(by_id[t].team == node.team for t in wave) >= capacity.team_limit(node.team)
            member_full = node.assignee is not None and sum(
                by_id[t].assignee == node.assignee for t in wave) >= capacity.member_limit(node.assignee)
            assert team_full or member_full, f"{node.id} could have joined {wave}"
        done |= set(wave)


@settings(max_examples=200, deadline=None)
@given(dags(max_size=12))
def test_critical_path_is_a_real_path_and_no_path_is_longer(nodes: list[Node]) -> None:
    graph = TaskGraph(nodes)
    path = graph.critical_path()
    if not nodes:
        assert path == [] and graph.length == 0
        return
    by_id = {n.id: n for n in nodes}
    assert not by_id[path[0]].dependencies, "a critical path starts at a task with no dependencies"
    assert not any(path[-1] in n.dependencies for n in nodes), "a critical path ends at a task nothing depends on"
    for before, after in zip(path, path[1:], strict=False):
        assert before in by_id[after].dependencies, f"{before} -> {after} is not a dependency"
    assert length(path, nodes) == graph.length
    assert max(length(p, nodes) for p in all_paths(nodes)) == graph.length


def test_a_zero_point_milestone_that_ends_the_work_is_on_the_critical_path() -> None:
    """A release of no points after everything else: slack 0, and the sprint is not done until it is. The
    path stopped at the longest task before it, so the plan marked the release not critical."""
    graph = TaskGraph([Node("api", 3), Node("docs", 1), Node("release", 0, ("api", "docs"))])
    assert graph.critical_path() == ["api", "release"] and graph.slack()["release"] == 0 and graph.length == 3


@settings(max_examples=200, deadline=None)
@given(dags(max_size=12))
def test_slack_is_never_negative_zero_on_the_critical_path_and_exact(nodes: list[Node]) -> None:
    graph = TaskGraph(nodes)
    slack = graph.slack()
    assert all(s >= 0 for s in slack.values())
    assert all(slack[t] == 0 for t in graph.critical_path())
    paths = all_paths(nodes)
    for node in nodes:
        through = max(length(p, nodes) for p in paths if node.id in p)
        assert slack[node.id] == graph.length - through, node.id


@settings(max_examples=200, deadline=None)
@given(dags(max_size=20), st.data())
def test_ready_queue_has_exactly_the_unblocked_tasks_by_priority(nodes: list[Node], data) -> None:
    graph = TaskGraph(nodes)
    order = graph.topological_order()
    done = set(order[: data.draw(st.integers(0, len(order)))])  # a prefix of a topological order
    ready = graph.ready(done=done)
    by_id = {n.id: n for n in nodes}
    expected = {n.id for n in nodes if n.id not in done and set(n.dependencies) <= done}
    assert set(ready) == expected and len(ready) == len(expected)
    ranks = [PRIORITY_RANK[by_id[t].priority] for t in ready]
    assert ranks == sorted(ranks)


@settings(max_examples=100, deadline=None)
@given(dags())
def test_topological_order_puts_dependencies_first(nodes: list[Node]) -> None:
    order = TaskGraph(nodes).topological_order()
    position = {t: i for i, t in enumerate(order)}
    assert len(order) == len(nodes)
    for node in nodes:
        assert all(position[d] < position[node.id] for d in node.dependencies)


@settings(max_examples=200, deadline=None)
@given(dags(), capacities, st.data())
def test_a_task_of_a_pool_goes_to_one_of_its_members_with_room_in_its_wave(nodes: list[Node], capacity: Capacity,
                                                                         data) -> None:
    """Tasks that name nobody (`Pools`) are given, wave by wave, to a member of their pool, and no member then
    holds more tasks of a wave than its capacity (its own tasks and those the wave gives it together)."""
    from orchestra.workflow.graph import Pools

    pooled = [n.id for n in nodes if n.assignee is None]
    pools = Pools(members={t: data.draw(st.lists(st.sampled_from(MEMBERS[:3]), min_size=1, max_size=3, unique=True))
                           for t in pooled})
    waves = TaskGraph(nodes).batches(capacity, pools=pools)
    by_id = {n.id: n for n in nodes}
    assert sorted(t for wave in waves for t in wave) == sorted(by_id)
    assert set(pools.picks) == set(pooled) and all(pools.picks[t] in pools.members[t] for t in pooled)
    for wave in waves:
        members = [pools.picks.get(t) or by_id[t].assignee for t in wave]
        for member in set(members) - {None}:
            assert members.count(member) <= capacity.member_limit(member), (member, wave)
        for team in {by_id[t].team for t in wave}:
            assert sum(by_id[t].team == team for t in wave) <= capacity.team_limit(team)
    # the first wave alone (what delegate_task makes) is the plan's first wave, with the same picks
    alone = Pools(members=pools.members)
    assert TaskGraph(nodes).batches(capacity, pools=alone, stop_after=1) == waves[:1]
    assert all(alone.picks[t] == pools.picks[t] for t in alone.picks) and set(alone.picks) <= set(sum(waves[:1], []))


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_with_the_capacity_gate_off_work_on_leave_is_placed_but_no_pick_goes_on_leave(nodes: list[Node], data) -> None:
    """Members and teams of capacity 0, the capacity gate off (`gate=False`): every task a delegation reaches is
    placed (work named to such a member or team one at a time, and named in `staffing`'s warnings); only work
    whose pool is all on leave, and what waits on it, stays idle; a pool's pick never goes to a member on leave.
    With the gate on, all work of a team or member of capacity 0 (and what waits on it) stays idle."""
    from orchestra.workflow.graph import Pools

    capacity = Capacity(teams={"eng": data.draw(st.integers(0, 2)), "qa": data.draw(st.integers(0, 2))},
                        members={m: data.draw(st.integers(0, 2)) for m in MEMBERS[:3]}, default_team=2)
    pooled = [n.id for n in nodes if n.assignee is None]
    members = {t: data.draw(st.lists(st.sampled_from(MEMBERS[:3]), min_size=1, max_size=3, unique=True)) for t in pooled}
    by_id = {n.id: n for n in nodes}
    graph = TaskGraph(nodes)
    on_leave = {m for m, n in capacity.members.items() if n == 0}
    nobody = {t for t in pooled if set(members[t]) <= on_leave}
    waits: set[str] = set()
    for t in graph.topological_order():
        if t in nobody or any(d in waits for d in by_id[t].dependencies):
            waits.add(t)
    idle, waived = graph.staffing(capacity, Pools(members=members), gate=False)
    assert set(idle) == waits
    off = {n.id for n in nodes if n.team and capacity.team_limit(n.team) == 0
           or (n.assignee in on_leave and n.id not in members)}
    assert set(waived) == off - waits
    pools = Pools(members=members)
    waves = graph.batches(capacity, pools=pools, gate=False)
    assert sorted(t for wave in waves for t in wave) == sorted(set(by_id) - waits)
    assert not on_leave & {pools.picks[t] for wave in waves for t in wave if t in pools.picks}
    strict_idle, strict_waived = graph.staffing(capacity, Pools(members=members))
    assert strict_waived == {} and set(strict_idle) >= waits | off
