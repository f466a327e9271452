"""A sprint's whole life on a real store: load, plan, start, work, block, review, reopen, close."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from orchestra.models import IllegalTransition
from orchestra.workflow import (
    block_sprint,
    close_sprint,
    load_sprint_into_state,
    plan_sprint,
    reopen_sprint,
    sprint_status,
    start_sprint,
    unblock_sprint,
)
from orchestra.workflow.metrics import EVENT_OF_STATUS
from orchestra.workflow.retrospective import carried_over_ids, markdown
from orchestra.workflow.states import InconsistentTasks
from orchestra.workflow.view import recorded_points

NOW = dt.datetime(2026, 12, 3, 18, 0, tzinfo=dt.UTC)


def work(store, task: str, status: str, ts: str, blocker: str | None = None) -> None:
    """What the lifecycle does when a task moves: the task's status and its event."""
    with store.transaction() as tx:
        tx.update(f"tasks.{task}", {"status": status, "blocker": blocker})
        tx.append_event(EVENT_OF_STATUS[status], {}, task_id=task, ts=ts)


def waves(plan: dict) -> list[list[str]]:
    return [[t["id"] for t in b["tasks"]] for b in plan["batches"]]


def test_load_records_the_sprint_as_ready(store) -> None:
    record = load_sprint_into_state(store, "sprint-3")
    assert record["status"] == "ready" and record["definition"] == ".claude/sprints/sprint-3.yaml"
    assert record["tasks"][0] == "task-oauth" and record["points"] == 21
    assert [(h["from"], h["to"]) for h in record["history"]] == [("planning", "ready")]
    assert store.get("tasks", {}) == {}  # tasks enter state when the sprint starts
    assert [e["type"] for e in store.events_after(0)] == ["sprint_loaded", "sprint_status"]


def test_plan_before_start_reads_the_definition(store) -> None:
    plan = plan_sprint(store, "sprint-3")
    assert plan["source"] == "definition" and plan["status"] == "planning"
    assert waves(plan) == [["task-oauth", "task-fraud-rules"], ["task-payments-api", "task-2fa"],
                           ["task-checkout"], ["task-security-review"]]
    assert plan["critical_path"] == {"tasks": ["task-oauth", "task-payments-api", "task-checkout",
                                               "task-security-review"], "length": 15}
    assert plan["ready"] == ["task-oauth", "task-fraud-rules"]
    first = plan["batches"][0]["tasks"][0]
    assert first["id"] == "task-oauth" and first["critical"] and first["slack"] == 0
    assert first["agent"] is None  # not started: no delegation yet
    assert plan["capacity"]["teams"]["engineering"] >= 1 and plan["capacity"]["members"]["fullstack-eng"] >= 1
    assert store.get("sprints", {}) == {}  # planning writes nothing


def test_status_before_loading_reads_the_definition(store) -> None:
    status = sprint_status(store, "sprint-3", now=NOW)
    assert (status["source"], status["status"], status["start"], status["end"]) == (
        "definition", "planning", "2026-12-01", "2026-12-14")
    assert status["counts"]["queued"] == 6 and status["points"]["remaining"] == 21
    assert len(status["metrics"]["burndown"]["days"]) == 14


