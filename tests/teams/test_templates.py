"""templates/: each one is valid as shipped, so copying it is a working start."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from orchestra import agentfiles, commandfiles, teams
from orchestra.workflow.definitions import load_epic, load_sprint

from .conftest import CLAUDE, REPO, TEMPLATES, split_frontmatter


def test_agent_template_has_valid_frontmatter_and_the_protocol():
    definition = agentfiles.read(TEMPLATES / "agent.md")
    problems = agentfiles.agent_problems(definition)
    # The template is saved under the agent's own name, so only the name-equals-file rule can differ.
    assert [p for p in problems if "differs from the file name" not in p] == []
    _, body = split_frontmatter(TEMPLATES / "agent.md")
    assert [line for line in body.splitlines() if line.startswith("## ")] == ["## Mission", "## Process", "## Output"]
    assert "STATUS: completed|blocked|needs_review" in body


def test_agent_template_saved_as_a_member_passes_the_check(pack_copy):
    target = pack_copy / ".claude/agents/engineering/new-member.md"
    shutil.copy2(TEMPLATES / "agent.md", target)
    teams_yaml = pack_copy / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace(
        "      - name: doc-writer\n", "      - name: new-member\n        role: team_member\n      - name: doc-writer\n"))
    assert agentfiles.check_agents(pack_copy) == []


def test_agent_template_saved_in_a_plugin_only_project_passes_once_its_tools_are_renamed(project, monkeypatch):
    """With Orchestra as a plugin only, the template's `mcp__orchestra__*` tools name nothing; the template
    says to rename them, and so renamed the member passes the check."""
    import re

    (project / ".claude/teams.yaml").write_text((TEMPLATES / "teams.yaml").read_text().replace(
        "      - name: doc-writer\n", "      - name: new-member\n        role: team_member\n      - name: doc-writer\n"))
    target = project / ".claude/agents/engineering/new-member.md"
    target.parent.mkdir(parents=True)
    shutil.copy2(TEMPLATES / "agent.md", target)
    monkeypatch.setenv("CLAUDE_PLUGIN_ROOT", str(CLAUDE.parent))
    assert [p for p in agentfiles.check_agents(project) if "names no tool in plugin form" in p]
    assert "the tools are named `mcp__plugin_orchestra_orchestra__ask`" in " ".join(target.read_text().split())
    target.write_text(re.sub(r"(?m)^tools: .*$", lambda m: m.group().replace(
        "mcp__orchestra__", "mcp__plugin_orchestra_orchestra__"), target.read_text()))
    assert agentfiles.check_agents(project) == []


def test_a_reviewer_that_cannot_record_verdicts_is_reported(pack_copy):
    """templates/agent.md is a member's start; saved as a reviewer it lacks update_task, so a review request
    could never be answered. The team template points reviewers at an existing reviewer's file instead."""
    target = pack_copy / ".claude/agents/engineering/new-member.md"
    shutil.copy2(TEMPLATES / "agent.md", target)
    teams_yaml = pack_copy / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace(
        "      - name: doc-writer\n", "      - name: new-member\n        role: reviewer\n      - name: doc-writer\n"))
    assert agentfiles.check_agents(pack_copy) == [
        f"{target}:4: tools: reviewer 'new-member' needs mcp__orchestra__update_task to record review verdicts"]
    assert "reviewer's from an existing reviewer" in (TEMPLATES / "team.yaml").read_text()


def test_command_template_passes_the_command_check(pack_copy):
    target = pack_copy / ".claude/commands/task/peek.md"
    shutil.copy2(TEMPLATES / "command.md", target)
    assert commandfiles.check_commands(pack_copy) == []
    assert commandfiles.bang_commands(agentfiles.read(target).body) == [
        ".claude/orchestra/bin/orchestra task show $ARGUMENTS"]


def test_command_template_passes_arguments_to_its_bang_line_as_the_pack_commands_do():
    """Claude Code refuses a `!` line whose `$0` the user did not type with words that name nothing (see
    tests/e2e/test_commands.py); the pack's commands pass `$ARGUMENTS` so that the CLI says what is missing.
    The template a new command starts from does the same, and says why."""
    text = (TEMPLATES / "command.md").read_text()
    assert not re.search(r"\$\d", " ".join(commandfiles.bang_commands(agentfiles.read(TEMPLATES / "command.md").body)))
    assert "the following arguments are required" in text


def test_command_template_in_a_plugin_only_project_is_reported_with_the_cli_to_run(project, monkeypatch):
    """A plugin-only project has no .claude/orchestra/bin/orchestra: the template's `!` line would abort."""
    target = project / ".claude/commands/task/peek.md"
    target.parent.mkdir(parents=True)
    shutil.copy2(TEMPLATES / "command.md", target)
    assert commandfiles.check_commands(project) == []  # not a plugin: the check does not guess
    monkeypatch.setenv("CLAUDE_PLUGIN_ROOT", str(CLAUDE.parent))
    assert commandfiles.check_commands(project) == [
        f"{target}:7: !`.claude/orchestra/bin/orchestra task show $ARGUMENTS` runs .claude/orchestra/bin/orchestra, which this "
        "project does not have, so the command would abort; with Orchestra as a plugin, run "
        f"{CLAUDE / 'orchestra' / 'bin' / 'orchestra'}"]
    (project / ".claude/orchestra/bin").mkdir(parents=True)
    (project / ".claude/orchestra/bin/orchestra").write_text("#!/bin/sh\n")  # installed as well
    assert commandfiles.check_commands(project) == []


def test_sprint_and_epic_templates_load_like_the_shipped_examples(tmp_path: Path):
    org = teams.build(teams.load_raw(TEMPLATES / "teams.yaml"))
    sprint = load_sprint((TEMPLATES / "sprint.yaml").resolve(), tmp_path, org)
    assert [t.id for t in sprint.tasks] == ["task-spec", "task-build", "task-test"]
    epic = load_epic((TEMPLATES / "epic.yaml").resolve(), tmp_path)
    assert [f.id for f in epic.features] == ["feat-first", "feat-second"]
    shipped = load_sprint((CLAUDE / "sprints" / "sprint-3.yaml").resolve(), tmp_path, org)
    assert shipped.tasks  # the example the template points to loads against the same organisation


def test_claude_md_snippet_is_short():
    text = (TEMPLATES / "CLAUDE.md").read_text()
    assert text.startswith("## Orchestra\n") and len(text) < 600 and len(text.splitlines()) <= 6
    assert "/sprint:start" in text and "[task:<id>]" in text


@pytest.mark.parametrize("name", ["sprint.yaml", "epic.yaml"])
def test_the_files_a_template_points_to_are_in_every_installed_repo(name):
    """A template is copied into a repo the pack is installed in: each file its comments name is one the
    install writes there (not a sample only a clone of Orchestra has), or the file's own `<id>` place."""
    from orchestra.installer.source import load_pack

    installed = {item.rel for item in load_pack(REPO).files}
    comments = " ".join(line for line in (TEMPLATES / name).read_text().splitlines() if line.lstrip().startswith("#"))
    named = set(re.findall(r"\.claude/[\w./<>-]+\w", comments))
    assert named, comments
    assert {path for path in named if "<id>" not in path} <= installed, named - installed
