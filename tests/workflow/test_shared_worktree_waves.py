"""Waves never hold two tasks of one shared worktree (a team's, sprint's or epic's `worktree_strategy`): the
delegation gate locks a worktree to one run, so a wave launched at once would see all but one refused."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from orchestra.cli import main
from orchestra.workflow.graph import Capacity, Node, TaskGraph

from tests.conftest import hook_output, run_hook
from tests.workflow.conftest import with_sprint_committed
from tests.workflow.test_graph_properties import MEMBERS, TEAMS, capacities, dags
from tests.workflow.test_shared_worktree_plan import SPRINT as PRODUCT_SPRINT
from tests.worktrees.conftest import delegation

WORKTREES = ("team-eng", "sprint-1", None)


def test_three_tasks_of_one_team_worktree_take_three_waves() -> None:
    nodes = [Node(f"t{i}", team="eng") for i in range(3)]
    shared = {n.id: ("team", "eng") for n in nodes}
    assert TaskGraph(nodes).batches(Capacity(teams={"eng": 4}), shared=shared) == [["t0"], ["t1"], ["t2"]]
    assert TaskGraph(nodes).batches(Capacity(teams={"eng": 4})) == [["t0", "t1", "t2"]]


def test_work_in_a_shared_worktree_keeps_its_priority_order_and_leaves_room_to_others() -> None:
    nodes = [Node("low", priority="low", team="eng"), Node("crit", priority="critical", team="eng"),
             Node("own", team="eng"), Node("after", team="eng", dependencies=("crit",), priority="critical")]
    shared = {"low": ("team", "eng"), "crit": ("team", "eng"), "after": ("team", "eng")}
    waves = TaskGraph(nodes).batches(Capacity(teams={"eng": 2}), shared=shared)
    # the critical task takes the worktree first, its own-worktree neighbour fills the team's second place;
    # the critical follow-up goes before the low-priority task it overtook while waiting
    assert waves == [["crit", "own"], ["after"], ["low"]]


@settings(max_examples=200, deadline=None)
@given(dags(), capacities, st.data())
def test_no_wave_holds_two_tasks_of_one_shared_worktree(nodes: list[Node], capacity: Capacity, data) -> None:
    shared = {n.id: w for n in nodes if (w := data.draw(st.sampled_from(WORKTREES))) is not None}
    held = data.draw(st.sets(st.sampled_from([n.id for n in nodes]))) if nodes else set()
    waves = TaskGraph(nodes).batches(capacity, held=held, shared=shared)
    wave_of = {t: w for w, wave in enumerate(waves) for t in wave}
    assert sorted(wave_of) == sorted(n.id for n in nodes) and all(waves)
    by_id = {n.id: n for n in nodes}
    for node in nodes:
        assert all(wave_of[dep] < wave_of[node.id] for dep in node.dependencies)
    done: set[str] = set()
    for number, wave in enumerate(waves):
        used = [shared[t] for t in wave if t in shared]
        assert len(used) == len(set(used)), wave
        for team in TEAMS:
            assert sum(by_id[t].team == team for t in wave) <= capacity.team_limit(team)
        for member in MEMBERS[:3]:
            assert sum(by_id[t].assignee == member for t in wave) <= capacity.member_limit(member)
        for node in nodes:  # greedy: a ready task left out has no room in its team, member or worktree
            if node.id in done or node.id in wave or not set(node.dependencies) <= done:
                continue
            if number == 0 and node.id in held and not set(wave) <= held:
                continue
            team_full = sum(by_id[t].team == node.team for t in wave) >= capacity.team_limit(node.team)
            member_full = node.assignee is not None and sum(
                by_id[t].assignee == node.assignee for t in wave) >= capacity.member_limit(node.assignee)
            assert team_full or member_full or shared.get(node.id) in used, f"{node.id} could have joined {wave}"
        done |= set(wave)


SPRINT = PRODUCT_SPRINT + """  - {id: e1, title: E1, assignee: fullstack-eng}
  - {id: e2, title: E2, assignee: fullstack-eng}
"""  # product's three tasks, and engineering's two


def waves(capsys) -> list[list[dict]]:
    assert main(["sprint", "plan", "sprint-9", "--json"]) == 0
    return [wave["tasks"] for wave in json.loads(capsys.readouterr().out)["batches"]]


def test_every_task_of_a_wave_is_taken_when_the_wave_is_launched_at_once(sample: Path, capsys, monkeypatch) -> None:
    # product works in one team worktree (`worktree_strategy: team`), engineering in one per task
    with_sprint_committed(sample, monkeypatch, "sprint-9", SPRINT)
    assert [[t["id"] for t in w] for w in waves(capsys)] == [["p1", "e1", "e2"], ["p2"], ["p3"]]  # before the start
    assert main(["sprint", "start", "sprint-9", "--json"]) == 0
    capsys.readouterr()

    first = waves(capsys)
    assert [[t["id"] for t in w] for w in first] == [["p1", "e1", "e2"], ["p2"], ["p3"]]
    assert all(t["agent"] is not None for t in first[0])
    assert first[1][0]["not_now"] == ("waits for its worktree team-product-work, which p1 takes first (two runs "
                                      "never share a worktree)")
    for task in first[0]:  # one message: every delegation of the wave before any of them starts
        event = delegation(sample, f"toolu_{task['id']}", task["agent"]["subagent_type"], task["id"])
        out = hook_output(run_hook("pre_agent.py", event, sample))
        assert "permissionDecision" not in out.get("hookSpecificOutput", {}), (task["id"], out)
