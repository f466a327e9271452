"""SubagentStart's guess of which delegation a run belongs to, and what it tells the run about its task."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import hook_output, run_hook
from tests.hooks.test_delegation import seed, write_teams
from tests.hooks.test_gates import pre, start


def context(project: Path, agent_id: str) -> str:
    proc = run_hook("subagent_start.py", start(project, agent_id, "fullstack-eng"), project)
    assert proc.returncode == 0, proc.stderr
    return hook_output(proc)["hookSpecificOutput"]["additionalContext"]


def test_a_run_guessed_after_an_uncertain_guess_is_not_told_a_task_for_sure(project: Path) -> None:
    write_teams(project)
    seed(project, {"feat-n": {"title": "Feature N"}, "feat-o": {"title": "Feature O"}})
    for use, task in (("toolu_n", "feat-n"), ("toolu_o", "feat-o")):
        assert run_hook("pre_agent.py", pre(project, use, "fullstack-eng", f"[task:{task}] build"), project).returncode == 0
    # the runs start in the other order than their delegations (one was slower to launch): the first run
    # takes feat-n's delegation by guess, so the second one's feat-o is a guess too, however alone it is
    first, second = context(project, "agent-o"), context(project, "agent-n")
    assert "feat-" not in first and "[task:<id>] in your prompt" in first, first
    assert "feat-" not in second and "[task:<id>] in your prompt" in second, second