def test_start_materialises_tasks_and_is_idempotent(store) -> None:
    result = start_sprint(store, "sprint-3")
    assert result["started"] and result["status"] == "active"
    assert result["team_assignments"] == {"engineering": [
        "task-oauth", "task-2fa", "task-payments-api", "task-fraud-rules", "task-checkout", "task-security-review"]}
    assert result["plan"]["source"] == "state" and waves(result["plan"])[0] == ["task-oauth", "task-fraud-rules"]
    oauth = store.get("tasks.task-oauth")
    assert (oauth["status"], oauth["sprint"], oauth["epic"], oauth["assignee"]) == (
        "queued", "sprint-3", "payments", "fullstack-eng")
    assert oauth["acceptance"]["command"] == "python3 -m unittest discover -s tests/auth -t ." and oauth["feature"] == "feat-login"
    started = store.events_after(0, 100, ("sprint_started",))
    assert len(started) == 1 and started[0]["data"]["scope"]["task-oauth"] == 5
    first_wave = result["plan"]["batches"][0]["tasks"]
    oauth_agent = first_wave[0]["agent"]
    assert oauth_agent["subagent_type"] == "fullstack-eng" and "[task:task-oauth]" in oauth_agent["prompt"]
    assert "Sign-in with GitHub and Google" in oauth_agent["prompt"]  # the brief carries the acceptance
    assert all(t["agent"] is None for b in result["plan"]["batches"][1:] for t in b["tasks"])
    events = len(store.events_after(0))
    again = start_sprint(store, "sprint-3")
    assert not again["started"] and len(store.events_after(0)) == events


def test_work_moves_the_plan_status_and_metrics(store) -> None:
    start_sprint(store, "sprint-3")
    work(store, "task-oauth", "in_progress", "2026-12-01T09:00:00.000Z")
    work(store, "task-oauth", "completed", "2026-12-02T09:00:00.000Z")  # 24 h for 5 points
    work(store, "task-fraud-rules", "in_progress", "2026-12-02T10:00:00.000Z")
    work(store, "task-fraud-rules", "blocked", "2026-12-02T11:00:00.000Z", blocker="no card network sandbox")

    plan = plan_sprint(store, "sprint-3")
    assert plan["done"] == ["task-oauth"] and plan["points"] == {
        "total": 21, "completed": 5, "remaining": 16, "carried_over": 0, "cancelled": 0}
    assert plan["critical_path"]["tasks"] == ["task-payments-api", "task-checkout", "task-security-review"]
    assert plan["ready"] == ["task-payments-api", "task-2fa"]  # the blocked task is not ready

    status = sprint_status(store, "sprint-3", now=NOW, seed=3)
    assert status["counts"]["completed"] == 1 and status["counts"]["blocked"] == 1
    assert status["points"] == plan["points"]
    days = status["metrics"]["burndown"]["days"]
    assert [d["remaining"] for d in days[:4]] == [21, 16, 16, None]  # 12-04 is after `now`
    assert status["metrics"]["cycle_time"]["tasks"] == {"task-oauth": 24.0}
    assert status["metrics"]["blockers"]["tasks"] == [{"task": "task-fraud-rules",
                                                      "blocker": "no card network sandbox"}]
    forecast = status["forecast"]
    assert forecast["available"] and forecast["samples"] == 1
    # one sample (4.8 h per point) makes it exact: the critical path left is 5+3+2 points = 48 h,
    # while all 16 points on the engineering team's parallel slots take no longer than that
    assert forecast["p50_hours"] == forecast["p85_hours"] >= 48
    assert sprint_status(store, "sprint-3", now=NOW, seed=3) == status


def test_block_unblock_and_illegal_moves_list_the_legal_ones(store) -> None:
    start_sprint(store, "sprint-3")
    assert block_sprint(store, "sprint-3", "payment provider outage")["status"] == "blocked"
    with pytest.raises(IllegalTransition, match="legal next states: active"):
        close_sprint(store, "sprint-3")
    assert unblock_sprint(store, "sprint-3")["status"] == "active"
    with pytest.raises(ValueError, match="a reason is required"):
        block_sprint(store, "sprint-3", "  ")


def test_close_refuses_while_work_runs(store) -> None:
    start_sprint(store, "sprint-3")
    work(store, "task-oauth", "in_progress", "2026-12-01T09:00:00.000Z")
    with pytest.raises(InconsistentTasks, match=r"task-oauth \(in_progress\)"):
        close_sprint(store, "sprint-3")
    assert store.get("sprints.sprint-3.status") == "active"


