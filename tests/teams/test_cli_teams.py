"""`orchestra teams` and `orchestra teams check`, in-process and through the pack's own CLI shim."""

from __future__ import annotations

import json
import os
import shlex
import subprocess

from orchestra.cli import main

from .conftest import CLAUDE, MEMBERS, TEAMS


def test_teams_json_lists_the_organisation(pack_copy, capsys):
    assert main(["teams", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {name: t["orchestrator"] for name, t in data["teams"].items()} == TEAMS
    assert {name: t["members"] for name, t in data["teams"].items()} == MEMBERS
    assert data["agents"]["tech-lead"] == {"team": "engineering", "role": "reviewer", "capacity": 2,
                                           "specialties": ["architecture", "code-review"],
                                           "capabilities": ["design", "review"]}
    assert data["teams"]["devops"]["settings"]["auto_assign"] is False


def test_teams_text_names_recipients(pack_copy, capsys):
    assert main(["teams"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["agent", "team", "role", "capacity", "takes"]
    assert "teams: team:product, team:engineering, team:qa, team:devops" in out


def test_check_passes_then_fails_with_each_problem_on_a_line(pack_copy, capsys):
    assert main(["teams", "check"]) == 0
    assert capsys.readouterr().out == "teams.yaml, 20 agent files and 16 commands agree\n"
    (pack_copy / ".claude/agents/devops/release-manager.md").unlink()
    assert main(["teams", "check", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and len(report["problems"]) == 1
    assert "'release-manager' has no agent file" in report["problems"][0]


def test_broken_teams_yaml_is_one_error_with_file_and_line(pack_copy, capsys):
    target = pack_copy / ".claude/teams.yaml"
    target.write_text(target.read_text().replace("main_session_role: orchestrator", "main_session_role: boss"))
    assert main(["teams"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"orchestra teams: {target}:") and "main_session_role" in err


def test_check_puts_each_error_of_a_broken_teams_yaml_on_its_own_line(pack_copy, capsys):
    """A value misspelled throughout teams.yaml is several errors, each at its own file:line: `teams check`
    prints one per line (and one per entry of its JSON), not all run together on one line."""
    target = pack_copy / ".claude/teams.yaml"
    target.write_text(target.read_text().replace("role: team_member", "role: team-member"))
    assert main(["teams", "check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 1 and all(line.startswith(f"{target}:") and line.count(f"{target}:") == 1
                                  for line in lines), lines
    assert all("(write 'team_member')" in line for line in lines[:5]) and "more like these" in lines[5]
    assert main(["teams", "check", "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert len(problems) == len(lines) and not any("\n" in p for p in problems)


def test_shim_runs_the_check_in_the_repo():
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(CLAUDE.parent)}
    out = subprocess.run([str(CLAUDE / "orchestra" / "bin" / "orchestra"), "teams", "check"], cwd=CLAUDE.parent,
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "teams.yaml, 20 agent files and 16 commands agree"


def test_plugin_form_check_counts_the_plugins_agents_and_takes_their_tool_names(project):
    """A plugin-only project (README, "Plugin"): teams.yaml copied from templates/, no agent files of its own
    but a reviewer added with the plugin's tool names. The plugin ships the twenty agents teams.yaml names."""
    (project / ".claude" / "teams.yaml").write_text(
        (CLAUDE.parent / "templates" / "teams.yaml").read_text().replace(
            "      - name: release-manager", "      - name: security-reviewer\n        role: reviewer\n"
            "        capabilities: [review]\n      - name: release-manager"))
    reviewer = project / ".claude" / "agents" / "devops" / "security-reviewer.md"
    reviewer.parent.mkdir(parents=True)
    reviewer.write_text("---\nname: security-reviewer\ndescription: Use for reviewing security changes.\n"
                        "tools: Read, mcp__plugin_orchestra_orchestra__update_task\n---\nReview.\n")
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project), "CLAUDE_PLUGIN_ROOT": str(CLAUDE.parent)}
    shim = [str(CLAUDE / "orchestra" / "bin" / "orchestra"), "teams", "check"]
    out = subprocess.run(shim, cwd=project, capture_output=True, text=True, timeout=120, env=env)
    assert (out.returncode, out.stdout.strip()) == (0, "teams.yaml, 1 agent files and 0 commands agree"), out.stdout
    reviewer.write_text(reviewer.read_text().replace("update_task", "ask"))
    out = subprocess.run(shim, cwd=project, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 1
    assert out.stdout.strip() == (f"{reviewer}:4: tools: reviewer 'security-reviewer' needs "
                                  "mcp__plugin_orchestra_orchestra__update_task to record review verdicts")
    # the project's names of the tools (templates/agent.md's) name nothing without a server of the project's own
    reviewer.write_text(reviewer.read_text().replace("mcp__plugin_orchestra_orchestra__ask",
                                                     "mcp__orchestra__update_task"))
    out = subprocess.run(shim, cwd=project, capture_output=True, text=True, timeout=120, env=env)
    assert out.stdout.strip() == (
        f"{reviewer}:4: tools: mcp__orchestra__update_task names no tool in plugin form, where this project has no "
        "orchestra server of its own (.mcp.json): write mcp__plugin_orchestra_orchestra__update_task")
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"orchestra": {"command": "x"}}}))
    out = subprocess.run(shim, cwd=project, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stdout


def test_plugin_cli_outside_a_project_with_teams_yaml_says_to_copy_the_template_not_to_install(tmp_path):
    """README, "Plugin": a plugin-only project's commands run the plugin's CLI from the project root. Before it
    has a .claude/, the refusal gives the command that writes its teams.yaml (an install would put a second pack
    beside the plugin), and writes nothing."""
    project = tmp_path / "plugin project"
    project.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLAUDE_PROJECT_DIR", "ORCHESTRA_STATE_URL", "ORCHESTRA_STATE_DIR")}
    env["CLAUDE_PLUGIN_ROOT"] = str(CLAUDE.parent)
    out = subprocess.run([str(CLAUDE / "orchestra" / "bin" / "orchestra"), "teams", "check"], cwd=project,
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 1 and len(out.stderr.splitlines()) == 1, out.stderr
    template = CLAUDE.parent / "templates" / "teams.yaml"
    assert f"cp {shlex.quote(str(template))} {shlex.quote(str(project / '.claude/teams.yaml'))}`" in out.stderr
    assert "orchestra install" not in out.stderr
    assert list(project.iterdir()) == []


def test_json_is_json_before_and_after_the_subcommand(pack_copy, capsys):
    outputs = []
    for argv in (["teams", "--json", "check"], ["teams", "check", "--json"]):
        assert main(argv) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] == {"ok": True, "problems": []}
    assert main(["teams", "check"]) == 0 and capsys.readouterr().out.startswith("teams.yaml, ")


def test_no_subcommand_hides_its_parents_json_flag():
    """Every command whose parent also takes --json must leave the parent's value alone unless given."""
    import argparse

    from orchestra.cli import build_parser

    def walk(parser, path, parent_json):
        own = {a.dest: a for a in parser._actions}.get("json")
        if parent_json and own is not None:
            assert own.default is argparse.SUPPRESS, f"`orchestra {' '.join(path)} --json` overrides its parent's"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*path, name], parent_json or own is not None)
        yield path

    assert len(list(walk(build_parser(), [], False))) > 40


SPRINT = """\
id: {id}
name: {name}
tasks:
  - {{id: {prefix}-api, title: API, team: engineering, assignee: api-engineer, estimate: 2}}
  - {{id: {prefix}-spec, title: Spec, type: spec, team: product, assignee: product-manager, estimate: 1}}
"""


def test_check_names_open_work_left_under_a_team_renamed_in_teams_yaml(pack_copy, capsys):
    sprints = pack_copy / ".claude" / "sprints"
    sprints.mkdir()
    for ident, prefix in (("sprint-1", "old"), ("sprint-2", "new")):
        (sprints / f"{ident}.yaml").write_text(SPRINT.format(id=ident, name=ident, prefix=prefix))
        assert main(["sprint", "start", ident]) == 0
    assert main(["state", "set", "sprints.sprint-1.status", '"complete"']) == 0  # closed: history
    capsys.readouterr()
    assert main(["teams", "check"]) == 0
    teams_file = pack_copy / ".claude/teams.yaml"
    teams_file.write_text(teams_file.read_text().replace("\n  engineering:\n", "\n  platform:\n"))
    capsys.readouterr()

    assert main(["teams", "check", "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert problems == [
        "state: team 'engineering' is not in .claude/teams.yaml, but 1 task(s) of sprints not closed still carry it: "
        "new-api (sprint-2); rename the team back in teams.yaml, or move each task to a team it has with "
        "`orchestra task set-team TASK TEAM`"]
    assert main(["task", "set-team", "new-api", "platform"]) == 0  # as the message says
    capsys.readouterr()
    assert main(["teams", "check"]) == 0
    assert main(["task", "list", "--team", "platform", "--json"]) == 0
    assert "new-api" in capsys.readouterr().out


def test_check_names_features_of_epics_left_under_a_team_renamed_in_teams_yaml(pack_copy, capsys):
    epics = pack_copy / ".claude" / "epics"
    epics.mkdir()
    (epics / "mobile.yaml").write_text("id: mobile\nname: Mobile\nfeatures:\n"
                                       "  - {id: feat-login, title: Login, team: engineering, estimate: 3}\n"
                                       "  - {id: feat-copy, title: Copy, team: product, estimate: 1}\n")
    assert main(["epic", "load", "mobile"]) == 0
    teams_file = pack_copy / ".claude/teams.yaml"
    teams_file.write_text(teams_file.read_text().replace("\n  engineering:\n", "\n  platform:\n"))
    capsys.readouterr()
    assert main(["teams", "check", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["problems"] == [
        "state: team 'engineering' is not in .claude/teams.yaml, but feature(s) of epics not done still carry it: "
        "mobile/feat-login; rename the team back in teams.yaml, or change `team:` in the epic's file and run "
        "`orchestra epic load EPIC` again"]


def test_check_names_unfinished_tasks_assigned_to_a_member_renamed_in_teams_yaml(pack_copy, capsys):
    sprints = pack_copy / ".claude" / "sprints"
    sprints.mkdir()
    (sprints / "sprint-1.yaml").write_text(SPRINT.format(id="sprint-1", name="sprint-1", prefix="s1"))
    assert main(["sprint", "start", "sprint-1"]) == 0
    assert main(["task", "set-status", "s1-spec", "completed"]) == 0  # finished: history
    for path in (pack_copy / ".claude/teams.yaml", pack_copy / ".claude/agents/engineering/api-engineer.md"):
        path.write_text(path.read_text().replace("api-engineer", "api-eng").replace("product-manager", "pm"))
    (pack_copy / ".claude/agents/engineering/api-engineer.md").rename(pack_copy / ".claude/agents/engineering/api-eng.md")
    (pack_copy / ".claude/agents/product/product-manager.md").unlink()
    capsys.readouterr()

    assert main(["teams", "check", "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [p for p in problems if p.startswith("state:")] == [
        "state: agent 'api-engineer' is not in .claude/teams.yaml, but 1 unfinished task(s) are still assigned to it: "
        "s1-api (sprint-1); add it back, or assign each to a member with `orchestra state set "
        "tasks.TASK.assignee '\"<member>\"'`"]
    assert main(["state", "set", "tasks.s1-api.assignee", '"api-eng"']) == 0  # as the message says
    capsys.readouterr()
    assert main(["teams", "check", "--json"]) == 1
    assert not [p for p in json.loads(capsys.readouterr().out)["problems"] if p.startswith("state:")]


def test_a_task_of_a_renamed_member_delegated_to_its_new_name_is_assigned_to_it(pack_copy, capsys):
    """After `api-engineer` becomes `api-eng`, its director delegates the task to `api-eng` (as `task delegate`
    says to): the real PreToolUse hook lets the call through, and the task is then assigned to `api-eng`, so
    `teams check` no longer reports it as stranded and `task delegate` hands it to the member doing it."""
    from tests.conftest import run_hook

    sprints = pack_copy / ".claude" / "sprints"
    sprints.mkdir()
    (sprints / "sprint-1.yaml").write_text(SPRINT.format(id="sprint-1", name="sprint-1", prefix="s1"))
    assert main(["sprint", "start", "sprint-1"]) == 0
    for path in (pack_copy / ".claude/teams.yaml", pack_copy / ".claude/agents/engineering/api-engineer.md"):
        path.write_text(path.read_text().replace("api-engineer", "api-eng"))
    (pack_copy / ".claude/agents/engineering/api-engineer.md").rename(pack_copy / ".claude/agents/engineering/api-eng.md")
    payload = {"session_id": "e03b907e-ee2c-4744-9285-bf50dfb6a951", "transcript_path": "/tmp/t.jsonl",
               "cwd": str(pack_copy), "permission_mode": "default", "hook_event_name": "PreToolUse",
               "agent_id": "aeeb68e76385627ad", "agent_type": "engineering-director", "tool_name": "Agent",
               "tool_input": {"description": "s1-api API", "prompt": "[task:s1-api] API", "subagent_type": "api-eng",
                              "run_in_background": False}, "tool_use_id": "toolu_01RenamedMember"}
    out = run_hook("pre_agent.py", payload, pack_copy)
    assert out.returncode == 0 and "updatedInput" in out.stdout.decode(), out.stdout + out.stderr
    capsys.readouterr()

    assert main(["task", "show", "s1-api", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["task"]["assignee"] == "api-eng"
    assert main(["teams", "check", "--json"]) == 0, capsys.readouterr().out


def test_check_names_open_messages_to_a_member_renamed_in_teams_yaml(pack_copy, capsys):
    """A question to `tech-lead` waits in no inbox once teams.yaml calls the reviewer `lead-reviewer`."""
    for to in ("tech-lead", "qa-analyst"):
        question = ["--payload", '{"question": "Which schema?"}', "--id", f"q-{to}"]
        assert main(["msg", "send", to, "question", *question]) == 0
    for path in (pack_copy / ".claude/teams.yaml", pack_copy / ".claude/agents/engineering/tech-lead.md"):
        path.write_text(path.read_text().replace("tech-lead", "lead-reviewer"))
    (pack_copy / ".claude/agents/engineering/tech-lead.md").rename(
        pack_copy / ".claude/agents/engineering/lead-reviewer.md")
    capsys.readouterr()

    assert main(["teams", "check", "--json"]) == 1
    assert [p for p in json.loads(capsys.readouterr().out)["problems"] if p.startswith("state:")] == [
        "state: agent 'tech-lead' is not in .claude/teams.yaml, but 1 open message(s) are still addressed to it, which "
        "no run reads: q-tech-lead (question); add it back, or address each to an agent it has with `orchestra state "
        "set communication.messages.ID.to '\"<agent>\"'`"]
    assert main(["state", "set", "communication.messages.q-tech-lead.to", '"lead-reviewer"']) == 0  # as it says
    assert main(["teams", "check"]) == 0
