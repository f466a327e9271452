"""`metrics.collect` on a real store: agents, utilization, throughput, task time, blockers, completion,
velocity, quality reported by agents; the current sprint; event text; the PostToolUseFailure hook."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from orchestra import audit, paths
from orchestra.lifecycle import record_report
from orchestra.metrics import collect, current_sprint, describe_event
from orchestra.workflow import close_sprint

from tests.conftest import run_hook
from tests.observability.harness import NOW, report_made_while_running, started_sprint, work


def runs(store, **by_status: list[tuple[str, str]]) -> None:
    with store.transaction() as tx:
        for status, entries in by_status.items():
            for run_id, team in entries:
                tx.set(f"agents.{run_id}", {"agent_type": "fullstack-eng", "team": team, "status": status})


def test_collect_on_a_running_sprint(store, sample: Path) -> None:
    started_sprint(store)
    runs(store, active=[("r1", "engineering"), ("r2", "engineering")], launched=[("r3", "qa")],
         completed=[("r0", "engineering")])
    with store.transaction() as tx:
        report_made_while_running(tx, "task-oauth", {"coverage": 81.0, "build": "passed"}, by="agent:r0",
                                  agent_id="r0")
        record_report(tx, "task-2fa", {"build": "failed", "progress": 40}, by="agent:r1", agent_id="r1")
        record_report(tx, "task-2fa", {"coverage": 83.25, "build": "passed"}, by="agent:r1", agent_id="r1")
    audit.append(paths.audit_log(sample), {"hook": "pre_tool", "event": "PreToolUse", "decision": "deny", "ms": 12})
    audit.append(paths.audit_log(sample), {"hook": "pre_tool", "event": "PreToolUse", "decision": "allow", "ms": 8})

    m = collect(store, sample, now=NOW)
    assert m["sprint"]["sprint"] == "sprint-3" and m["sprint"]["status"] == "active"
    assert m["agent_count"] == {"total": 4, "live": 3, "by_status": {"active": 2, "completed": 1, "launched": 1},
                                "live_by_team": {"engineering": 2, "qa": 1}}
    util = m["agent_utilization"]  # teams.yaml: engineering 4, qa 3, devops 2, product 3 parallel agents
    assert util["capacity"] == 12 and util["live"] == 3 and util["rate"] == 0.25
    assert util["teams"]["engineering"] == {"live": 2, "capacity": 4}
    assert m["task_throughput"] == {"completed": 1, "days": 7, "per_day": round(1 / 7, 4)}
    assert m["average_task_time"] == {"tasks": 1, "mean_hours": 31.0, "median_hours": 31.0}  # 12-01 09:00 -> 12-02 16:00
    assert m["blocker_count"] == 1 and m["blockers"]["tasks"][0]["task"] == "task-fraud-rules"
    assert m["completion_rate"]["points_completed"] == 5 and m["completion_rate"]["points_total"] == 21
    days = {d["date"]: d["remaining"] for d in m["burndown"]["days"]}
    assert days["2026-12-01"] == 21 and days["2026-12-02"] == 16 and days["2026-12-05"] is None
    assert m["test_coverage"]["percent"] == 83.25 and m["test_coverage"]["task"] == "task-2fa"
    assert m["build_success_rate"] == {"passed": 2, "failed": 1, "rate": 0.6667}
    assert m["error_rate"]["tool_calls"] == 2 and m["error_rate"]["rate"] == 0.5
    assert m["hook_latency"]["by_hook"]["pre_tool"]["max_ms"] == 12


def test_an_orchestrators_run_of_the_sprint_is_no_task_done_in_throughput_or_task_time(store, sample: Path) -> None:
    """`orchestrate-sprint-3` tracks the director's run, kept out of the sprint's tasks: one task done is one."""
    started_sprint(store)
    with store.transaction() as tx:
        tx.set("tasks.orchestrate-sprint-3", {"id": "orchestrate-sprint-3", "title": "Run sprint-3",
                                              "type": "orchestration", "status": "queued", "orchestrates": "sprint-3"})
    work(store, "orchestrate-sprint-3", "assigned", "2026-12-01T08:00:00.000Z")
    work(store, "orchestrate-sprint-3", "completed", "2026-12-03T08:00:00.000Z")
    m = collect(store, sample, now=NOW)
    assert m["task_throughput"]["completed"] == 1 and m["average_task_time"]["tasks"] == 1
    assert m["completion_rate"]["tasks_completed"] == 1


def test_work_recorded_by_a_machine_whose_clock_is_ahead_counts_as_the_store_says(store, sample: Path) -> None:
    """Two checkouts share one store; one's clock runs an hour ahead. The task it started and the other
    completed is completed in the metrics and the burndown too, as sprint status counts it."""
    started_sprint(store)
    work(store, "task-2fa", "in_progress", "2026-12-04T10:00:00.000Z")  # 09:00 by the store's other clock
    work(store, "task-2fa", "completed", "2026-12-04T09:30:00.000Z")

    m = collect(store, sample, now=NOW)
    assert m["sprint"]["counts"]["completed"] == 2 and m["sprint"]["points"]["completed"] == 8
    assert m["task_throughput"]["completed"] == 2
    assert m["average_task_time"]["tasks"] == 2
    assert m["completion_rate"]["points_completed"] == 8
    assert {d["date"]: d["remaining"] for d in m["burndown"]["days"]}["2026-12-04"] == 13


def test_utilization_counts_members_not_the_orchestrator_running_them(store, sample: Path) -> None:
    """The slots are max_parallel_agents, which the capacity gate fills with members only."""
    started_sprint(store)
    with store.transaction() as tx:
        tx.set("agents.lead", {"agent_type": "engineering-director", "team": "engineering", "role": "orchestrator",
                               "status": "active"})
        for run_id in ("r1", "r2"):
            tx.set(f"agents.{run_id}", {"agent_type": "fullstack-eng", "team": "engineering", "role": "team_member",
                                        "status": "active"})
    m = collect(store, sample, now=NOW)
    assert m["agent_count"]["live"] == 3
    assert m["agent_utilization"]["teams"]["engineering"] == {"live": 2, "capacity": 4}
    assert m["agent_utilization"]["live"] == 2


def test_utilization_uses_the_capacity_the_running_sprint_gives_its_team(store, sample: Path) -> None:
    """A sprint file's `capacity:` is the limit the capacity gate applies to its team: utilization shows it."""
    definition = sample / ".claude/sprints/sprint-3.yaml"
    definition.write_text(definition.read_text() + "\ncapacity: {engineering: 2}\n")
    started_sprint(store)
    runs(store, active=[("r1", "engineering"), ("r2", "engineering")])
    util = collect(store, sample, now=NOW)["agent_utilization"]
    assert util["teams"]["engineering"] == {"live": 2, "capacity": 2}
    assert util["capacity"] == 10 and util["rate"] == 0.2  # engineering 2, qa 3, devops 2, product 3