def test_review_reopen_replan_and_close_with_carry_over(store, sample: Path) -> None:
    start_sprint(store, "sprint-3")
    for task in ("task-oauth", "task-payments-api", "task-checkout"):
        work(store, task, "in_progress", "2026-12-02T09:00:00.000Z")
        work(store, task, "completed", "2026-12-02T15:00:00.000Z")
    work(store, "task-2fa", "needs_review", "2026-12-02T16:00:00.000Z")
    work(store, "task-fraud-rules", "blocked", "2026-12-02T17:00:00.000Z", blocker="waiting for legal")

    assert close_sprint(store, "sprint-3", review_only=True)["status"] == "review"
    with pytest.raises(ValueError, match="sprint-3 is review; a definition can be .re.loaded only while"):
        load_sprint_into_state(store, "sprint-3")
    assert reopen_sprint(store, "sprint-3", "2FA recovery codes are not single-use")["status"] == "planning"
    assert store.get("tasks.task-2fa.status") == "queued" and store.get("tasks.task-fraud-rules.status") == "queued"
    assert store.get("tasks.task-oauth.status") == "completed"

    first_start = store.get("sprints.sprint-3.started_at")
    assert start_sprint(store, "sprint-3")["status"] == "active"  # loads again: planning -> ready -> active
    assert store.get("sprints.sprint-3.started_at") == first_start
    assert store.get("tasks.task-oauth.status") == "completed"  # finished work stays finished
    work(store, "task-2fa", "completed", "2026-12-03T12:00:00.000Z")
    work(store, "task-fraud-rules", "blocked", "2026-12-03T13:00:00.000Z", blocker="waiting for legal")

    result = close_sprint(store, "sprint-3", now=NOW)
    retro = result["retrospective"]
    assert result["closed"] and result["status"] == "complete"
    assert [r["id"] for r in retro["completed"]] == ["task-oauth", "task-2fa", "task-payments-api", "task-checkout"]
    assert retro["completed_points"] == 16 and retro["planned_points"] == 21
    assert [r["id"] for r in retro["carried_over"]] == ["task-fraud-rules", "task-security-review"]
    assert retro["carried_over_points"] == 5
    assert retro["blockers"] == [{"task": "task-fraud-rules", "blocker": "waiting for legal", "open": True}]
    assert retro["cycle_time"]["tasks"]["task-oauth"] == 6.0
    fraud = store.get("tasks.task-fraud-rules")
    assert fraud["sprint"] is None and fraud["carried_over_from"] == "sprint-3" and fraud["status"] == "blocked"
    text = (sample / ".claude/sprints/retrospectives/sprint-3.md").read_text()
    assert "task-fraud-rules: waiting for legal (still open)" in text and "16 of 21 points" in text
    assert carried_over_ids(text) == ["task-fraud-rules", "task-security-review"]  # what a fresh checkout reads

    again = close_sprint(store, "sprint-3")
    assert not again["closed"] and again["retrospective"] == retro
    status = sprint_status(store, "sprint-3", now=NOW)
    assert status["status"] == "complete" and status["metrics"]["velocity"] == [
        {"sprint": "sprint-3", "points": 16, "closed_at": retro["closed_at"]}]
    # nothing is left in a closed sprint: no forecast of "done now" at the moment it is looked at
    assert status["forecast"] == {"available": False, "reason": "the sprint is closed: nothing is left to forecast"}


def test_a_started_sprint_named_by_its_files_path_is_planned_from_state(store, sample: Path) -> None:
    start_sprint(store, "sprint-3")
    work(store, "task-oauth", "in_progress", "2026-12-02T09:00:00.000Z")
    work(store, "task-oauth", "completed", "2026-12-02T15:00:00.000Z")
    by_path = plan_sprint(store, str(sample / ".claude/sprints/sprint-3.yaml"))
    assert by_path["source"] == "state" and by_path == plan_sprint(store, "sprint-3")  # not the file's all-queued
    assert by_path["done"] == ["task-oauth"]
    status = sprint_status(store, str(sample / ".claude/sprints/sprint-3.yaml"), now=NOW)
    assert status == sprint_status(store, "sprint-3", now=NOW)


