"""The twenty agent files: frontmatter valid for Claude Code 2.1.328, bodies that follow the protocol,
and agreement with teams.yaml in both directions (also as `orchestra.agentfiles.check_agents` sees it)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import pytest
from orchestra import agentfiles, agentvalues, commandfiles, teams

from .conftest import AGENTS, CLAUDE, MEMBERS, TEAMS, TEMPLATES, agent_paths, split_frontmatter

# Tool names of 2.1.328 (reference/claude-code.md §1.8 and §3.3): the native Linux/macOS set, the
# legacy Task alias, main-thread/plan-mode tools, PowerShell on Windows, Grep/Glob via --tools.
TOOLS_2_1_328 = {
    "Agent", "Task", "Bash", "Read", "Edit", "Write", "NotebookEdit", "WebFetch", "WebSearch",
    "AskUserQuestion", "ExitPlanMode", "EnterPlanMode", "Skill", "TaskCreate", "TaskGet", "TaskList",
    "TaskUpdate", "TaskStop", "SendMessage", "ListAgents", "Monitor", "Workflow", "CronCreate",
    "CronDelete", "CronList", "ScheduleWakeup", "EnterWorktree", "ExitWorktree", "ToolSearch",
    "ReportFindings", "TodoWrite", "PowerShell", "Grep", "Glob",
}
CONTRACT_MCP_TOOLS = {
    "get_state", "list_tasks", "get_task", "update_task", "delegate_task", "send_message", "ask", "answer",
    "inbox", "ack", "handoff", "sprint_status", "plan_sprint", "assign_worktree", "release_worktree",
    "report_status",
}
MODELS = {"sonnet", "opus", "haiku", "fable", "inherit"}
ORCHESTRATORS = set(TEAMS.values())
ALL_AGENTS = ORCHESTRATORS | {m for members in MEMBERS.values() for m in members}


def exposed_mcp_tools() -> set[str]:
    """The tools the orchestra MCP server really lists, once it exists; the ARCHITECTURE contract until then."""
    if importlib.util.find_spec("orchestra.mcp_server") is None:
        return CONTRACT_MCP_TOOLS
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    async def listed() -> set[str]:
        params = StdioServerParameters(command=str(CLAUDE / "orchestra" / "bin" / "orchestra"), args=["mcp"],
                                       cwd=str(CLAUDE.parent), env=dict(os.environ))  # uv may need the network
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return {tool.name for tool in (await session.list_tools()).tools}

    return anyio.run(listed)


@pytest.fixture(scope="module")
def mcp_tools() -> set[str]:
    return exposed_mcp_tools()


def tools_of(meta: dict) -> list[str]:
    value = meta.get("tools", "")
    return [t.strip() for t in value.split(",")] if isinstance(value, str) else list(value)


@pytest.mark.parametrize("path", agent_paths(), ids=lambda p: p.stem)
def test_frontmatter_is_valid_for_claude_code(path: Path, mcp_tools: set[str]):
    meta, _ = split_frontmatter(path)
    assert meta["name"] == path.stem
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", meta["name"])
    description = meta["description"]
    assert isinstance(description, str) and description.endswith(".")
    assert len(re.findall(r"[.!?](\s|$)", description)) == 1, f"one sentence: {description!r}"
    assert meta["model"] in MODELS or re.fullmatch(r"claude-[a-z0-9.-]+", meta["model"])
    for tool in tools_of(meta):
        if tool.startswith("mcp__"):
            assert tool.startswith("mcp__orchestra__") and tool.removeprefix("mcp__orchestra__") in mcp_tools, tool
        else:
            assert tool in TOOLS_2_1_328, tool
    assert set(meta) <= agentfiles.AGENT_KEYS


@pytest.mark.parametrize("path", agent_paths(), ids=lambda p: p.stem)
def test_tools_are_minimal_and_only_orchestrators_spawn(path: Path):
    meta, body = split_frontmatter(path)
    tools = tools_of(meta)
    assert len(tools) == len(set(tools))
    assert ("Agent" in tools) == (meta["name"] in ORCHESTRATORS)
    assert "Task" not in tools
    for tool in tools:
        if tool.startswith("mcp__orchestra__"):
            assert tool in body, f"{tool} is granted but the body never says when to use it"
    mentioned = set(re.findall(r"mcp__orchestra__\w+", body))
    assert mentioned <= set(tools), f"body uses tools it is not granted: {mentioned - set(tools)}"


@pytest.mark.parametrize("path", [*agent_paths(), TEMPLATES / "agent.md"], ids=lambda p: p.stem)
def test_every_agent_can_answer_the_questions_it_is_asked(path: Path):
    """Any agent type can be asked (`ask` takes every agent type in teams.yaml), and a question stays open until it
    is answered: an agent shown one must have the tool its delivery tells it to answer with."""
    meta, body = split_frontmatter(path)
    assert "mcp__orchestra__answer" in tools_of(meta)
    assert "mcp__orchestra__answer" in body


@pytest.mark.parametrize("path", agent_paths(), ids=lambda p: p.stem)
def test_body_has_mission_process_output_and_the_completion_protocol(path: Path):
    meta, body = split_frontmatter(path)
    lines = body.strip().splitlines()
    assert 30 <= len(lines) <= 80, len(lines)
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Mission", "## Process", "## Output"]
    tail = body[body.index("## Output"):]
    assert "STATUS: completed|blocked|needs_review" in tail
    assert "BLOCKER: text" in tail
    if meta["name"] in ORCHESTRATORS:
        for step in ("plan_sprint", "delegate_task", "sprint_status", "inbox", "run_in_background: false",
                     "ONE message", "human"):
            assert step in body, step
    else:
        assert "ARTIFACTS: path, path" in tail
        assert "worktree" in body and "writes anywhere\n   else are refused" in body or (
            "writes anywhere else are refused" in " ".join(body.split()))


def test_agent_files_sit_in_their_team_folder_and_match_teams_yaml():
    found = {p.stem: p.parent.name for p in agent_paths()}
    expected = {name: team for team, orch in TEAMS.items() for name in [orch, *MEMBERS[team]]}
    assert found == expected
    org = teams.build(teams.load_raw(CLAUDE / "teams.yaml"))
    assert set(org.agents) == set(found) == ALL_AGENTS


def test_the_pack_passes_its_own_check(mcp_tools):
    assert agentfiles.check_agents(CLAUDE.parent, mcp_tools) == []
    assert teams.check_agents(CLAUDE.parent) == []


# -- what check_agents reports (orchestrator doctor calls it) --------------------------------------

def test_check_reports_a_member_without_a_file(pack_copy):
    (pack_copy / ".claude/agents/qa/qa-analyst.md").unlink()
    assert agentfiles.check_agents(pack_copy) == [
        f"{pack_copy / '.claude/teams.yaml'}:97: qa reviewer 'qa-analyst' has no agent file "
        f"(expected .claude/agents/qa/qa-analyst.md)"]


def test_check_reports_a_file_not_in_teams_yaml(pack_copy):
    extra = pack_copy / ".claude/agents/qa/chaos-monkey.md"
    extra.write_text("---\nname: chaos-monkey\ndescription: Use for breaking things on purpose.\n---\nBody.\n")
    assert agentfiles.check_agents(pack_copy) == [
        f"{extra}:2: agent 'chaos-monkey' is not in teams.yaml; add it to a team or delete the file"]


def test_check_takes_an_agent_named_in_external_agent_types_as_meant_to_be_outside_the_teams(pack_copy):
    """`lifecycle: external_agent_types` names agent types outside teams.yaml that may be delegated to."""
    helper = pack_copy / ".claude/agents/helpers/my-helper.md"
    helper.parent.mkdir()
    helper.write_text("---\nname: my-helper\ndescription: Use for quick lookups.\ntools: Read, Agent\n---\nHelp.\n")
    teams_yaml = pack_copy / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text() + "\nlifecycle:\n  external_agent_types: [my-helper]\n")
    assert agentfiles.check_agents(pack_copy) == []
    helper.write_text(helper.read_text().replace("Read, Agent", "Read, Reed"))
    assert agentfiles.check_agents(pack_copy) == [f"{helper}:4: tools: 'Reed' is not a Claude Code 2.1.328 tool"]


def test_check_reports_frontmatter_problems(pack_copy):
    path = pack_copy / ".claude/agents/engineering/ux-eng.md"
    text = path.read_text()
    text = text.replace("name: ux-eng", "name: ux-engineer")
    text = text.replace("tools: Read,", "tools: Agent, Reed, mcp__orchestra__teleport, Read,")
    text = text.replace("model: sonnet", "model: gpt-4")
    text = re.sub(r"description: .*", "description: Builds screens. Also styles them.", text)
    path.write_text(text)
    problems = "\n".join(agentfiles.check_agents(pack_copy))
    for expected in ("name: 'ux-engineer' differs from the file name 'ux-eng'",
                     "description: write exactly one sentence", "tools: 'Reed' is not a Claude Code 2.1.328 tool",
                     "mcp__orchestra__teleport is not a tool of the orchestra MCP server",
                     "model: 'gpt-4' is not", "agent 'ux-engineer' is not in teams.yaml",
                     "engineering team_member 'ux-eng' has no agent file (.claude/agents/engineering/ux-eng.md "
                     "names 'ux-engineer')"):
        assert expected in problems, expected
    for line, expected in ((2, "name: 'ux-engineer' differs"), (3, "description: write exactly one sentence"),
                           (4, "tools: 'Reed'"), (5, "model: 'gpt-4'")):
        assert f"{path}:{line}: {expected}" in problems, expected
    assert f"{pack_copy / '.claude/teams.yaml'}:65: engineering team_member 'ux-eng' has no agent file" in problems


def test_check_reports_spawning_members_wrong_folders_and_bad_yaml(pack_copy):
    member = pack_copy / ".claude/agents/devops/infra-engineer.md"
    member.write_text(member.read_text().replace("tools: Read,", "tools: Agent, Read,"))
    moved = pack_copy / ".claude/agents/qa/doc-writer.md"
    (pack_copy / ".claude/agents/engineering/doc-writer.md").rename(moved)
    broken = pack_copy / ".claude/agents/product/market-researcher.md"
    broken.write_text(broken.read_text().replace("model: sonnet", "model: [sonnet"))
    problems = agentfiles.check_agents(pack_copy)
    assert f"{member}:4: tools: only orchestrators may list Agent; 'infra-engineer' is a team_member" in problems
    assert f"{moved}:2: teams.yaml puts 'doc-writer' in team 'engineering'; move the file to agents/engineering/" \
        in problems
    # Claude Code reads `[sonnet` as the string it quotes on its second try (see `second_try`)
    assert f"{broken}:5: model: '[sonnet' is not sonnet, opus, haiku, fable, best, opusplan, inherit (an alias may end in " \
        "[1m]) or a full claude-... model id" \
        in problems, problems


def test_check_reports_a_broken_teams_yaml_with_its_line(pack_copy):
    teams_yaml = pack_copy / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace("capacity: 3", "capacity: three"))
    [problem] = agentfiles.check_agents(pack_copy)
    assert problem.startswith(f"{teams_yaml}:") and "'three' is not of type 'integer'" in problem


def test_check_reads_agent_files_saved_with_a_bom_or_crlf_as_claude_code_does(pack_copy):
    """Windows editors save a byte-order mark or CRLF lines; Claude Code 2.1.328 loads such agents as usual."""
    bom = pack_copy / ".claude/agents/qa/qa-analyst.md"
    bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes())
    crlf = pack_copy / ".claude/agents/qa/qa-engineer.md"
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    assert agentfiles.check_agents(pack_copy) == []
    assert agentfiles.read(bom).meta["name"] == "qa-analyst"
    assert {"qa-analyst", "qa-engineer"} <= agentfiles.defined_names(pack_copy / ".claude/agents")


def test_check_names_an_agent_or_command_file_that_is_not_utf8(pack_copy):
    agent = pack_copy / ".claude/agents/qa/qa-engineer.md"
    agent.write_bytes(agent.read_bytes().replace(b"description: Use for", b"description: Caf\xe9, use for", 1))
    command = pack_copy / ".claude/commands/msg/inbox.md"
    command.write_bytes(b"\xff\xfe" + command.read_bytes())
    assert agentfiles.check_agents(pack_copy) == [
        f"{agent}:3: not UTF-8 text (byte 0xe9); save the file as UTF-8",
        f"{pack_copy / '.claude/teams.yaml'}:92: qa team_member 'qa-engineer' has no agent file "
        "(.claude/agents/qa/qa-engineer.md cannot be read as one, see above)"]
    assert commandfiles.check_commands(pack_copy) == [f"{command}:1: not UTF-8 text (byte 0xff); save the file as UTF-8"]


def test_check_reads_a_value_with_a_colon_as_claude_code_does(pack_copy):
    """`description: Use for: x` is not valid YAML, but Claude Code 2.1.328 parses it again with such plain
    values quoted and loads the agent; one that still fails after that is reported at its line."""
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(re.sub(r"(?m)^description: .*$", "description: Use for: end-to-end tests #e2e.", path.read_text()))
    assert agentfiles.check_agents(pack_copy) == []
    assert agentfiles.read(path).meta["description"] == "Use for: end-to-end tests #e2e."
    path.write_text(path.read_text().replace("model: sonnet", 'model: "sonnet'))
    [problem] = [p for p in agentfiles.check_agents(pack_copy) if p.startswith(str(path))]
    assert problem.startswith(f"{path}:5: frontmatter is not valid YAML")


def test_check_reads_crlf_dashes_and_tabs_in_frontmatter_as_claude_code_does(pack_copy):
    """Claude Code 2.1.328 does not retry a CRLF file's `key: a: b` with the value quoted, so it drops that
    agent; it ends the frontmatter at the first `---`, even inside a value (the keys below are lost, here
    the tools, so the member would get every tool); it takes a tab after `key:` and a closing `----`."""
    crlf = pack_copy / ".claude/agents/qa/qa-engineer.md"
    crlf.write_bytes(re.sub(rb"(?m)^description: Use for", b"description: Use for: e2e and", crlf.read_bytes())
                     .replace(b"\n", b"\r\n"))
    dashes = pack_copy / ".claude/agents/qa/performance-tester.md"
    dashes.write_text(re.sub(r"(?m)^description: Use for", "description: Use for --- and", dashes.read_text()))
    tabbed = pack_copy / ".claude/agents/qa/qa-analyst.md"
    tabbed.write_text(tabbed.read_text().replace("name: ", "name:\t", 1).replace("\n---\n", "\n----\n", 2))
    problems = agentfiles.check_agents(pack_copy)
    assert [p for p in problems if "teams.yaml" not in p] == [
        f"{dashes}:3: `---` inside this line ends the frontmatter for Claude Code, which drops the rest of the line "
        "and every key below it; write it without three dashes",
        f"{crlf}:3: frontmatter is not valid YAML (mapping values are not allowed here); Claude Code would drop "
        "every field but the file name (with CRLF line ends it does not retry with a plain value holding `: ` or "
        "`#` quoted: quote it, or save the file with LF line ends)"], problems
    assert agentfiles.read(tabbed).meta["name"] == "qa-analyst"
    assert agentfiles.read(tabbed).body.startswith("-\n")


def test_check_reads_tabs_between_words_as_claude_code_does(pack_copy):
    """Claude Code 2.1.328's YAML takes a tab wherever a space may stand but in indentation: inside a plain
    value, after one, before a colon and in a flow list. Such an agent loads, and the plugin ships it."""
    from orchestra.installer import plugin

    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    text = re.sub(r"(?m)^description: Use for", "description: Use\tfor", path.read_text())
    text = re.sub(r"(?m)^tools: (.*)$", lambda m: "tools:\t[" + m.group(1).replace(", ", ",\t") + "]\t# its tools",
                  text.replace("model: sonnet", "model\t: sonnet\t"))
    path.write_text(text)
    assert agentfiles.check_agents(pack_copy) == []
    meta = agentfiles.read(path).meta
    assert meta["model"] == "sonnet" and meta["description"].startswith("Use for ")
    assert isinstance(meta["tools"], list) and "Read" in meta["tools"]
    assert "./.claude/agents/qa/qa-engineer.md" in plugin.agent_paths(pack_copy)


def test_check_reports_a_frontmatter_key_written_twice_at_its_last_line(pack_copy):
    """Claude Code 2.1.328 keeps the last `model:` of two: the agent runs on opus, not the sonnet above."""
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("model: sonnet\n", "model: sonnet\nmodel: opus\n", 1))
    assert agentfiles.read(path).meta["model"] == "opus"
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:6: model: written again (first at line 5); Claude Code keeps only this last value, so merge them "
        "into one"]


def test_check_takes_tools_star_as_every_tool_as_claude_code_does(pack_copy):
    """`tools: "*"` lists every tool in Claude Code 2.1.328, Agent included, like leaving `tools` out."""
    director = pack_copy / ".claude/agents/qa/qa-director.md"
    director.write_text(re.sub(r"(?m)^tools: .*$", 'tools: "*"', director.read_text()))
    analyst = pack_copy / ".claude/agents/qa/qa-analyst.md"
    analyst.write_text(re.sub(r"(?m)^tools: .*$", "tools: [Read, '*']", analyst.read_text()))
    assert agentfiles.check_agents(pack_copy) == []
    assert agentfiles.tool_problems("*, Reed") == ["tools: 'Reed' is not a Claude Code 2.1.328 tool"]


def test_an_empty_tools_key_is_every_tool_as_claude_code_takes_it(pack_copy):
    """`tools:` with nothing after it gives the agent every tool in 2.1.328 (observed), Agent included."""
    director = pack_copy / ".claude/agents/qa/qa-director.md"
    director.write_text(re.sub(r"(?m)^tools: .*$", "tools:", director.read_text()))
    assert agentfiles.check_agents(pack_copy) == [
        f"{director}:4: tools: empty, which Claude Code 2.1.328 takes as every tool (Agent too); list the tools the "
        "agent needs, or leave the key out"]


def test_tool_names_read_strings_lists_and_rule_specifiers():
    assert agentfiles.tool_names("Read, Bash(git *), mcp__orchestra__ask") == ["Read", "Bash", "mcp__orchestra__ask"]
    assert agentfiles.tool_names(["Read", "Edit(/src/**)"]) == ["Read", "Edit"]
    assert agentfiles.tool_problems("Read Grep") == []
    assert agentfiles.tool_problems({"Read": True}) == ["tools: must be a comma-separated string or a list of tool names"]
    assert agentfiles.model_problem("claude-opus-4-1") is None and agentfiles.model_problem("fable") is None
    assert agentfiles.description_problem("Use for v1.5 upgrades.") is None
    assert "one sentence" in agentfiles.description_problem("Use it. Please.")
    assert "characters" in agentfiles.description_problem("Use for " + "very " * 40 + "long things.")


@pytest.mark.parametrize("description", ["Use for API work, e.g. REST endpoints and webhooks.",
                                         "Use for docs (i.e. guides and READMEs) only.",
                                         "Use for U.S. market research.", "Use for specs, tests etc. of a feature.",
                                         "Use for SQL vs. NoSQL questions."])
def test_a_one_sentence_description_with_an_abbreviation_is_one_sentence(description):
    """`e.g.`, `i.e.`, `etc.` or `U.S.` end no sentence: teams check said `write exactly one sentence`."""
    assert agentfiles.description_problem(description) is None
    assert "one sentence" in agentfiles.description_problem(description + " Also more.")


def test_agent_keys_outside_2_1_328_are_reported(pack_copy):
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("model: sonnet", "model: sonnet\nallowed-tools: Bash"))
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:6: allowed-tools: not an agent frontmatter key in Claude Code 2.1.328 (it is ignored)"]


def test_a_tool_list_without_the_orchestra_tools_the_instructions_call_is_reported(pack_copy):
    """Trimming `tools` and keeping the body: the member is told to ack messages it cannot ack."""
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace(", mcp__orchestra__ack", "", 1))
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:4: tools: the instructions call mcp__orchestra__ack, which this list does not grant"]
    path.write_text(path.read_text().replace("mcp__orchestra__ask", "mcp__orchestra", 1))
    assert agentfiles.check_agents(pack_copy) == []  # the whole server
    assert agentfiles.ungranted_tools("Read, mcp__plugin_orchestra_orchestra__ack", "mcp__orchestra__ack it") == []


@pytest.mark.parametrize("written, meant", [
    ("mcp__orchestra_ack", "mcp__orchestra__ack"), ("mcp__Orchestra__ack", "mcp__orchestra__ack"),
    ("mcp__orchestr__ack", "mcp__orchestra__ack"), ("mcp__orchestra-ack", "mcp__orchestra__ack"),
    ("mcp__plugin_orchestra__ack", "mcp__plugin_orchestra_orchestra__ack")])
def test_a_misspelt_orchestra_server_in_tools_is_reported_with_the_name_meant(pack_copy, written, meant):
    """`mcp__orchestra_ack` is, to Claude Code, the whole of a server called `orchestra_ack` that does not
    exist: the agent silently goes without the tool. The check names the entry and the spelling meant."""
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("mcp__orchestra__ack", written, 1))
    problems = agentfiles.check_agents(pack_copy)
    assert f"{path}:4: tools: {written} misspells an orchestra MCP tool (" in "\n".join(problems), problems
    assert any(p.startswith(f"{path}:4: tools: {written} ") and p.endswith(f"; write {meant}") for p in problems)
    assert agentfiles.tool_problems("Read, mcp__github__create_issue, mcp__memory") == []  # other servers pass


def test_an_agent_named_like_a_claude_code_built_in_is_reported(pack_copy):
    """A project agent named `general-purpose` (or `claude`, `statusline-setup`) replaces Claude Code's own
    agent of that name in every session, the one an Agent call without subagent_type starts."""
    teams_yaml = pack_copy / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace("- name: qa-engineer", "- name: general-purpose", 1))
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("name: qa-engineer", "name: general-purpose"))
    path.rename(renamed := path.with_name("general-purpose.md"))
    assert agentfiles.check_agents(pack_copy) == [
        f"{renamed}:2: name: 'general-purpose' is one of Claude Code's built-in agents, which this file would "
        "replace in every session; rename it"]
    assert agentfiles.builtin_clash(["claude"]) is None and agentfiles.builtin_clash("qa-engineer") is None


def test_frontmatter_values_claude_code_drops_are_reported_at_their_line(pack_copy):
    """Claude Code 2.1.328 drops a `color`, `effort`, `permissionMode`, `maxTurns`, `memory`, `isolation`,
    `background` or `autoCompactWindow` it cannot take (observed: a debug-log line each, `color` not even
    that), so the agent runs without it; the check names each at its line with what Claude Code takes."""
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("color: green\n", "color: grey\neffort: huge\n"
                                             "permissionMode: acceptedits\nmaxTurns: 0\nmemory: team\n"
                                             "isolation: container\nbackground: maybe\nautoCompactWindow: 500\n", 1))
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:6: color: 'grey' is not a color Claude Code 2.1.328 shows (red, blue, green, yellow, purple, "
        "orange, pink, cyan); it is ignored",
        f"{path}:7: effort: 'huge' is not low, medium, high, xhigh, max or a whole number; Claude Code 2.1.328 "
        "ignores it",
        f"{path}:8: permissionMode: 'acceptedits' is not acceptEdits, auto, bypassPermissions, default, dontAsk, "
        "plan or manual; Claude Code 2.1.328 ignores it",
        f"{path}:9: maxTurns: 0 is not a whole number of at least 1; Claude Code 2.1.328 ignores it",
        f"{path}:10: memory: 'team' is not user, project or local; Claude Code 2.1.328 ignores it",
        f"{path}:11: isolation: 'container' is not worktree or remote; Claude Code 2.1.328 ignores it",
        f"{path}:12: background: 'maybe' is not true or false; Claude Code 2.1.328 ignores it",
        f"{path}:13: autoCompactWindow: 500 is not a whole number of at least 100000; Claude Code 2.1.328 "
        "ignores it"]
    path.write_text(re.sub(r"(?s)color: grey.*?autoCompactWindow: 500\n", "color: purple\neffort: MED\n"
                           "permissionMode: manual\nmaxTurns: '12'\nmemory: project\nisolation: worktree\n"
                           "background: 'false'\nautoCompactWindow: 200000\n", path.read_text()))
    assert agentfiles.check_agents(pack_copy) == []  # all taken as written, `effort: MED` as medium
    assert agentvalues.value_problem("effort", 3) is None and agentvalues.value_problem("color", "Purple") is not None


def test_a_yes_or_no_for_true_or_false_is_reported_as_claude_code_reads_it(pack_copy):
    """YAML 1.1 (PyYAML) reads `background: yes` as true; Claude Code's YAML reads the word yes, which it drops
    (observed: `has invalid background value 'yes'`), and `omitClaudeMd: on` is silently not true."""
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    original = path.read_text()
    path.write_text(original.replace("model: sonnet\n", "model: sonnet\nbackground: yes\nomitClaudeMd: On\n", 1))
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:6: background: 'yes' is not true or false; Claude Code 2.1.328 ignores it",
        f"{path}:7: omitClaudeMd: 'On' is not true or false; Claude Code 2.1.328 ignores it"]
    path.write_text(original.replace("model: sonnet\n", "model: sonnet\nbackground: True\nomitClaudeMd: 'true'\n", 1))
    assert agentfiles.check_agents(pack_copy) == []


GUARD = "    - matcher: Bash\n      hooks:\n        - {type: command, command: ./check.sh}\n"


@pytest.mark.parametrize("block, line, problem", [
    ("PreToolUse:\n" + GUARD, 6, "PreToolUse: PreToolUse/PermissionRequest hooks outside `hooks:`"),
    ("hook:\n  PreToolUse:\n" + GUARD.replace("\n    ", "\n      ").replace("    - ", "      - ", 1), 6,
     "hook: PreToolUse/PermissionRequest hooks outside `hooks:`"),
    ("hooks:\n" + GUARD, 6, "hooks: a list of matchers where a mapping of event names to matcher lists belongs"),
    ("hooks:\n  PreToolUse:\n    matcher: Bash\n    hooks: [{type: command, command: ./check.sh}]\n", 7,
     "hooks.PreToolUse: a mapping where a list of matchers (`- matcher: ...`) belongs")])
def test_hooks_claude_code_cannot_place_are_reported_as_the_agent_not_loading(pack_copy, block, line, problem):
    """Claude Code 2.1.328 does not load an agent whose PreToolUse or PermissionRequest hooks it cannot place
    (observed: `Agent 'x' not loaded`, and the agent is missing from the session): a delegation to it fails.
    teams check said nothing, or that the key was ignored."""
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("model: sonnet\n", "model: sonnet\n" + block, 1))
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:{line}: {problem}; Claude Code 2.1.328 does not load this agent at all, so a delegation to it "
        "fails"]


def test_hooks_under_their_events_and_an_unknown_event_are_told_apart(pack_copy):
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("model: sonnet\n", "model: sonnet\nhooks:\n  PreToolUse:\n" + GUARD
                                             .replace("\n    ", "\n      ").replace("    - ", "      - ", 1)
                                             + "  PostToolUze: []\n", 1))
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:11: hooks.PostToolUze: not a hook event of Claude Code 2.1.328 (it is ignored); write PostToolUse"]


@pytest.mark.parametrize("model", ["Inherit", "INHERIT", "Opus", "opus[1m]", "sonnet[1M]", "fable[1m]", "best",
                                   "opusplan", "claude-sonnet-4-5-20250929[1m]"])
def test_every_model_claude_code_takes_passes_in_any_case(model):
    """Claude Code 2.1.328 reads a model alias in any case, its 1M-context forms (`opus[1m]`, a full id with
    `[1m]`), `best` and `opusplan` (its alias list `sonnet, opus, haiku, fable, best, sonnet[1m], opus[1m],
    fable[1m], opusplan`); teams check called them unknown models."""
    assert agentfiles.model_problem(model) is None


@pytest.mark.parametrize("model", ["Sonnet-ish", "gpt-4", "sonnet[2m]", "opus 4", ""])
def test_a_model_claude_code_does_not_know_is_reported(model):
    assert agentfiles.model_problem(model) is not None


def test_a_misspelt_tool_in_disallowed_tools_is_reported_as_taking_nothing_away(pack_copy):
    """`disallowedTools: Bassh, WebFetch` takes WebFetch away and nothing else: Claude Code matches the names
    exactly, so the agent keeps Bash. The check names the entry; a rule specifier and another server pass."""
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("model: sonnet\n", "model: sonnet\ndisallowedTools: Bassh, WebFetch, "
                                             "Bash(rm *), mcp__github__create_issue, mcp__orchestra_ask\n", 1))
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:6: disallowedTools: 'Bassh' is not a Claude Code 2.1.328 tool, so it takes nothing away",
        f"{path}:6: disallowedTools: mcp__orchestra_ask misspells an orchestra MCP tool (Claude Code looks for a "
        "server 'orchestra_ask', so it takes nothing away); write mcp__orchestra__ask"]
    assert agentfiles.disallowed_problems(["Read", 3]) == [
        "disallowedTools: must be a comma-separated string or a list of tool names"]


def test_a_misspelt_agent_key_is_reported_with_the_spelling_claude_code_reads(pack_copy):
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("model: sonnet", "model: sonnet\npermission-mode: plan\nmax_turns: 9"))
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:6: permission-mode: not an agent frontmatter key in Claude Code 2.1.328 (it is ignored); "
        "write permissionMode",
        f"{path}:7: max_turns: not an agent frontmatter key in Claude Code 2.1.328 (it is ignored); write maxTurns"]


def test_orchestrator_without_agent_tool_cannot_delegate(pack_copy):
    path = pack_copy / ".claude/agents/qa/qa-director.md"
    path.write_text(path.read_text().replace("tools: Agent, Read,", "tools: Read,"))
    assert agentfiles.check_agents(pack_copy) == [f"{path}:4: tools: orchestrator 'qa-director' needs Agent to delegate"]


def test_orchestrator_whose_disallowed_tools_take_agent_away_cannot_delegate(pack_copy):
    """Claude Code 2.1.328 applies disallowedTools before tools: the director keeps no Agent tool."""
    path = pack_copy / ".claude/agents/qa/qa-director.md"
    path.write_text(path.read_text().replace("model: opus\n", "model: opus\ndisallowedTools: Task, WebFetch\n", 1))
    member = pack_copy / ".claude/agents/qa/qa-engineer.md"
    member.write_text(member.read_text().replace("model: sonnet\n", "model: sonnet\ndisallowedTools: Agent\n", 1))
    line = agentfiles.read(path).lines["disallowedTools"]
    assert agentfiles.check_agents(pack_copy) == [
        f"{path}:{line}: disallowedTools: orchestrator 'qa-director' needs Agent to delegate, and this list takes it "
        "away"]


def test_a_folder_named_like_a_markdown_file_is_searched_not_read(pack_copy):
    """`.claude/agents/qa/drafts.md/` is a folder: Claude Code looks inside it, as for any folder."""
    from orchestra import commandfiles
    from orchestra.installer import plugin

    (pack_copy / ".claude/agents/qa/drafts.md").mkdir()
    (pack_copy / ".claude/commands/msg/old.md").mkdir()
    assert agentfiles.check_agents(pack_copy) == [] and commandfiles.check_commands(pack_copy) == []
    shutil.copytree(CLAUDE / "orchestra/hooks", pack_copy / ".claude/orchestra/hooks", dirs_exist_ok=True)
    shutil.copy(CLAUDE / "orchestra/pyproject.toml", pack_copy / ".claude/orchestra/pyproject.toml")
    assert f"{plugin.PLUGIN_COMMANDS}/msg/inbox.md" in plugin.build(pack_copy)
    assert plugin.left_out(pack_copy) == []


def test_an_agent_file_without_a_name_is_reported_as_skipped(pack_copy):
    """Claude Code 2.1.328 takes an agent file without `name` for notes: the member has no agent."""
    path = pack_copy / ".claude/agents/qa/qa-engineer.md"
    path.write_text(path.read_text().replace("name: qa-engineer\n", "", 1))
    assert agentfiles.check_agents(pack_copy)[0] == (
        f"{path}:1: name: missing; Claude Code takes an agent file without one for notes and skips it")


def test_agents_dir_paths_are_relative_to_the_project(pack_copy):
    assert [p.relative_to(pack_copy).parts[:2] for p in agentfiles.agent_files(pack_copy)] == [
        (".claude", "agents")] * 20
    assert AGENTS.is_dir()
