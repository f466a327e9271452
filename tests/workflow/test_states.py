"""The sprint state machine: every (from, to) pair, task consistency, and automatic blocking."""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestra.models import SPRINT_STATUSES, TASK_STATUSES, IllegalTransition
from orchestra.store import open_store
from orchestra.workflow import states

# The machine, written out independently of models.SPRINT_TRANSITIONS:
# Planning -> Ready -> Active -> Review -> Complete, Review -> Planning, Active <-> Blocked,
# plus Ready -> Planning (take a loaded sprint back to edit it before it starts).
LEGAL = {
    ("planning", "ready"), ("ready", "active"), ("ready", "planning"), ("active", "review"),
    ("active", "blocked"), ("blocked", "active"), ("review", "complete"), ("review", "planning"),
}


@pytest.fixture
def store(tmp_path: Path):
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as s:
        yield s


def put_sprint(store, status: str, tasks: dict[str, str] | None = None) -> None:
    with store.transaction() as tx:
        tx.set("sprints.s1", {"status": status, "history": []})
        for task_id, task_status in (tasks or {}).items():
            tx.set(f"tasks.{task_id}", {"sprint": "s1", "status": task_status, "dependencies": []})


@pytest.mark.parametrize("current", SPRINT_STATUSES)
@pytest.mark.parametrize("wanted", SPRINT_STATUSES)
def test_every_transition(store, current: str, wanted: str) -> None:
    put_sprint(store, current)
    if current == wanted or (current, wanted) in LEGAL:
        with store.transaction() as tx:
            states.transition(tx, "s1", wanted, "test")
        assert store.get("sprints.s1.status") == wanted
        events = store.events_after(0, 100, ("sprint_status",))
        assert len(events) == (0 if current == wanted else 1)  # re-entering is a no-op
        if events:
            assert events[0]["data"] == {"sprint": "s1", "from": current, "to": wanted, "reason": "test"}
            assert store.get("sprints.s1.history")[-1]["from"] == current
    else:
        with pytest.raises(IllegalTransition) as info, store.transaction() as tx:
            states.transition(tx, "s1", wanted)
        legal = sorted(to for frm, to in LEGAL if frm == current)
        assert f"legal next states: {', '.join(legal) or 'none (final state)'}" in str(info.value)
        assert store.get("sprints.s1.status") == current
        assert store.events_after(0, 100) == []


def test_unknown_status_and_unknown_sprint_are_refused(store) -> None:
    put_sprint(store, "active")
    with pytest.raises(ValueError, match="unknown status 'done'"), store.transaction() as tx:
        states.transition(tx, "s1", "done")
    with pytest.raises(ValueError, match="sprint s2: not in state; load it first"), store.transaction() as tx:
        states.transition(tx, "s2", "ready")


@pytest.mark.parametrize("sprint_status", SPRINT_STATUSES)
@pytest.mark.parametrize("task_status", TASK_STATUSES)
def test_task_states_each_sprint_state_allows(sprint_status: str, task_status: str) -> None:
    allowed = {
        "planning": {"queued", "completed", "cancelled"},
        "ready": {"queued", "completed", "cancelled"},
        "active": set(TASK_STATUSES),
        "blocked": set(TASK_STATUSES),
        "review": set(TASK_STATUSES) - {"assigned", "in_progress"},
        "complete": {"completed", "cancelled"},
    }[sprint_status]
    bad = states.inconsistent_tasks(sprint_status, [{"id": "t", "status": task_status}])
    assert (bad == []) == (task_status in allowed)


def test_review_refused_while_work_runs_naming_the_tasks(store) -> None:
    put_sprint(store, "active", {"t1": "in_progress", "t2": "completed", "t3": "assigned"})
    with pytest.raises(states.InconsistentTasks) as info, store.transaction() as tx:
        states.transition(tx, "s1", "review")
    assert "t1 (in_progress), t3 (assigned)" in str(info.value)
    assert store.get("sprints.s1.status") == "active"


def test_task_status_checked_against_its_sprint(store) -> None:
    put_sprint(store, "ready", {"t1": "queued"})
    with store.snapshot() as tx:
        task = tx.get("tasks.t1")
        with pytest.raises(states.InconsistentTasks, match="sprint s1 is ready; start it first"):
            states.check_task_status(tx, task, "in_progress")
        states.check_task_status(tx, task, "cancelled")  # allowed
        states.check_task_status(tx, {"id": "loose", "sprint": None}, "in_progress")  # no sprint, no rule


def test_stuck_sprint_blocks_itself_and_unblocks_when_a_blocker_clears(store) -> None:
    with store.transaction() as tx:
        tx.set("sprints.s1", {"status": "active", "history": []})
        tx.set("tasks.a", {"sprint": "s1", "status": "blocked", "dependencies": []})
        tx.set("tasks.b", {"sprint": "s1", "status": "queued", "dependencies": ["a"]})
        tx.set("tasks.c", {"sprint": "s1", "status": "completed", "dependencies": []})
    with store.transaction() as tx:
        assert states.sync_blocked(tx, "s1") == "blocked"
    assert store.get("sprints.s1.status") == "blocked"
    with store.transaction() as tx:
        assert states.sync_blocked(tx, "s1") is None  # still stuck: no change
        tx.update("tasks.a", {"status": "queued"})
        assert states.sync_blocked(tx, "s1") == "active"
    assert store.get("sprints.s1.status") == "active"


def test_sprint_with_ready_work_is_not_stuck() -> None:
    tasks = [{"id": "a", "status": "blocked"}, {"id": "b", "status": "queued", "dependencies": []}]
    assert not states.is_stuck(tasks)
    assert not states.is_stuck([{"id": "a", "status": "blocked"}, {"id": "b", "status": "in_progress"}])
    assert states.is_stuck([{"id": "a", "status": "blocked"}])
    assert not states.is_stuck([{"id": "a", "status": "queued"}])


def test_sprint_blocked_by_hand_stays_blocked(store) -> None:
    put_sprint(store, "active", {"a": "queued"})
    with store.transaction() as tx:
        states.transition(tx, "s1", "blocked", "waiting for the payment provider's sandbox")
        assert states.sync_blocked(tx, "s1") is None
    assert store.get("sprints.s1.status") == "blocked"
