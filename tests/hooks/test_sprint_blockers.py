"""A sprint blocks itself when every remaining task waits on a blocker, and goes back to active when one can go
on, whichever way its tasks got there: a member's `STATUS: blocked` at SubagentStop, SessionEnd settling a run
that never reported, `orchestra task set-status`, a new delegation. A sprint blocked by hand stays blocked until
`orchestra sprint unblock`.

Real hook scripts and the real CLI, each in its own process, on every store backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestra.store import open_store
from orchestra.workflow.states import STUCK

from tests.conftest import hook_output, run_hook
from tests.hooks.test_delegation import main_thread, script_for, seed, write_teams
from tests.hooks.test_gates import SESSION, launched, pre, start, stop
from tests.store.conftest import BACKENDS
from tests.unit.test_lifecycle_cli import ok_json, orchestra

OTHER_SESSION = "5e551011-0000-4000-8000-000000000002"


@pytest.fixture(params=sorted(BACKENDS))
def sprint(request: pytest.FixtureRequest, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Sprint s1, active: t1 and t2 can start, t3 waits on t1."""
    monkeypatch.setenv("ORCHESTRA_STATE_URL", BACKENDS[request.param](tmp_path))
    write_teams(project)
    seed(project, {"t1": {"title": "t1", "sprint": "s1", "team": "engineering"},
                   "t2": {"title": "t2", "sprint": "s1", "team": "engineering"},
                   "t3": {"title": "t3", "sprint": "s1", "team": "engineering", "dependencies": ["t1"]}},
         {"s1": {"name": "S1", "status": "active", "tasks": ["t1", "t2", "t3"], "history": [],
                 "started_at": "2026-12-01T00:00:00Z", "team_assignments": {"engineering": ["t1", "t2", "t3"]}}})
    return project


def hook(project: Path, event: dict, session: str = SESSION) -> dict:
    proc = run_hook(script_for(event), {**event, "session_id": session}, project)
    assert proc.returncode == 0, proc.stderr
    return hook_output(proc)


def delegate(project: Path, n: int, task: str, session: str = SESSION, prompt: str | None = None) -> None:
    prompt = prompt or f"[task:{task}] do it"
    out = hook(project, pre(project, f"toolu_{n}", "fullstack-eng", prompt), session)
    assert (out.get("hookSpecificOutput") or {}).get("permissionDecision") != "deny", out
    hook(project, launched(project, f"toolu_{n}", f"agent-{n}", "fullstack-eng", prompt), session)
    hook(project, start(project, f"agent-{n}", "fullstack-eng"), session)


def report_blocked(project: Path, n: int, task: str, why: str) -> None:
    hook(project, stop(project, f"agent-{n}", "fullstack-eng", f"STATUS: blocked\nBLOCKER: {why}",
                       prompt=f"[task:{task}] do it"))


def sprint_record(project: Path) -> dict:
    with open_store(root=project) as store:
        return store.get("sprints.s1")


def status(project: Path, task: str) -> str:
    with open_store(root=project) as store:
        return store.get(f"tasks.{task}.status")


def cli(project: Path, *args: str) -> dict:
    return ok_json(orchestra(project, *args, "--json"))


def test_the_last_member_reporting_blocked_blocks_the_sprint_as_set_status_does(sprint: Path) -> None:
    delegate(sprint, 1, "t1")
    delegate(sprint, 2, "t2")
    report_blocked(sprint, 1, "t1", "no sandbox key")
    assert sprint_record(sprint)["status"] == "active"  # t2 still runs
    report_blocked(sprint, 2, "t2", "the design is not signed off")
    assert (status(sprint, "t1"), status(sprint, "t2")) == ("blocked", "blocked")
    record = sprint_record(sprint)
    assert record["status"] == "blocked" and record["history"][-1]["reason"] == STUCK and not record.get("hold")
    shown = cli(sprint, "sprint", "status", "s1")
    assert shown["status"] == "blocked" and shown["hold"] is None  # blocked itself: not by hand

    cli(sprint, "task", "set-status", "t2", "queued")  # a blocker resolved: t2 can go on
    record = sprint_record(sprint)
    assert record["status"] == "active" and record["history"][-1]["reason"] == "a blocker cleared"

    cli(sprint, "task", "set-status", "t2", "blocked", "--reason", "still not signed off")  # by hand: the same
    assert sprint_record(sprint)["status"] == "blocked"


