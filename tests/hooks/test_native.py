"""Native agent-team events (TaskCreated, TaskCompleted, TeammateIdle) mirrored as events, linked when tagged."""

from __future__ import annotations

from pathlib import Path

from orchestra.store import open_store

from tests.conftest import hook_output, run_hook
from tests.hooks.test_delegation import seed, write_teams
from tests.hooks.test_gates import base


def native_events(project: Path) -> list[dict]:
    with open_store(root=project) as store:
        return [e for e in store.events_after(0, limit=1000) if e["type"].startswith("native_")]


def test_tagged_native_tasks_link_to_ours(project: Path) -> None:
    write_teams(project)
    seed(project, {"task-3": {"title": "OAuth"}})
    created = {**base(project), "hook_event_name": "TaskCreated", "task_id": "7",
               "task_subject": "[task:task-3] wire the callback", "task_description": "details",
               "teammate_name": "alice", "team_name": "session-5e551011"}
    done = {**created, "hook_event_name": "TaskCompleted"}
    for script, event in (("task_created.py", created), ("task_created.py", created), ("task_completed.py", done)):
        proc = run_hook(script, event, project)
        assert proc.returncode == 0 and hook_output(proc) == {}, proc.stderr
    events = native_events(project)
    assert [e["type"] for e in events] == ["native_task_created", "native_task_created", "native_task_completed"]
    assert {e["task_id"] for e in events} == {"task-3"}
    assert events[0]["data"]["task_subject"] == "[task:task-3] wire the callback"
    with open_store(root=project) as store:
        assert store.get("tasks.task-3.native_tasks") == ["7"]


def test_untagged_native_tasks_and_idle_teammates_are_recorded_unlinked(project: Path) -> None:
    write_teams(project)
    created = {**base(project), "hook_event_name": "TaskCreated", "task_id": "8", "task_subject": "tidy up"}
    idle = {**base(project), "hook_event_name": "TeammateIdle", "teammate_name": "bob", "team_name": "session-x"}
    for script, event in (("task_created.py", created), ("teammate_idle.py", idle)):
        assert run_hook(script, event, project).returncode == 0
    events = native_events(project)
    assert [(e["type"], e["task_id"]) for e in events] == [("native_task_created", None),
                                                           ("native_teammate_idle", None)]
    assert events[1]["data"] == {"teammate_name": "bob", "team_name": "session-x"}