def test_a_reopened_sprint_is_planned_from_its_edited_file_until_it_starts_again(store, sample: Path) -> None:
    path = sample / ".claude/sprints/sprint-7.yaml"
    path.write_text("tasks:\n  - {id: r0, title: R0, team: engineering, estimate: 1}\n"
                    "  - {id: r1, title: R1, team: engineering, estimate: 3}\n"
                    "  - {id: r2, title: R2, team: engineering, estimate: 2, dependencies: [r1]}\n", encoding="utf-8")
    start_sprint(store, "sprint-7")
    for task in ("r0", "r1"):
        work(store, task, "in_progress", "2026-12-02T09:00:00.000Z")
        work(store, task, "completed", "2026-12-02T15:00:00.000Z")
    close_sprint(store, "sprint-7", review_only=True)
    reopen_sprint(store, "sprint-7", "r2 is not needed; r3 is")
    path.write_text("tasks:\n  - {id: r1, title: R1, team: engineering, estimate: 3}\n"
                    "  - {id: r3, title: R3, team: engineering, estimate: 1, dependencies: [r1]}\n", encoding="utf-8")
    load_sprint_into_state(store, "sprint-7")

    plan = plan_sprint(store, "sprint-7")  # what starting it again will do: the edited file, finished work kept
    assert plan["source"] == "definition" and plan["status"] == "ready"
    assert waves(plan) == [["r3"]] and plan["done"] == ["r0", "r1"] and plan["ready"] == ["r3"]
    assert plan["points"] == {"total": 5, "completed": 4, "remaining": 1, "carried_over": 0, "cancelled": 0}
    status = sprint_status(store, "sprint-7", now=NOW)
    assert [(t["id"], t["status"]) for t in status["tasks"]] == [("r1", "completed"), ("r3", "queued"),
                                                                 ("r0", "completed")]
    with store.snapshot() as tx:  # the sprint list and epic status count the same points
        assert recorded_points(tx, tx.get("sprints.sprint-7")) == plan["points"]
    started = start_sprint(store, "sprint-7")
    assert [r["id"] for r in started["removed"]] == ["r2"]
    assert waves(started["plan"]) == waves(plan) and started["plan"]["points"] == plan["points"]


def test_a_sprint_closed_after_its_end_counts_the_work_done_until_the_close(store) -> None:
    start_sprint(store, "sprint-3")  # 2026-12-01 .. 2026-12-14, 21 points
    work(store, "task-oauth", "in_progress", "2026-12-02T09:00:00.000Z")
    work(store, "task-oauth", "completed", "2026-12-10T09:00:00.000Z")  # 5 points in time
    work(store, "task-fraud-rules", "in_progress", "2026-12-11T09:00:00.000Z")
    work(store, "task-fraud-rules", "completed", "2026-12-16T09:00:00.000Z")  # 3 points two days late
    closed_at = dt.datetime(2026, 12, 17, 12, 0, tzinfo=dt.UTC)
    retro = close_sprint(store, "sprint-3", now=closed_at)["retrospective"]
    days = retro["burndown"]["days"]
    assert retro["completed_points"] == 8 and retro["carried_over_points"] == 13
    assert days[-1] == {"date": "2026-12-17", "remaining": 13, "ideal": 0}  # what was carried over
    assert [d["remaining"] for d in days if d["date"] in ("2026-12-14", "2026-12-15", "2026-12-16")] == [16, 16, 13]
    status = sprint_status(store, "sprint-3", now=closed_at + dt.timedelta(days=30))
    assert status["metrics"]["burndown"] == retro["burndown"] and status["end"] == "2026-12-14"
    assert status["metrics"]["throughput"] == {"completed": 2, "days": 17, "per_day": round(2 / 17, 4)}


