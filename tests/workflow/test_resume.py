"""`/sprint:start` run again mid-sprint resumes it: `orchestra sprint start` and `sprint plan` (the lines
the command runs) offer every task that can be delegated now, never one someone is working on, and
say for every other task why not now.

The work before the restart goes through the real lifecycle handlers (delegation, reports, session
end) on a real store; the sprint commands through the real CLI parser.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestra.cli import main
from orchestra.hookio import Rewrite

from tests.hooks.test_delegation import feed
from tests.hooks.test_gates import base, delegate_and_start, pre, stop

TEAMS = """\
teams:
  engineering:
    orchestrator: engineering-director
    members:
      - {name: fullstack-eng, role: team_member, capacity: 2}
      - {name: api-engineer, role: team_member, capacity: 1}
      - {name: ux-eng, role: team_member, capacity: 1}
      - {name: tech-lead, role: reviewer, capacity: 2}
    settings: {max_parallel_agents: 2, require_review: REVIEW, worktree_strategy: none}
"""
SPRINT = """\
id: sprint-r
name: Resume
goal: A, B and D, then C joins A and B.
start: 2026-12-01
end: 2026-12-14
tasks:
  - {id: t-a, title: Feature A, team: engineering, assignee: fullstack-eng, estimate: 2}
  - {id: t-b, title: Feature B, team: engineering, assignee: api-engineer, estimate: 3}
  - {id: t-d, title: Feature D, team: engineering, assignee: ux-eng, estimate: 1}
  - {id: t-c, title: Join A and B, team: engineering, assignee: fullstack-eng, estimate: 1, dependencies: [t-a, t-b]}
