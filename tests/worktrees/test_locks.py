"""Locks: one holder per worktree under real concurrent processes, stale holders recovered, releases."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.worktrees.conftest import SESSION, cli, cli_json, events, git, seed, state

WORKERS = 6
# Each worker imports everything first, then waits for the go file, so the assignments really race.
WORKER = """
import os, sys, time
from orchestra.cli import main
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.001)
sys.exit(main(sys.argv[2:]))
"""


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def killed_session() -> dict:
    """A session whose Claude Code process is gone: the fields SessionStart notes, of a process that exited."""
    from orchestra import liveness

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return {"id": SESSION, **liveness.this_process(), "pid": proc.pid, "pid_started": None}


def run_record(agent_id: str, status: str = "active", session: str = SESSION) -> dict:
    return {"id": agent_id, "agent_type": "fullstack-eng", "status": status, "session_id": session,
            "started_at": ago(seconds=5)}


def race(repo: Path, argvs: list[list[str]]) -> list[subprocess.CompletedProcess]:
    go = repo.parent / "go"
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(repo)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(go), *argv], cwd=repo, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for argv in argvs]
    time.sleep(1.0)  # let every worker finish importing
    go.write_text("go")
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


@pytest.mark.slow
def test_concurrent_assignments_give_the_worktree_to_exactly_one_run(repo: Path) -> None:
    seed(repo, **{"tasks.t-1": {"title": "one"}, **{f"agents.a{i}": run_record(f"a{i}") for i in range(WORKERS)}})
    results = race(repo, [["worktree", "assign", "t-1", "--agent", f"a{i}", "--session", SESSION, "--json"]
                          for i in range(WORKERS)])

    winners = [i for i, r in enumerate(results) if r.returncode == 0]
    assert len(winners) == 1, [(r.returncode, r.stderr) for r in results]
    winner = f"a{winners[0]}"
    for loser in (r for r in results if r.returncode != 0):
        assert f"is held by run {winner}" in loser.stderr and "two runs never share a worktree" in loser.stderr
    record = state(repo, "worktrees.task-t-1")
    assert record["lock"]["agent_id"] == winner and record["lock"]["session_id"] == SESSION
    assert state(repo, f"agents.{winner}.worktree") == record["path"]
    assert all(state(repo, f"agents.a{i}.worktree") is None for i in range(WORKERS) if f"a{i}" != winner)
    assert len(events(repo, "worktree_locked")) == 1
    assert len(events(repo, "worktree_created")) == 1  # the creators queued on one `git worktree add`
    assert git(repo, "worktree", "list", "--porcelain").count("/.worktrees/task-t-1\n") == 1


@pytest.mark.slow
def test_concurrent_creation_of_one_scope_makes_one_worktree(repo: Path) -> None:
    results = race(repo, [["worktree", "create", "qa", "--strategy", "team", "--json"] for _ in range(4)])
    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
    assert git(repo, "worktree", "list", "--porcelain").count("/.worktrees/team-qa-work\n") == 1
    assert len(state(repo, "worktrees")) == 1


def locked(repo: Path, lock: dict, **records) -> None:
    seed(repo, **records)
    cli_json(repo, "worktree", "create", "t-1")
    seed(repo, **{"worktrees.task-t-1.lock": {"agent_id": None, "delegation": None, "session_id": SESSION,
                                              "task": "t-1", "by": "delegation", "acquired_at": ago(seconds=30),
                                              **lock}})


@pytest.mark.parametrize(("lock", "records", "why"), [
    ({"agent_id": "r1"}, {"agents.r1": run_record("r1"), f"sessions.{SESSION}": {"id": SESSION, "ended_at": ago()}},
     f"session {SESSION} ended"),
    ({"agent_id": "r1"}, {"agents.r1": run_record("r1", status="completed")}, "run r1 is completed"),
    ({"agent_id": "r1"}, {"agents.r1": run_record("r1", status="stopped")}, "run r1 is stopped"),
    ({"agent_id": "r1", "acquired_at": ago(hours=9)}, {"agents.r1": run_record("r1")}, "past lock_ttl_seconds 28800"),
    ({"delegation": "toolu_old"}, {"delegations.toolu_old": {"id": "toolu_old", "status": "pending",
                                                             "requested_at": ago(minutes=20)}},
     "delegation toolu_old never started"),
    ({"delegation": "toolu_late"}, {"delegations.toolu_late": {"id": "toolu_late", "status": "linked",
                                                               "agent_id": "r1"},
                                    "agents.r1": run_record("r1", status="blocked")}, "run r1 is blocked"),
    ({"agent_id": "r1"}, {"agents.r1": run_record("r1"), f"sessions.{SESSION}": killed_session()},
     f"session {SESSION} is gone (its Claude Code process was killed)"),
], ids=["session-ended", "run-completed", "run-stopped", "ttl", "never-started", "via-delegation", "session-killed"])
def test_a_stale_lock_is_recovered_by_the_next_taker(repo: Path, lock, records, why) -> None:
    locked(repo, lock, **records, **{"tasks.t-1": {"title": "one"}, "agents.r2": run_record("r2")})
    listed = cli_json(repo, "worktree", "list")[0]["lock"]
    assert listed["live"] is False and why in listed["stale"]
    assert "[stale: " in cli(repo, "worktree", "list").stdout

    taken = cli_json(repo, "worktree", "assign", "t-1", "--agent", "r2", "--session", SESSION)
    assert taken["lock"]["agent_id"] == "r2"
    assert why in taken["last_lock"]["why"] and taken["last_lock"]["agent_id"] == lock.get("agent_id")
    [event] = events(repo, "worktree_locked")
    assert why in event["data"]["recovered"] and event["agent_id"] == "r2"


def test_a_live_holder_keeps_its_worktree(repo: Path) -> None:
    locked(repo, {"agent_id": "r1"}, **{"tasks.t-1": {"title": "one"}, "agents.r1": run_record("r1")})
    proc = cli(repo, "worktree", "assign", "t-1", "--agent", "r2", "--session", SESSION)
    assert proc.returncode == 1 and f"held by run r1 (task t-1, session {SESSION})" in proc.stderr
    assert state(repo, "worktrees.task-t-1.lock.agent_id") == "r1"
    again = cli_json(repo, "worktree", "assign", "t-1", "--agent", "r1", "--session", SESSION)  # same owner: fine
    assert again["lock"]["agent_id"] == "r1"
    refused = cli(repo, "worktree", "remove", "task-t-1", "--force")
    assert refused.returncode == 1 and "is held by run r1" in refused.stderr
    assert (repo / ".worktrees" / "task-t-1").is_dir()


def test_release_by_name_and_by_session(repo: Path) -> None:
    seed(repo, **{"tasks.t-1": {"title": "one"}, "tasks.t-2": {"title": "two"}, "tasks.t-3": {"title": "three"}})
    cli_json(repo, "worktree", "assign", "t-1", "--session", "s-a")
    cli_json(repo, "worktree", "assign", "t-2", "--session", "s-a")
    cli_json(repo, "worktree", "assign", "t-3", "--session", "s-b")
    assert "a human via `orchestra worktree assign`" in cli(repo, "worktree", "list").stdout

    assert cli_json(repo, "worktree", "release", "task-t-3")["lock"] is None
    assert cli_json(repo, "worktree", "release", "--session", "s-a") == {"released": ["task-t-1", "task-t-2"]}
    assert all(r["lock"] is None for r in cli_json(repo, "worktree", "list"))
    assert len(events(repo, "worktree_released")) == 3
    both = cli(repo, "worktree", "release", "task-t-1", "--session", "s-a")
    assert both.returncode == 1 and "not both" in both.stderr