def test_a_sprint_started_before_its_start_date_counts_the_work_done_before_it(store) -> None:
    start_sprint(store, "sprint-3")  # planned 2026-12-01 .. 2026-12-14, 21 points; started four days early
    with store.transaction() as tx:
        tx.update("sprints.sprint-3", {"started_at": "2026-11-27T09:00:00.000Z"})
    work(store, "task-oauth", "in_progress", "2026-11-27T10:00:00.000Z")
    work(store, "task-oauth", "completed", "2026-11-28T10:00:00.000Z")  # 5 points before the planned start
    early = dt.datetime(2026, 11, 29, 18, 0, tzinfo=dt.UTC)
    status = sprint_status(store, "sprint-3", now=early)
    days = status["metrics"]["burndown"]["days"]
    assert days[:4] == [{"date": "2026-11-27", "remaining": 21, "ideal": 21},
                        {"date": "2026-11-28", "remaining": 16, "ideal": 21},
                        {"date": "2026-11-29", "remaining": 16, "ideal": 21},
                        {"date": "2026-11-30", "remaining": None, "ideal": 21}]
    assert days[4] == {"date": "2026-12-01", "remaining": None, "ideal": 19.5} and len(days) == 18
    assert (status["start"], status["end"]) == ("2026-12-01", "2026-12-14")
    assert status["metrics"]["throughput"] == {"completed": 1, "days": 3, "per_day": round(1 / 3, 4)}
    retro = close_sprint(store, "sprint-3", now=early)["retrospective"]  # closed before its planned start
    assert [d["remaining"] for d in retro["burndown"]["days"][:3]] == [21, 16, 16]
    closed = sprint_status(store, "sprint-3", now=early + dt.timedelta(days=30))
    assert closed["metrics"]["throughput"] == status["metrics"]["throughput"]


def test_the_forecast_keeps_each_team_to_its_capacity(store, sample: Path) -> None:
    (sample / ".claude/sprints/sprint-5.yaml").write_text(
        "capacity: {engineering: 1}\ntasks:\n"
        + "".join(f"  - {{id: e{i}, title: E{i}, team: engineering, estimate: 2}}\n" for i in range(4))
        + "  - {id: ops, title: Ops, team: devops, estimate: 1}\n", encoding="utf-8")
    start_sprint(store, "sprint-5")
    work(store, "e0", "in_progress", "2026-12-01T09:00:00.000Z")
    work(store, "e0", "completed", "2026-12-01T13:00:00.000Z")  # 2 points in 4 h: 2 h a point
    forecast = sprint_status(store, "sprint-5", now=NOW)["forecast"]
    # e1..e3 one at a time on engineering's single slot: 3 x 4 h; ops beside them on devops' slots
    assert (forecast["p50_hours"], forecast["p85_hours"]) == (12.0, 12.0)
    (sample / ".claude/sprints/sprint-6.yaml").write_text("tasks:\n" + "".join(
        f"  - {{id: u{i}, title: U{i}, team: engineering, assignee: ux-eng, estimate: 2}}\n" for i in range(3)),
        encoding="utf-8")
    start_sprint(store, "sprint-6")
    forecast = sprint_status(store, "sprint-6", now=NOW)["forecast"]
    # ux-eng takes two tasks at once (capacity 2 in teams.yaml): u0 and u1 together, then u2: 2 x 4 h
    assert (forecast["p50_hours"], forecast["p85_hours"]) == (8.0, 8.0)