def test_collect_without_any_state(store, sample: Path) -> None:
    m = collect(store, sample, now=NOW)
    assert m["sprint"] is None and m["burndown"] is None
    assert m["agent_count"]["total"] == 0 and m["blocker_count"] == 0
    assert m["test_coverage"] is None and m["build_success_rate"] is None
    assert m["error_rate"]["rate"] is None and m["hook_latency"]["count"] == 0
    assert m["average_task_time"]["mean_hours"] is None
    json.dumps(m)  # plain JSON throughout


def test_velocity_after_a_sprint_closes(store, sample: Path) -> None:
    started_sprint(store)
    close_sprint(store, "sprint-3", now=NOW)
    m = collect(store, sample, now=NOW + dt.timedelta(days=1))
    assert m["velocity"]["sprints"] == [{"sprint": "sprint-3", "points": 5.0, "closed_at": "2026-12-04T15:00:00Z"}]
    assert m["velocity"]["mean_points"] == 5.0


def test_current_sprint_prefers_work_in_progress() -> None:
    sprints = {
        "s1": {"id": "s1", "status": "complete", "closed_at": "2026-11-20T00:00:00Z"},
        "s2": {"id": "s2", "status": "ready", "loaded_at": "2026-11-28T00:00:00Z"},
        "s3": {"id": "s3", "status": "active", "started_at": "2026-11-21T00:00:00Z"},
        "s4": {"id": "s4", "status": "blocked", "started_at": "2026-11-25T00:00:00Z"},
    }
    assert current_sprint(sprints)["id"] == "s4"  # in progress, started last
    del sprints["s3"], sprints["s4"]
    assert current_sprint(sprints)["id"] == "s2"
    del sprints["s2"]
    assert current_sprint(sprints)["id"] == "s1"
    assert current_sprint({}) is None


def test_every_event_reads_as_one_line() -> None:
    assert describe_event({"id": 1, "type": "task_blocked", "task_id": "t-1",
                           "data": {"reason": "no key\nprovisioned"}}) == "t-1 blocked: no key provisioned"
    assert describe_event({"id": 2, "type": "agent_started", "agent_id": "a1", "task_id": "t-1",
                           "data": {"agent_type": "qa-engineer"}}) == "qa-engineer started on t-1"
    unknown = describe_event({"id": 3, "type": "future_event", "task_id": "t-1", "data": {"path": "/w"}})
    assert unknown == 'future_event task_id=t-1 {"path": "/w"}'
    long = describe_event({"id": 4, "type": "x", "data": {"blob": "y" * 1000}})
    assert len(long) == 200 and long.endswith("…")
    odd = describe_event({"id": 5, "type": "task_reported", "data": "not an object"})
    assert odd == "main reports on ?:"
    report = describe_event({"id": 6, "type": "task_reported", "task_id": "t-1", "agent_id": "a1",
                             "data": {"by": "agent:a1", "coverage": 81.5, "build": "passed", "tests_failed": 0,
                                      "summary": "login flow tested", "at": "2026-12-01T00:00:00Z"}})
    assert report == "agent:a1 reports on t-1: coverage 81.5%, build passed, tests failed 0 — login flow tested"


