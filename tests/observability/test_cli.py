"""`orchestra metrics` and `orchestra events tail [-f]` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from orchestra.cli import main

from tests.conftest import REPO
from tests.observability.harness import started_sprint, work


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_metrics_json_and_text(store, capsys: pytest.CaptureFixture) -> None:
    started_sprint(store)
    code, out, _ = run(capsys, "metrics", "--json")
    data = json.loads(out)
    assert code == 0 and data["sprint"]["sprint"] == "sprint-3" and data["blocker_count"] == 1
    assert set(data) >= {"agent_count", "agent_utilization", "task_throughput", "average_task_time", "cycle_time",
                         "error_rate", "hook_latency", "blockers", "completion_rate", "velocity", "burndown",
                         "test_coverage", "build_success_rate"}
    code, out, _ = run(capsys, "metrics")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "sprint-3 Payments (active): 5 of 21 points done"
    assert "task time     mean 31 h, median 31 h over 1 tasks" in lines
    assert "coverage      —" in lines


def test_metrics_of_a_sprint_that_does_not_exist(store, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, "metrics", "--sprint", "sprint-9")
    assert code == 1 and out == "" and err.startswith("orchestra metrics: sprint 'sprint-9'")


def test_events_tail(store, capsys: pytest.CaptureFixture) -> None:
    started_sprint(store)
    code, out, _ = run(capsys, "events", "tail", "-n", "3")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[-1].split(None, 3)[2:] == ["task_blocked", "task-fraud-rules blocked"]
    code, out, _ = run(capsys, "events", "tail", "--json", "--type", "task_completed", "--type", "sprint_started")
    events = json.loads(out)
    assert [e["type"] for e in events] == ["sprint_started", "task_completed"]
    assert run(capsys, "events", "tail", "-n", "0")[1] == ""
    code, _, err = run(capsys, "events", "tail", "-n", "-2")
    assert code == 1 and "--lines -2" in err


def test_events_tail_follow_prints_new_events(store, sample: Path) -> None:
    started_sprint(store)
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(sample)}
    proc = subprocess.Popen(["uv", "run", "--quiet", "orchestra", "events", "tail", "-n", "1", "-f", "--json"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["type"] == "task_blocked"
        work(store, "task-2fa", "in_progress", "2026-12-04T10:00:00Z")
        work(store, "task-2fa", "completed", "2026-12-04T11:00:00Z")
        followed = [json.loads(proc.stdout.readline()) for _ in range(2)]
        assert [(e["type"], e["task_id"]) for e in followed] == [("task_started", "task-2fa"),
                                                                ("task_completed", "task-2fa")]
        assert followed[0]["id"] == first["id"] + 1
    finally:
        proc.terminate()
        proc.wait(30)