def test_the_forecast_leaves_out_work_nobody_takes_and_members_on_leave(store, sample: Path) -> None:
    """`capacity: 0` for a member (on leave) or for a team in the sprint file: the forecast gave that work to
    them as if they took one task at a time. Now it gives nothing to a member on leave and leaves out the
    work nobody takes (named in `idle`)."""
    teams_yaml = sample / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace(
        "      - name: ux-eng\n        role: team_member\n        capacity: 2\n",
        "      - name: ux-eng\n        role: team_member\n        capacity: 0\n"))
    (sample / ".claude/sprints/sprint-7.yaml").write_text(
        "capacity: {devops: 0}\ntasks:\n"
        + "".join(f"  - {{id: n{i}, title: N{i}, team: engineering, estimate: 2}}\n" for i in range(4))
        + "  - {id: ops, title: Ops, team: devops, assignee: ci-cd-engineer, estimate: 8}\n"
        + "  - {id: ux, title: UX, team: engineering, assignee: ux-eng, estimate: 8}\n", encoding="utf-8")
    start_sprint(store, "sprint-7")
    work(store, "n0", "in_progress", "2026-12-01T09:00:00.000Z")
    work(store, "n0", "completed", "2026-12-01T13:00:00.000Z")  # 2 points in 4 h: 2 h a point
    status = sprint_status(store, "sprint-7", now=NOW)
    assert set(status["idle"]) == {"ops", "ux"}
    # n1..n3 at once on fullstack-eng (3) and api-engineer (2), never ux-eng: 4 h; ops and ux (16 h each) left out
    assert (status["forecast"]["p50_hours"], status["forecast"]["p85_hours"]) == (4.0, 4.0)


def test_with_the_capacity_gate_off_the_forecast_counts_work_named_to_a_member_on_leave(store, sample: Path) -> None:
    """With `gates: {capacity: false}` such work is delegated all the same (the hook lets it through), yet the
    forecast left it out. Now it runs there one task at a time (the member on leave, the team of capacity 0),
    and work that names nobody still goes to the members who take work."""
    teams_yaml = sample / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace(
        "      - name: ux-eng\n        role: team_member\n        capacity: 2\n",
        "      - name: ux-eng\n        role: team_member\n        capacity: 0\n")
        + "lifecycle:\n  gates: {capacity: false}\n")
    (sample / ".claude/sprints/sprint-7.yaml").write_text(
        "capacity: {devops: 0}\ntasks:\n"
        + "".join(f"  - {{id: n{i}, title: N{i}, team: engineering, estimate: 2}}\n" for i in range(4))
        + "  - {id: ops, title: Ops, team: devops, assignee: ci-cd-engineer, estimate: 8}\n"
        + "  - {id: ux, title: UX, team: engineering, assignee: ux-eng, estimate: 8}\n"
        + "  - {id: ux2, title: UX2, team: engineering, assignee: ux-eng, estimate: 1}\n", encoding="utf-8")
    start_sprint(store, "sprint-7")
    work(store, "n0", "in_progress", "2026-12-01T09:00:00.000Z")
    work(store, "n0", "completed", "2026-12-01T13:00:00.000Z")  # 2 points in 4 h: 2 h a point
    status = sprint_status(store, "sprint-7", now=NOW)
    assert status["idle"] == {} and set(status["warnings"]) == {"ops", "ux", "ux2"}
    # ops (16 h) on devops' one slot; ux then ux2 on ux-eng, one at a time (18 h); n1..n3 on the others (4 h)
    assert (status["forecast"]["p50_hours"], status["forecast"]["p85_hours"]) == (18.0, 18.0)


def test_the_forecast_spreads_work_that_names_nobody_over_the_members_able_to_take_it(store, sample: Path) -> None:
    """Unassigned work goes to whichever able member is least busy (auto_assign): the forecast ran all of it on
    the first able member by name, one member's capacity at a time, while the others stood idle."""
    (sample / ".claude/sprints/sprint-7.yaml").write_text("tasks:\n" + "".join(
        f"  - {{id: n{i}, title: N{i}, team: engineering, estimate: 2}}\n" for i in range(4)), encoding="utf-8")
    start_sprint(store, "sprint-7")
    work(store, "n0", "in_progress", "2026-12-01T09:00:00.000Z")
    work(store, "n0", "completed", "2026-12-01T13:00:00.000Z")  # 2 points in 4 h: 2 h a point
    forecast = sprint_status(store, "sprint-7", now=NOW)["forecast"]
    # n1..n3 at once: engineering runs 4, and fullstack-eng, ux-eng and api-engineer can each take one (4 h);
    # on api-engineer alone (capacity 2) they took 8 h
    assert (forecast["p50_hours"], forecast["p85_hours"]) == (4.0, 4.0)