def test_a_session_ending_before_its_run_reported_blocks_the_sprint_and_a_new_delegation_resumes_it(
        sprint: Path) -> None:
    cli(sprint, "task", "set-status", "t2", "blocked", "--reason", "no sandbox key")
    delegate(sprint, 1, "t1")
    assert sprint_record(sprint)["status"] == "active"
    hook(sprint, main_thread(sprint, "SessionEnd", SESSION, reason="prompt_input_exit"))
    assert status(sprint, "t1") == "blocked"
    record = sprint_record(sprint)
    assert record["status"] == "blocked" and record["history"][-1]["reason"] == STUCK

    plan = cli(sprint, "sprint", "plan", "s1")  # what /sprint:start offers when it resumes the sprint
    assert plan["hold"] is None and [t["id"] for t in plan["batches"][0]["tasks"] if t["agent"]] == ["t1"]
    delegate(sprint, 3, "t1", session=OTHER_SESSION)  # blocked itself: it still takes delegations
    assert status(sprint, "t1") == "in_progress"
    assert sprint_record(sprint)["status"] == "active"


def test_untagged_member_work_joins_a_sprint_that_blocked_itself_and_resumes_it(sprint: Path) -> None:
    cli(sprint, "task", "set-status", "t1", "blocked", "--reason", "no sandbox key")
    cli(sprint, "task", "set-status", "t2", "blocked", "--reason", "no design")
    assert sprint_record(sprint)["status"] == "blocked"
    delegate(sprint, 1, "", prompt="Find out how to get a sandbox key")
    with open_store(root=sprint) as store:
        [adhoc] = [t for t in store.export()["tasks"].values() if t.get("ad_hoc")]
    assert adhoc["sprint"] == "s1" and adhoc["status"] == "in_progress"
    assert sprint_record(sprint)["status"] == "active"


def test_a_sprint_blocked_by_hand_stays_blocked_whatever_its_tasks_do_until_unblocked(sprint: Path) -> None:
    cli(sprint, "task", "set-status", "t2", "blocked", "--reason", "no design")
    delegate(sprint, 1, "t1")
    cli(sprint, "sprint", "block", "s1", "the vendor's API keys are not issued yet")
    report_blocked(sprint, 1, "t1", "no sandbox key")
    record = sprint_record(sprint)
    assert record["status"] == "blocked" and record["hold"]["reason"] == "the vendor's API keys are not issued yet"
    cli(sprint, "task", "set-status", "t1", "queued")  # t1 could go on, but a person blocked the sprint
    record = sprint_record(sprint)
    assert record["status"] == "blocked" and record["hold"]["reason"] == "the vendor's API keys are not issued yet"
    assert cli(sprint, "sprint", "status", "s1")["hold"]["reason"] == "the vendor's API keys are not issued yet"
    assert cli(sprint, "sprint", "unblock", "s1")["status"] == "active"
    assert not sprint_record(sprint).get("hold")


def test_a_sprint_that_blocked_itself_and_then_was_blocked_by_hand_waits_for_unblock(sprint: Path) -> None:
    delegate(sprint, 1, "t1")
    cli(sprint, "task", "set-status", "t2", "blocked", "--reason", "no design")
    report_blocked(sprint, 1, "t1", "no sandbox key")
    assert sprint_record(sprint)["status"] == "blocked"
    cli(sprint, "sprint", "block", "s1", "waiting for legal")
    cli(sprint, "task", "set-status", "t1", "queued")
    record = sprint_record(sprint)
    assert record["status"] == "blocked" and record["hold"]["reason"] == "waiting for legal"


def test_a_rejected_review_blocks_the_sprint_like_a_blocked_report(sprint: Path) -> None:
    from tests.hooks.test_review import messages, write_settings

    write_settings(sprint, "require_review: true")
    cli(sprint, "task", "set-status", "t2", "blocked", "--reason", "no design")
    delegate(sprint, 1, "t1")
    (sprint / "api.py").write_text("x\n")
    hook(sprint, stop(sprint, "agent-1", "fullstack-eng", "STATUS: completed\nARTIFACTS: api.py", writes=["api.py"],
                      prompt="[task:t1] do it"))
    assert status(sprint, "t1") == "needs_review" and sprint_record(sprint)["status"] == "active"
    [request] = messages(sprint, "review_request")
    sent = orchestra(sprint, "msg", "send", "fullstack-eng", "review_complete", "--reply-to", request["id"],
                     "--payload", '{"verdict": "rejected", "notes": "wrong API"}', "--from", "tech-lead")
    assert sent.returncode == 0, sent.stderr
    assert status(sprint, "t1") == "blocked"
    record = sprint_record(sprint)
    assert record["status"] == "blocked" and record["history"][-1]["reason"] == STUCK
    cli(sprint, "task", "set-status", "t1", "queued")
    assert sprint_record(sprint)["status"] == "active"