"""


def started(project: Path, capsys, *, review: bool = False) -> None:
    (project / ".claude/teams.yaml").write_text(TEAMS.replace("REVIEW", str(review).lower()), encoding="utf-8")
    (project / ".claude/sprints").mkdir()
    (project / ".claude/sprints/sprint-r.yaml").write_text(SPRINT, encoding="utf-8")
    cli(capsys, "sprint", "start", "sprint-r", "--json")


def cli(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def member_reports(project: Path, task: str, member: str, n: int, report: str, writes: list[str] = ()) -> None:
    """A member delegated `task` ([task:] tag, as the plan gives it) and ending with `report`."""
    delegate_and_start(project, f"toolu_{n}", f"agent-{n}", member, task)
    feed(stop(project, f"agent-{n}", member, report, writes=writes, prompt=f"[task:{task}] do it"))


def resumed(capsys) -> dict[str, dict]:
    """`orchestra sprint start` again (what /sprint:start runs): task id -> its plan item."""
    result = json.loads(cli(capsys, "sprint", "start", "sprint-r", "--json"))
    assert not result["started"]
    return {t["id"]: t for wave in result["plan"]["batches"] for t in wave["tasks"]}


def offered(plan: dict[str, dict]) -> list[str]:
    return sorted(tid for tid, item in plan.items() if item["agent"])


def test_work_a_review_sent_back_is_offered_again_with_the_findings(project: Path, capsys) -> None:
    started(project, capsys, review=True)
    member_reports(project, "t-a", "fullstack-eng", 1, "Built.\nSTATUS: completed", writes=["src/a.py"])
    cli(capsys, "task", "set-status", "t-a", "in_progress", "--reason", "empty input crashes the parser")

    plan = resumed(capsys)
    assert offered(plan) == ["t-a", "t-b"]  # two slots: t-d waits for one
    assert "[task:t-a]" in plan["t-a"]["agent"]["prompt"] and plan["t-a"]["not_now"] is None
    assert plan["t-d"]["not_now"] == "waits for a free slot: team engineering runs 2 at once (t-b, t-a)"
    status = json.loads(cli(capsys, "sprint", "status", "sprint-r", "--json"))
    assert "t-a" in status["ready"] and "t-a" not in status["running"]


def test_a_task_whose_run_ended_with_its_session_is_offered_again(project: Path, capsys) -> None:
    started(project, capsys)
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t-b")
    feed({**base(project), "hook_event_name": "SessionEnd", "reason": "prompt_input_exit"})
    assert json.loads(cli(capsys, "task", "show", "t-b", "--json"))["task"]["status"] == "blocked"

    plan = resumed(capsys)
    assert offered(plan) == ["t-a", "t-b"] and plan["t-b"]["agent"]["subagent_type"] == "api-engineer"


def test_a_blocked_task_says_by_what_until_its_blocker_is_resolved(project: Path, capsys) -> None:
    started(project, capsys)
    member_reports(project, "t-b", "api-engineer", 1, "STATUS: blocked\nBLOCKER: no payments API key")

    plan = resumed(capsys)
    assert offered(plan) == ["t-a", "t-d"]
    assert plan["t-b"]["not_now"] == ("blocked: no payments API key; once that is resolved, "
                                      "`orchestra task set-status t-b queued` makes it ready again")
    assert plan["t-c"]["not_now"] == "waits on t-a (queued), t-b (blocked)"
    text = cli(capsys, "sprint", "plan", "sprint-r")
    assert "\ndelegate now: engineering: t-a, t-d\nnot now:\n  t-b: blocked: no payments API key;" in text
    assert "\nblocked: t-b: no payments API key (owner: api-engineer)\n" in cli(capsys, "sprint", "status", "sprint-r")
    assert "\n  t-c: waits on t-a (queued), t-b (blocked)" in text

    cli(capsys, "task", "set-status", "t-b", "queued", "--reason", "the key is in the vault")
    assert offered(resumed(capsys)) == ["t-a", "t-b"]


def test_running_work_is_not_offered_twice_and_takes_its_slot(project: Path, capsys) -> None:
    started(project, capsys)
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t-b")

    plan = resumed(capsys)
    assert offered(plan) == ["t-a"]  # t-b runs in one of the team's two slots
    assert plan["t-b"]["not_now"] == "in_progress: agent agent-1 (api-engineer)"
    assert plan["t-d"]["not_now"] == "waits for a free slot: team engineering runs 2 at once (t-b, t-a)"
    status = json.loads(cli(capsys, "sprint", "status", "sprint-r", "--json"))
    assert status["running"] == ["t-b"] and status["holders"] == {"t-b": "agent agent-1 (api-engineer)"}
    assert "; running: t-b by agent agent-1 (api-engineer)\n" in cli(capsys, "sprint", "status", "sprint-r")


def test_work_awaiting_review_leaves_its_slot_to_work_that_can_start(project: Path, capsys) -> None:
    started(project, capsys, review=True)
    member_reports(project, "t-a", "fullstack-eng", 1, "Built.\nSTATUS: completed", writes=["src/a.py"])
    member_reports(project, "t-b", "api-engineer", 2, "Built.\nSTATUS: completed", writes=["src/b.py"])

    plan = resumed(capsys)
    assert offered(plan) == ["t-d"]  # nobody runs: the gate would take it, so the plan offers it
    assert plan["t-a"]["not_now"].startswith("awaiting review by tech-lead")


def test_a_sprint_with_every_task_finished_says_to_close_it(project: Path, capsys) -> None:
    started(project, capsys)
    for task in ("t-a", "t-b", "t-d", "t-c"):
        cli(capsys, "task", "set-status", task, "completed")
    assert "delegate now: nothing (every task is finished: close the sprint with `orchestra sprint close " \
           "sprint-r`)" in cli(capsys, "sprint", "plan", "sprint-r")



def test_an_active_sprint_resumes_from_state_whatever_its_file_now_says(project: Path, capsys) -> None:
    started(project, capsys)
    sprint_file = project / ".claude/sprints/sprint-r.yaml"
    sprint_file.write_text(SPRINT.replace("team: engineering, assignee: ux-eng", "team: mobile, assignee: ux-eng"),
                           encoding="utf-8")  # edited mid-sprint, and wrong: state is the truth now
    assert offered(resumed(capsys)) == ["t-a", "t-b"]
    sprint_file.unlink()  # moved away once the sprint was under way
    assert offered(resumed(capsys)) == ["t-a", "t-b"]


def test_a_sprint_in_review_or_closed_is_not_resumed_and_the_refusal_says_what_to_do(project: Path, capsys) -> None:
    started(project, capsys)
    for task in ("t-a", "t-b", "t-d"):
        cli(capsys, "task", "set-status", task, "completed")
    cli(capsys, "sprint", "close", "sprint-r", "--review")
    assert main(["sprint", "start", "sprint-r"]) == 1
    assert capsys.readouterr().err == (
        "orchestra sprint: sprint sprint-r is in review, so no work is started in it: finish it with `orchestra "
        "sprint close sprint-r`, or, when the review found issues, `orchestra sprint close sprint-r --reopen REASON` "
        "and start it again\n")
    cli(capsys, "sprint", "close", "sprint-r")
    assert main(["sprint", "start", "sprint-r"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("orchestra sprint: sprint sprint-r is complete (closed 20") and err.endswith(
        "), so there is nothing to start or resume; its unfinished work (t-c) was carried over: list it in a later "
        "sprint's file; `orchestra sprint status sprint-r` shows how it ended\n")


OTHER = """\
id: sprint-o
tasks:
  - {id: t-o, title: More API work, team: engineering, assignee: api-engineer}
  - {id: t-p, title: More UI work, team: engineering, assignee: ux-eng}
"""


def test_a_plan_offers_no_task_the_capacity_gate_refuses_for_another_sprints_work(project: Path, capsys) -> None:
    started(project, capsys)
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t-b")  # api-engineer takes 1 at once
    (project / ".claude/sprints/sprint-o.yaml").write_text(OTHER, encoding="utf-8")
    result = json.loads(cli(capsys, "sprint", "start", "sprint-o", "--json"))
    plan = {t["id"]: t for wave in result["plan"]["batches"] for t in wave["tasks"]}
    assert offered(plan) == ["t-p"]
    assert plan["t-o"]["not_now"] == "waits for api-engineer, who takes 1 at once (run agent-1 (t-b))"
    args = plan["t-p"]["agent"]
    assert isinstance(feed(pre(project, "toolu_2", args["subagent_type"], args["prompt"])), Rewrite)

    # engineering now runs 2 at once (agent-1 and the delegation of t-p): sprint-r's own wave had room for t-a
    plan = resumed(capsys)
    assert offered(plan) == []
    assert plan["t-a"]["not_now"] == ("waits for a free slot: team engineering runs 2 at once "
                                      "(run agent-1 (t-b), starting toolu_2 (t-p))")
    assert plan["t-d"]["not_now"] == "waits for ux-eng, who takes 1 at once (starting toolu_2 (t-p))"
    refused = feed(pre(project, "toolu_3", "fullstack-eng", "[task:t-a] Feature A"))
    assert not isinstance(refused, Rewrite) and "team engineering is at max_parallel_agents 2" in refused.reason
