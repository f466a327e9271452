"""A task finished by hand (the MCP tool update_task or `orchestra task set-status`) while its agent still runs:
the hooks go on recording what the agent does and reports, and none of them is refused, though the same
completion asked for by hand a second time is."""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestra.lifecycle import Unchanged, set_status
from orchestra.store import open_store

from tests.conftest import run_hook
from tests.hooks.test_delegation import fixture_events, script_for, seed_sprint3, transcripts_for, write_teams
from tests.unit.test_lifecycle_cli import orchestra


def by_hand(project: Path, status: str) -> None:
    """What update_task does for the main thread: `set_status` with the caller's id."""
    with open_store(root=project) as store, store.transaction() as tx:
        set_status(tx, "task-3", status, by="main")


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_the_member_reporting_after_its_task_was_finished_by_hand_is_recorded(project: Path, status: str) -> None:
    write_teams(project)
    seed_sprint3(project)
    events = fixture_events("nested-delegation.jsonl", project)
    transcripts_for(events, project)
    first_stop = [e["hook_event_name"] for e in events].index("SubagentStop")
    for index, event in enumerate(events):
        if index == first_stop:
            by_hand(project, status)
        if (script := script_for(event)) is not None:
            proc = run_hook(script, event, project)
            assert proc.returncode == 0, (script, proc.stderr)
            assert "Traceback" not in proc.stderr.decode(), (script, proc.stderr)
    with open_store(root=project) as store, store.snapshot() as tx:
        task = tx.get("tasks.task-3")
        runs = tx.find("agents", task="task-3")
    assert task["status"] == status  # the hand's word stands
    assert runs and all(run.get("ended_at") for run in runs), runs  # and the run's end is recorded
    with pytest.raises(Unchanged, match=f"task task-3 is already {status}; nothing was changed"):
        by_hand(project, status)
    cli = orchestra(project, "task", "set-status", "task-3", status)
    assert cli.returncode != 0 and f"task task-3 is already {status}; nothing was changed" in cli.stderr, cli.stderr
