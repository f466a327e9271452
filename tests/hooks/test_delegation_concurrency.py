"""Twenty delegations at once, each step as twenty simultaneous hook processes: nothing is lost or mixed up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from orchestra.store import open_store

from tests.conftest import hook_output, run_hook
from tests.hooks.test_delegation import seed, write_teams
from tests.hooks.test_gates import SESSION, pre, start, stop

N = 20


def all_at_once(script: str, events: list[dict], project: Path) -> list[dict]:
    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        procs = list(pool.map(lambda e: run_hook(script, e, project), events))
    for proc in procs:
        assert proc.returncode == 0, proc.stderr
    return [hook_output(p) for p in procs]


def roomy_teams(project: Path, capacity: int) -> None:
    write_teams(project)
    teams = project / ".claude" / "teams.yaml"
    teams.write_text(teams.read_text().replace("{name: fullstack-eng, role: team_member, capacity: 3}",
                                               f"{{name: fullstack-eng, role: team_member, capacity: {capacity}}}")
                     .replace("max_parallel_agents: 5", "max_parallel_agents: 30"))


@pytest.mark.slow
def test_twenty_simultaneous_delegations_are_all_tracked_to_the_end(project: Path) -> None:
    roomy_teams(project, N)
    seed(project, {f"t{i:02}": {"title": f"part {i}"} for i in range(N)})
    ids = [f"{i:02}" for i in range(N)]
    prompts = {i: f"[task:t{i}] build part {i}" for i in ids}

    outs = all_at_once("pre_agent.py", [pre(project, f"toolu_{i}", "fullstack-eng", prompts[i]) for i in ids], project)
    assert all("updatedInput" in o["hookSpecificOutput"] for o in outs)
    # SubagentStart can only guess which delegation a run belongs to (twenty of one type are waiting);
    # the transcripts' launch ids settle it at SubagentStop
    all_at_once("subagent_start.py", [start(project, f"agent-{i}", "fullstack-eng") for i in ids], project)
    stops = []
    for i in ids:
        event = stop(project, f"agent-{i}", "fullstack-eng", f"Built part {i}. STATUS: completed",
                     writes=[f"src/part_{i}.py"], prompt=prompts[i])
        Path(event["agent_transcript_path"]).with_name(f"agent-agent-{i}.meta.json").write_text(
            f'{{"toolUseId": "toolu_{i}"}}')
        stops.append(event)
    assert all_at_once("subagent_stop.py", stops, project) == [{}] * N

    with open_store(root=project) as store:
        doc = store.export()
        events = store.events_after(0, limit=100_000)
    for i in ids:
        task, run, delegation = doc["tasks"][f"t{i}"], doc["agents"][f"agent-{i}"], doc["delegations"][f"toolu_{i}"]
        assert (task["status"], task["agent_id"], task["artifacts"]) == ("completed", f"agent-{i}", [f"src/part_{i}.py"])
        assert (run["tool_use_id"], run["task"], run["link"]) == (f"toolu_{i}", f"t{i}", "definitive")
        assert delegation["agent_id"] == f"agent-{i}"
    assert doc["sessions"][SESSION]["child_agents"] == sorted(f"agent-{i}" for i in ids)
    assert sum(e["type"] == "task_completed" for e in events) == N
    assert len(doc["communication"]["messages"]) == N


@pytest.mark.slow
def test_twenty_simultaneous_delegations_respect_capacity_exactly(project: Path) -> None:
    roomy_teams(project, 5)
    seed(project, {f"t{i:02}": {"title": f"part {i}"} for i in range(N)})
    outs = all_at_once("pre_agent.py", [pre(project, f"toolu_{i:02}", "fullstack-eng", f"[task:t{i:02}] go")
                                        for i in range(N)], project)
    allowed = [o for o in outs if "updatedInput" in o["hookSpecificOutput"]]
    denied = [o["hookSpecificOutput"]["permissionDecisionReason"] for o in outs
              if o["hookSpecificOutput"].get("permissionDecision") == "deny"]
    assert len(allowed) == 5 and len(denied) == N - 5
    assert all("fullstack-eng is at its capacity of 5" in reason for reason in denied)
    with open_store(root=project) as store:
        assert len(store.get("delegations")) == 5
        assert sum(t["status"] == "assigned" for t in store.get("tasks").values()) == 5