def test_every_event_type_orchestra_writes_reads_as_a_sentence() -> None:
    """`orchestra events tail` and the dashboard's feed print one readable line per event: every event
    type the package appends (a sprint start's worktrees, epics, moves, reviews, the bus) has its own
    sentence, not the raw type and JSON kept for types from newer versions."""
    import re

    package = Path(describe_event.__code__.co_filename).parents[1]
    written = set()
    for source in package.rglob("*.py"):
        written |= set(re.findall(r'(?:append_event|\.event)\(\s*"([a-z_.]+)"', source.read_text()))
    assert {"worktree_created", "epic_loaded", "task_moved", "message.acknowledged"} <= written
    written |= {"message.answered"} | {f"native_worktree_{what}" for what in ("entered", "isolated", "exited", "removed")}
    raw = sorted(t for t in written if describe_event({"id": 1, "type": t, "data": {}}) == t)
    assert raw == []
    worktree = describe_event({"id": 5, "type": "worktree_created", "task_id": "task-build",
                               "data": {"worktree": "task-build", "branch": "task-build", "path": "/r/.worktrees/x"}})
    assert worktree == "worktree task-build (branch task-build) created for task-build"
    moved = describe_event({"id": 6, "type": "task_moved", "task_id": "t-hotfix",
                            "data": {"from": None, "to": "sprint-3", "by": "human"}})
    assert moved == "t-hotfix moved from no sprint to sprint-3 by human"
    reviewed = describe_event({"id": 7, "type": "task_reviewed", "task_id": "t-1",
                               "data": {"verdict": "changes_requested", "findings": ["a", "b"], "by": "tech-lead"}})
    assert reviewed == "t-1 reviewed by tech-lead: changes_requested (2 findings)"


def test_post_failure_hook_records_the_failed_call(sample: Path, store) -> None:
    with store.transaction() as tx:
        tx.set("agents.a77", {"agent_type": "qa-engineer", "status": "active", "task": "task-2fa"})
    payload = {"session_id": "s-fail", "transcript_path": str(sample / "t.jsonl"), "cwd": str(sample),
               "permission_mode": "default", "hook_event_name": "PostToolUseFailure", "tool_name": "Bash",
               "tool_input": {"command": "pytest -q", "description": "Run tests"}, "tool_use_id": "toolu_f1",
               "error": "Exit code 1\n3 failed, 10 passed", "is_interrupt": False, "duration_ms": 5120,
               "agent_id": "a77", "agent_type": "qa-engineer"}
    proc = run_hook("post_failure.py", payload, sample)
    assert proc.returncode == 0 and proc.stdout == b"", proc.stderr
    [event] = [e for e in store.events_after(0) if e["type"] == "tool_failed"]
    assert event["agent_id"] == "a77" and event["task_id"] == "task-2fa" and event["session_id"] == "s-fail"
    assert event["data"] == {"tool": "Bash", "error": "Exit code 1", "interrupted": False, "duration_ms": 5120,
                             "tool_use_id": "toolu_f1"}
    [line] = audit.tail(paths.audit_log(sample), 1)
    assert line["event"] == "PostToolUseFailure" and line["error"] == "Exit code 1" and line["hook"] == "post_failure"
    assert collect(store, sample, now=NOW)["error_rate"]["failed"] == 1
    assert describe_event(event) == "a77: Bash failed: Exit code 1"


def test_points_in_the_event_feed_read_as_everywhere_else() -> None:
    """The feed said 'sprint s1 closed: 10.0 points completed' beside '10 of 11 points' in the sprint panel."""
    assert describe_event({"id": 1, "type": "sprint_closed", "data": {"sprint": "s1", "completed_points": 10.0}}) == (
        "sprint s1 closed: 10 points completed")
    assert describe_event({"id": 2, "type": "sprint_loaded", "data": {"sprint": "s1", "tasks": 4, "points": 11.25}}) == (
        "sprint s1 loaded: 4 tasks, 11.25 points")
    assert describe_event({"id": 3, "type": "sprint_started", "data": {"sprint": "s1", "points": 18.5500001}}) == (
        "sprint s1 started (18.55 points)")
    assert describe_event({"id": 4, "type": "epic_loaded", "data": {"epic": "e", "features": 2, "points": 8.0}}) == (
        "epic e loaded: 2 features, 8 points")


def test_durations_read_the_same_in_every_unit() -> None:
    """Whole hours read '5 h'; whole days read '2.0 d' (and the dashboard '2 d')."""
    from orchestra.metrics.formatting import duration

    assert [duration(h) for h in (5.0, 5.5, 48.0, 50.0, 72.0)] == ["5 h", "5.5 h", "2 d", "2.1 d", "3 d"]