def test_the_forecast_keeps_work_that_names_nobody_to_the_capacity_of_the_members_able_to_take_it(
        store, sample: Path) -> None:
    """A task that names nobody goes to one able member with a free place, as delegation gives it: the forecast
    ran it on its team's slots alone, so research work two members of capacity 1 can take ran three at once."""
    import math

    from orchestra.lifecycle.views import auto_pool
    from orchestra.workflow.sprints import organization

    org = organization(sample)
    hours = 4.0  # 2 points at 2 h a point, as learned from r0
    (sample / ".claude/sprints/sprint-9.yaml").write_text("tasks:\n" + "".join(
        f"  - {{id: r{i}, title: R{i}, team: product, type: research, estimate: 2}}\n" for i in range(4)),
        encoding="utf-8")
    start_sprint(store, "sprint-9")
    work(store, "r0", "in_progress", "2026-12-01T09:00:00.000Z")
    work(store, "r0", "completed", "2026-12-01T13:00:00.000Z")
    able, _ = auto_pool(org, store.get("tasks.r1"))
    places = min(org.teams["product"].settings.max_parallel_agents, sum(org.member(m).capacity for m in able))
    assert len(able) > 1 and places < org.teams["product"].settings.max_parallel_agents  # the case at hand
    forecast = sprint_status(store, "sprint-9", now=NOW, seed=5)["forecast"]
    assert forecast["p50_hours"] == forecast["p85_hours"] == math.ceil(3 / places) * hours
    assert sprint_status(store, "sprint-9", now=NOW, seed=5)["forecast"] == forecast  # same seed, same answer
    # one able member only (tech-lead designs): its capacity bounds the team's slots too
    (sample / ".claude/sprints/sprint-10.yaml").write_text("tasks:\n" + "".join(
        f"  - {{id: d{i}, title: D{i}, team: engineering, type: design, estimate: 2}}\n" for i in range(4)),
        encoding="utf-8")
    start_sprint(store, "sprint-10")
    (designer,), _ = auto_pool(org, store.get("tasks.d0"))
    forecast = sprint_status(store, "sprint-10", now=NOW, seed=5)["forecast"]
    assert forecast["p50_hours"] == math.ceil(4 / org.member(designer).capacity) * hours


def test_a_blocked_sprint_has_no_forecast_until_its_work_can_go_on(store, sample: Path) -> None:
    from orchestra.workflow.states import sync_blocked

    (sample / ".claude/sprints/sprint-8.yaml").write_text(
        "tasks:\n  - {id: b0, title: B0, team: engineering, estimate: 2}\n"
        "  - {id: b1, title: B1, team: engineering, estimate: 3}\n"
        "  - {id: b2, title: B2, team: engineering, estimate: 5, dependencies: [b1]}\n", encoding="utf-8")
    start_sprint(store, "sprint-8")
    work(store, "b0", "in_progress", "2026-12-01T09:00:00.000Z")
    work(store, "b0", "completed", "2026-12-01T13:00:00.000Z")  # 2 h a point to learn from
    assert sprint_status(store, "sprint-8", now=NOW)["forecast"]["p50_hours"] == 16.0  # b1 then b2: 8 x 2 h
    work(store, "b1", "blocked", "2026-12-02T09:00:00.000Z", blocker="waiting for the vendor's sandbox")
    with store.transaction() as tx:
        sync_blocked(tx, "sprint-8")
    status = sprint_status(store, "sprint-8", now=NOW)
    assert status["status"] == "blocked"  # every remaining task waits on b1's blocker: no date can be given
    assert status["forecast"]["available"] is False and "waits on a blocker" in status["forecast"]["reason"]
    with store.transaction() as tx:
        tx.update("tasks.b1", {"status": "queued", "blocker": None})
        sync_blocked(tx, "sprint-8")
    assert sprint_status(store, "sprint-8", now=NOW)["forecast"]["available"] is True
    block_sprint(store, "sprint-8", "release freeze")
    forecast = sprint_status(store, "sprint-8", now=NOW)["forecast"]
    assert forecast["available"] is False and "release freeze" in forecast["reason"]
    assert "orchestra sprint unblock sprint-8" in forecast["reason"]


