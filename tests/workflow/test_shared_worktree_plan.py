"""A started sprint's plan offers now only what the delegation gate takes: tasks that share one worktree
(a team's, sprint's or epic's `worktree_strategy`) run one at a time, as two runs never share a worktree."""

from __future__ import annotations

import json
from pathlib import Path

from orchestra.cli import main

from tests.conftest import hook_output, run_hook
from tests.workflow.conftest import with_sprint_committed
from tests.worktrees.conftest import delegation

SPRINT = """id: sprint-9
name: Research
goal: g
tasks:
  - {id: p1, title: P1, assignee: product-manager, type: spec}
  - {id: p2, title: P2, assignee: product-manager, type: spec}
  - {id: p3, title: P3, assignee: business-analyst, type: spec}
"""


def plan(capsys) -> dict[str, dict]:
    assert main(["sprint", "plan", "sprint-9", "--json"]) == 0
    return {t["id"]: t for wave in json.loads(capsys.readouterr().out)["batches"] for t in wave["tasks"]}


def test_tasks_sharing_a_team_worktree_are_offered_one_at_a_time(sample: Path, capsys, monkeypatch) -> None:
    # product works in one team worktree (`worktree_strategy: team` in teams.yaml); its team runs 3 at once
    with_sprint_committed(sample, monkeypatch, "sprint-9", SPRINT)
    assert main(["sprint", "start", "sprint-9", "--json"]) == 0
    capsys.readouterr()

    tasks = plan(capsys)
    assert tasks["p1"]["agent"] is not None  # the first of the wave takes the worktree
    for tid in ("p2", "p3"):
        assert tasks[tid]["agent"] is None, tid
        assert tasks[tid]["not_now"] == ("waits for its worktree team-product-work, which p1 takes first (two runs "
                                         "never share a worktree)"), tasks[tid]["not_now"]

    out = hook_output(run_hook("pre_agent.py", delegation(sample, "toolu_p1", "product-manager", "p1"), sample))
    assert "permissionDecision" not in out.get("hookSpecificOutput", {}), out
    tasks = plan(capsys)
    assert tasks["p2"]["agent"] is None and tasks["p3"]["agent"] is None
    assert tasks["p2"]["not_now"].startswith("waits for its worktree team-product-work, held by delegation toolu_p1 "
                                             "(task p1"), tasks["p2"]["not_now"]
    # what the plan holds back, the gate refuses
    denied = hook_output(run_hook("pre_agent.py", delegation(sample, "toolu_p2", "product-manager", "p2"), sample))
    assert denied["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "team-product-work" in denied["hookSpecificOutput"]["permissionDecisionReason"]
    assert main(["sprint", "plan", "sprint-9"]) == 0
    text = capsys.readouterr().out
    assert "delegate now: nothing" in text and "  p2: waits for its worktree team-product-work, held by" in text
