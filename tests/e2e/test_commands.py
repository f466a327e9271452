"""Slash commands through the real CLI: each `!` line must succeed, or Claude Code aborts the command and
shows the user only that line's stderr (the model is never asked)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.e2e.fake_api import bash, say
from tests.e2e.harness import MODEL, REPO, RUN_TIMEOUT, Sandbox


def command(box: Sandbox, api, line: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    cmd = [str(box.claude), "-p", line, "--output-format", "stream-json", "--verbose", "--model", MODEL]
    proc = subprocess.run(cmd, cwd=box.repo, env=box.env(api), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    results = [m["result"] for m in map(json.loads, filter(None, proc.stdout.splitlines())) if m.get("type") == "result"]
    return proc, results


def started_sprint(box: Sandbox) -> None:
    shutil.copytree(REPO / ".claude" / "sprints", box.repo / ".claude" / "sprints", dirs_exist_ok=True)
    bin_ = box.repo / ".claude" / "orchestra" / "bin" / "orchestra"
    out = subprocess.run([str(bin_), "sprint", "start", "sprint-3"], cwd=box.repo, env=box.env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_report_without_a_sprint_id_reports_the_sprint_in_progress(sandbox, api):
    started_sprint(sandbox)
    asked = api.script.on("Write a stakeholder report").reply(say("Reported."))
    proc, results = command(sandbox, api, "/orchestra:report")
    assert results == ["Reported."], (proc.stderr, results)
    [request] = api.conversation(asked)
    assert "wrote " in request.last_user_text and "sprint-3.html" in request.last_user_text
    assert (sandbox.repo / ".claude" / "sprints" / "reports" / "sprint-3.md").is_file()


def test_the_overview_shows_sprints_agents_and_inbox(sandbox, api):
    started_sprint(sandbox)
    asked = api.script.on("Agents at work:").reply(say("Overview."))
    proc, results = command(sandbox, api, "/orchestra:status")
    assert results == ["Overview."], (proc.stderr, results)
    [request] = api.conversation(asked)
    shown = request.last_user_text
    assert "sprint-3  active" in shown and "no live agent runs" in shown, shown[-1500:]


def test_a_sprint_start_whose_setup_fails_tells_the_user_why(sandbox, api):
    """Claude Code aborts /sprint:start on the exit 1 and shows only stderr: it must name the failure."""
    shutil.copytree(REPO / ".claude" / "sprints", sandbox.repo / ".claude" / "sprints", dirs_exist_ok=True)
    (sandbox.repo / ".claude" / "worktrees.yaml").write_text("setup: 'exit 3'\n", encoding="utf-8")
    proc, [shown] = command(sandbox, api, "/sprint:start sprint-3")
    assert shown.startswith("Shell command failed") and "setup `exit 3` failed (exit 3)" in shown, shown
    assert "sprint-3 is started all the same" in shown, shown


@pytest.mark.parametrize("line", ["/sprint:start", "/sprint:plan", "/sprint:close", "/epic:plan", "/epic:status",
                                  "/task:delegate"])
def test_a_command_run_without_its_id_says_which_argument_is_missing(sandbox, api, line):
    """Claude Code refuses a `!` line holding a `$0` nobody gave ("a variable in this command can't be
    checked"), which names nothing: the CLI must be run and say what is missing."""
    proc, [shown] = command(sandbox, api, line)
    assert shown.startswith("Shell command failed") and "the following arguments are required" in shown, shown
    assert not api.requests  # the model is never asked


def test_a_quoted_sprint_id_reaches_the_cli_as_one_argument(sandbox, api):
    proc, [shown] = command(sandbox, api, '/sprint:plan "sprint 9"')
    assert "sprint 'sprint 9': no such file" in shown, shown


def test_a_handoff_without_its_task_id_reaches_the_model_which_asks_for_it(sandbox, api):
    """`$1` in a `!` line aborts the command with words that name nothing; the task is shown by the model."""
    asked = api.script.on("Hand task").reply(say("Which task?"))
    proc, results = command(sandbox, api, "/msg:handoff qa-engineer")
    assert results == ["Which task?"], (proc.stderr, results)
    [request] = api.conversation(asked)
    assert "qa-engineer" in request.last_user_text and "ask the user for it" in request.last_user_text


def test_a_handoff_sends_the_tasks_artifacts_to_the_recipient(sandbox, api):
    sandbox.seed({"tasks.t1": {"id": "t1", "title": "Cart API", "status": "completed", "type": "feature",
                               "team": "engineering", "assignee": "fullstack-eng", "priority": "normal",
                               "dependencies": [], "artifacts": ["cart.py"]}})
    bin_ = ".claude/orchestra/bin/orchestra"
    asked = api.script.on("Hand task").reply(bash(f"{bin_} task show t1")) \
        .reply(bash(f'{bin_} msg handoff qa-engineer --task t1 --note "ready for tests"')).reply(say("Handed over."))
    proc, results = command(sandbox, api, "/msg:handoff qa-engineer t1 ready for tests")
    assert results == ["Handed over."], (proc.stderr, results)
    shown, sent = (request.tool_results() for request in api.conversation(asked)[1:])
    assert "Cart API" in shown[0]["text"] and not sent[0]["is_error"], (shown, sent)
    with sandbox.state() as tx:
        [message] = [m for m in tx.items("communication.messages").values() if m.get("task") == "t1"]
    assert (message["to"], message["type"]) == ("qa-engineer", "artifact_ready"), message