def test_task_ids_are_global_but_carried_over_work_can_join_a_new_sprint(store, sample: Path) -> None:
    start_sprint(store, "sprint-3")
    work(store, "task-oauth", "completed", "2026-12-02T15:00:00.000Z")
    (sample / ".claude/sprints/sprint-4.yaml").write_text(
        "tasks:\n  - {id: task-oauth, title: again}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"sprint-4.yaml:2: task task-oauth is also defined in "
                                         r".claude/sprints/sprint-3.yaml \(sprint sprint-3\).*or close sprint-3"):
        load_sprint_into_state(store, "sprint-4")
    for task in ("task-2fa", "task-payments-api", "task-fraud-rules", "task-checkout", "task-security-review"):
        work(store, task, "cancelled" if task == "task-security-review" else "completed", "2026-12-03T10:00:00Z")
    with store.transaction() as tx:
        tx.update("tasks.task-security-review", {"status": "queued"})
    close_sprint(store, "sprint-3", now=NOW)
    (sample / ".claude/sprints/sprint-4.yaml").write_text(
        "tasks:\n  - {id: task-security-review, title: Security review, estimate: 2}\n"
        "  - {id: task-pen-test, title: Penetration test, dependencies: [task-security-review]}\n",
        encoding="utf-8")
    start_sprint(store, "sprint-4")
    moved = store.get("tasks.task-security-review")
    assert moved["sprint"] == "sprint-4" and moved["carried_over_from"] == "sprint-3"


def test_an_end_before_the_day_a_sprint_without_a_start_starts_is_refused(store, sample: Path) -> None:
    path = sample / ".claude/sprints/late.yaml"
    path.write_text("id: late\nend: 2020-01-10\ntasks:\n  - {id: l1, title: L1, team: engineering}\n",
                    encoding="utf-8")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    for step in (load_sprint_into_state, start_sprint):
        with pytest.raises(ValueError, match=rf"late.yaml:2: end 2020-01-10 is before {today}, the day sprint late "
                                             r"starts \(it has no `start:`"):
            step(store, "late")
    assert store.get("sprints", {}) == {} and store.get("tasks", {}) == {}  # nothing recorded


def test_unknown_sprint_is_a_clear_error(store) -> None:
    with pytest.raises(ValueError, match="sprint 'sprint-99': no such file"):
        plan_sprint(store, "sprint-99")


def test_the_carried_over_ids_of_a_retrospective_read_back_whatever_their_characters() -> None:
    ids = ["t__x_", "A-1", "x_y", "9"]
    row = {"title": "a: b | c", "status": "queued", "estimate": 1.0}
    retro = {"sprint": "s_", "closed_at": "2026-12-06T00:00:00Z", "completed_points": 1, "planned_points": 5,
             "carried_over_points": 4, "completed": [{"id": "done_", "title": "D", "estimate": 1, "cycle_hours": None}],
             "carried_over": [{"id": i, **row} for i in ids], "blockers": [], "cycle_time": {"mean_hours": None,
                                                                                           "median_hours": None}}
    assert "t\\_\\_x\\_" in markdown(retro)  # written escaped, as Markdown
    assert carried_over_ids(markdown(retro)) == ids
