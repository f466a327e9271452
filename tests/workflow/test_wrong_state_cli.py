"""The CLI refuses work in the wrong state with the words the MCP tools use (`tests/mcp/test_wrong_state.py`):
a status the task already has, reports, delegations, worktrees and handoffs for finished tasks. Each refusal
exits non-zero, says what and where on stderr, and writes nothing (the whole state and the event log are
compared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orchestra.cli import main
from orchestra.store import open_store


def add_task(task_id: str, status: str, **fields) -> None:
    with open_store() as store, store.transaction() as tx:
        tx.set(f"tasks.{task_id}", {"id": task_id, "title": task_id, "status": status, **fields})


def snapshot(capsys) -> tuple[dict, list]:
    assert main(["state", "export"]) == 0
    document = json.loads(capsys.readouterr().out)
    with open_store() as store, store.snapshot() as tx:
        events = tx.events_after(0, limit=1_000_000)
    return document, events


def refused(capsys, *argv: str) -> str:
    """Run the CLI; it must fail, change nothing, and say why on stderr (returned)."""
    capsys.readouterr()
    before = snapshot(capsys)
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code != 0, (argv, out)
    assert snapshot(capsys) == before, argv
    return err


@pytest.fixture
def cli(sample: Path, capsys) -> Path:
    capsys.readouterr()
    return sample


def test_set_status_to_the_status_a_task_has_is_refused_and_reopens_no_review(cli, capsys):
    add_task("same-1", "completed")
    err = refused(capsys, "task", "set-status", "same-1", "completed")
    assert "task same-1 is already completed; nothing was changed" in err, err
    add_task("same-2", "cancelled")
    assert "task same-2 is already cancelled" in refused(capsys, "task", "set-status", "same-2", "cancelled")
    add_task("same-3", "in_progress")
    assert "task same-3 is already in_progress" in refused(capsys, "task", "set-status", "same-3", "in_progress")


def test_a_new_reason_for_a_blocked_task_is_kept_and_the_same_status_alone_is_refused(cli, capsys):
    add_task("same-4", "blocked", blocker="waiting for keys")
    assert main(["task", "set-status", "same-4", "blocked", "--reason", "waiting for the vendor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["blocker"] == "waiting for the vendor"
    assert "task same-4 is already blocked" in refused(capsys, "task", "set-status", "same-4", "blocked")


def test_delegating_a_finished_task_is_refused(cli, capsys):
    for task_id, status in (("fin-3", "cancelled"), ("fin-4", "completed")):
        add_task(task_id, status)
        err = refused(capsys, "task", "delegate", task_id)
        assert f"task {task_id} is {status}; there is no work to delegate" in err, err
        assert f"orchestra task set-status {task_id} queued" in err, err


def test_a_completed_task_of_a_repeatable_type_is_delegated_again(cli, capsys):
    add_task("orch-1", "completed", type="orchestration", team="engineering")
    assert main(["task", "delegate", "orch-1", "--json"]) == 0
    assert "[task:orch-1]" in json.loads(capsys.readouterr().out)["prompt"]


def test_a_worktree_for_a_finished_task_is_refused_before_it_is_made(cli, capsys):
    add_task("fin-5", "cancelled")
    err = refused(capsys, "worktree", "assign", "fin-5")
    assert "task fin-5 is cancelled; a worktree is for work under way" in err, err
    assert not (cli / ".worktrees").exists()


def test_a_handoff_to_a_finished_task_is_refused(cli, capsys):
    add_task("fin-7", "cancelled", assignee="backend-engineer")
    err = refused(capsys, "msg", "handoff", "tech-lead", "docs/api.md", "--task", "fin-7")
    assert "task fin-7 is cancelled; nobody works on it to receive artifacts" in err, err


def test_a_finished_task_hands_on_its_own_work(cli, capsys):
    """`msg handoff TO --task T` without paths (as /msg:handoff runs it) hands on T's own artifacts; T being done
    is what makes them ready."""
    add_task("done-1", "completed", artifacts=["docs/api.md"])
    assert main(["msg", "handoff", "tech-lead", "--task", "done-1", "--json"]) == 0
    sent = json.loads(capsys.readouterr().out)
    assert (sent["task"], sent["payload"]["artifacts"], sent["payload"]["from_task"]) == (
        "done-1", ["docs/api.md"], "done-1")
    assert main(["msg", "handoff", "tech-lead", "docs/api.md", "--task", "done-1", "--from-task", "done-1"]) == 0
