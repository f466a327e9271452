"""Two machines, simulated as two checkouts in different directories sharing one PostgreSQL store:
what the real hook scripts record on one is what the other's CLI and dashboard show, and gates
that count across the team (member capacity) hold when both machines delegate at once."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from orchestra.store import open_store, postgres_audit

from tests.conftest import REPO, hook_output, run_hook
from tests.hooks.test_delegation import seed, write_teams
from tests.hooks.test_delegation_concurrency import roomy_teams
from tests.hooks.test_gates import launched, pre, start, stop
from tests.observability.harness import running_dashboard


def checkout(tmp_path: Path, name: str) -> Path:
    """One machine's clone of the project: its own directory, its own teams file."""
    root = tmp_path / f"machine {name}" / "acme shop"
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    (root / ".claude").mkdir()
    write_teams(root)
    return root


def hook(script: str, event: dict, machine: Path, url: str) -> dict:
    proc = run_hook(script, event, machine, env={"ORCHESTRA_STATE_URL": url})
    assert proc.returncode == 0, proc.stderr.decode()
    return hook_output(proc)


def cli(machine: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(machine), "ORCHESTRA_STATE_URL": url}
    return subprocess.run(["uv", "run", "--quiet", "--project", str(REPO), "orchestra", *args],
                          capture_output=True, text=True, cwd=machine, env=env, timeout=120)


def task_list(machine: Path, url: str) -> dict[str, dict]:
    proc = cli(machine, url, "task", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    return {row["id"]: row for row in json.loads(proc.stdout)}


def snapshot_showing(dashboard, wanted, what: str) -> dict:
    """The dashboard's /api/snapshot once `wanted(snapshot)` holds (it updates on its own)."""
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(f"{dashboard.url}api/snapshot", timeout=30) as response:
            state = json.loads(response.read())
        if wanted(state):
            return state
        assert time.monotonic() < deadline, f"the dashboard never showed {what}"
        time.sleep(0.05)


def test_a_delegation_on_one_machine_shows_in_the_others_status_and_dashboard(tmp_path: Path, pg_url: str) -> None:
    laptop, runner = checkout(tmp_path, "laptop"), checkout(tmp_path, "ci runner")
    seed(laptop, {"t1": {"title": "OAuth2 flow"}}, url=pg_url)
    prompt = "[task:t1] implement the OAuth2 flow"
    with running_dashboard(runner, store_url=pg_url) as dashboard:
        rewritten = hook("pre_agent.py", pre(laptop, "toolu_1", "fullstack-eng", prompt), laptop, pg_url)
        assert "updatedInput" in rewritten["hookSpecificOutput"]
        assert task_list(runner, pg_url)["t1"]["status"] == "assigned"

        hook("post_agent.py", launched(laptop, "toolu_1", "agent-1", "fullstack-eng", prompt), laptop, pg_url)
        hook("subagent_start.py", start(laptop, "agent-1", "fullstack-eng"), laptop, pg_url)
        event = stop(laptop, "agent-1", "fullstack-eng", "Done. STATUS: completed", writes=["src/oauth.py"],
                     prompt=prompt)
        Path(event["agent_transcript_path"]).with_name("agent-agent-1.meta.json").write_text('{"toolUseId": "toolu_1"}')
        assert hook("subagent_stop.py", event, laptop, pg_url) == {}

        seen = task_list(runner, pg_url)["t1"]
        assert (seen["status"], seen["agent_id"], seen["artifacts"]) == ("completed", "agent-1", ["src/oauth.py"])
        shown = cli(runner, pg_url, "task", "show", "t1")
        assert shown.returncode == 0 and "t1  completed  OAuth2 flow" in shown.stdout
        assert "run agent-1 fullstack-eng [completed]" in shown.stdout

        state = snapshot_showing(dashboard, lambda s: any(e["type"] == "task_completed" and e["task_id"] == "t1"
                                                          for e in s["events"]), "the completion")
        assert [t["id"] for t in state["queue"]["completed"]] == ["t1"]
        assert state["queue"]["completed"][0]["agent_id"] == "agent-1"
        # the runner's dashboard reads the laptop's hook lines from the shared audit chain
        state = snapshot_showing(dashboard, lambda s: s["metrics"]["audit_lines"] >= 4, "the laptop's audit lines")
        assert {"pre_agent", "subagent_stop"} <= set(state["metrics"]["hook_latency"]["by_hook"])
    # the state and the audit chain live only in the database, which says where each line came from
    for machine in (laptop, runner):
        assert not (machine / ".claude/state/orchestration.db").exists()
        assert not (machine / ".claude/state/audit.jsonl").exists()
    with open_store(pg_url) as store:
        assert postgres_audit.check(store).ok
        projects = {line["project"] for line in postgres_audit.tail(store, 1000) if line.get("hook")}
    assert str(laptop) in projects


@pytest.mark.slow
def test_capacity_holds_when_both_machines_delegate_at_once(tmp_path: Path, pg_url: str) -> None:
    capacity, per_machine = 3, 6
    machines = [checkout(tmp_path, "laptop"), checkout(tmp_path, "ci runner")]
    for machine in machines:
        roomy_teams(machine, capacity)
    seed(machines[0], {f"t{i:02}": {"title": f"part {i}"} for i in range(2 * per_machine)}, url=pg_url)
    calls = [(machine, pre(machine, f"toolu_{i:02}", "fullstack-eng", f"[task:t{i:02}] go"))
             for i, machine in enumerate(machines * per_machine)]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        outs = list(pool.map(lambda call: hook("pre_agent.py", call[1], call[0], pg_url), calls))
    allowed = [out for out in outs if "updatedInput" in out["hookSpecificOutput"]]
    denied = [out["hookSpecificOutput"]["permissionDecisionReason"] for out in outs
              if out["hookSpecificOutput"].get("permissionDecision") == "deny"]
    assert len(allowed) == capacity and len(denied) == len(calls) - capacity
    assert all(f"fullstack-eng is at its capacity of {capacity}" in reason for reason in denied)
    with open_store(pg_url) as store:
        assert len(store.get("delegations")) == capacity
        assert sum(t["status"] == "assigned" for t in store.get("tasks").values()) == capacity
        assigned = [e for e in store.events_after(0, limit=None) if e["type"] == "task_assigned"]
    assert len(assigned) == capacity
    # each machine decided its own calls, against the one shared count
    with open_store(pg_url) as store:
        assert postgres_audit.check(store).ok
        lines = postgres_audit.tail(store, 1000)
    decisions = [[line["decision"] for line in lines if line["project"] == str(machine)] for machine in machines]
    assert [len(d) for d in decisions] == [per_machine, per_machine]
    assert sum(d.count("deny") for d in decisions) == len(calls) - capacity
