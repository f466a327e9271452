"""The pack as a Claude Code plugin: generated files current, accepted by the real `claude plugin validate
--strict --profile directory`, exposing exactly the pack's agents, commands, hooks and MCP server."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from orchestra import agentfiles, teams, wiring
from orchestra.installer import icon, plugin
from orchestra.installer.source import is_our_server, mcp_server_entry

from tests.e2e.harness import find_claude
from tests.installer.conftest import REPO


@pytest.fixture(scope="module")
def claude_bin() -> Path:
    binary = find_claude()
    if binary is None:
        reason = "claude CLI not found: set ORCHESTRA_CLAUDE_BIN or run .ci/run to install it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: .ci/run installs it)", pytrace=False)
        pytest.skip(reason)
    return binary


def validate(claude: Path, target: str, tmp_path: Path, *flags: str) -> dict:
    proc = subprocess.run([str(claude), "plugin", "validate", "--strict", *flags, "--json", target],
                          capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "CLAUDE_CONFIG_DIR": str(tmp_path / "claude config")})
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, json.dumps(report, indent=2)
    return report


def agent_names() -> list[str]:
    return sorted(agentfiles.read(REPO / p).meta["name"] for p in plugin.agent_paths(REPO))


def test_plugin_files_are_current() -> None:
    stale = plugin.build(REPO, check=True)
    assert stale == [], f"stale plugin files {stale}: run `uv run orchestra plugin build` and commit them"


def test_plugin_validates_strict(claude_bin: Path, tmp_path: Path) -> None:
    report = validate(claude_bin, ".claude-plugin/plugin.json", tmp_path, "--profile", "directory")
    assert report["success"] and report["strict"]
    assert report["manifest"]["errors"] == [] and report["manifest"]["warnings"] == []
    assert report["contents"] == [] and report["directory"]["findings"] == []
    provides = report["provides"]
    assert sorted(provides["agents"]) == [f"orchestra:{name}" for name in agent_names()]
    commands = sorted(":".join(["orchestra", *p.relative_to(REPO / ".claude/commands").with_suffix("").parts])
                      for p in (REPO / ".claude/commands").rglob("*.md"))
    assert sorted(provides["commands"]) == commands
    declared = [(decl["event"], script) for script, decl in wiring.declarations()]
    assert sorted((h["event"], h["args"][-1].rsplit("/", 1)[-1]) for h in provides["hooks"]) == sorted(declared)
    assert all(h["args"][-1].startswith("${CLAUDE_PLUGIN_ROOT}/") for h in provides["hooks"])
    ours = [s for s in provides["mcpServers"] if "${CLAUDE_PLUGIN_ROOT}" in " ".join(s["args"])]
    assert [(s["name"], s["args"]) for s in ours] == [("orchestra", mcp_server_entry("${CLAUDE_PLUGIN_ROOT}")["args"])]
    market = validate(claude_bin, ".claude-plugin/marketplace.json", tmp_path)  # the profile is for plugins
    assert market["success"] and market["manifest"]["errors"] == [] and market["manifest"]["warnings"] == []


def test_plugin_agent_types_map_to_roles() -> None:
    org = teams.build(teams.load_raw(REPO / ".claude/teams.yaml"))
    names = agent_names()
    assert names
    for name in names:
        member = org.member(name)
        assert member is not None, f"{name} has an agent file but is not in teams.yaml"
        assert org.member(f"orchestra:{name}") == member
        assert org.role_of(f"orchestra:{name}") == org.role_of(name) == member.role
        assert org.team_of(f"orchestra:{member.team}:{name}") == org.team_of(name)


def test_plugin_icon_is_a_square_png_the_directory_accepts() -> None:
    data = (REPO / plugin.ICON).read_bytes()
    width, height, rows = icon.pixels(data)
    assert (width, height) == (512, 512) and len(data) < 2 * 1024 * 1024
    assert len(rows) == height * (1 + width * 3)


def test_project_mcp_json_serves_orchestra() -> None:
    config = json.loads((REPO / ".mcp.json").read_text())
    assert config["mcpServers"]["orchestra"] == mcp_server_entry(windows=False)
    assert plugin.manifest(REPO)["mcpServers"]["orchestra"] == mcp_server_entry(wiring.PLUGIN_VAR, windows=False)


def test_on_windows_the_installer_writes_the_uv_form_of_the_server() -> None:
    """No `sh` there, and Claude Code ends a server by closing its stdin, which `uv run` passes on."""
    entry = mcp_server_entry(windows=True)
    assert [entry["command"], *entry["args"]] == [
        "uv", "run", "--quiet", "--script", "${CLAUDE_PROJECT_DIR:-.}/.claude/orchestra/bin/orchestra", "mcp"]
    assert is_our_server(entry) and is_our_server(mcp_server_entry(windows=False))


def test_plugin_agents_name_the_mcp_tools_as_the_plugin_serves_them() -> None:
    listed = plugin.manifest(REPO)["agents"]
    assert listed and all(path.startswith(f"./{plugin.PLUGIN_AGENTS}/") for path in listed)
    for source in plugin.agent_paths(REPO):
        copy = REPO / plugin.PLUGIN_AGENTS / source.removeprefix("./.claude/agents/")
        assert f"./{copy.relative_to(REPO).as_posix()}" in listed
        original, shipped = agentfiles.read(REPO / source), agentfiles.read(copy)
        tools = [t.strip() for t in str(original.meta.get("tools", "")).split(",") if t.strip()]
        expected = [t.replace("mcp__orchestra__", "mcp__plugin_orchestra_orchestra__") for t in tools]
        assert [t.strip() for t in str(shipped.meta.get("tools", "")).split(",") if t.strip()] == expected
        assert "mcp__orchestra__" not in copy.read_text()
        assert {k: v for k, v in shipped.meta.items() if k != "tools"} == \
               {k: v for k, v in original.meta.items() if k != "tools"}
    assert any("mcp__plugin_orchestra_orchestra__ask" in (REPO / plugin.PLUGIN_AGENTS / p).read_text()
               for p in ("engineering/tech-lead.md",))


def test_plugin_build_writes_copies_and_removes_those_of_deleted_agents_and_commands(tmp_path: Path) -> None:
    import shutil

    for part in (".claude/agents", ".claude/commands", ".claude/orchestra/hooks"):
        shutil.copytree(REPO / part, tmp_path / part)
    shutil.copy(REPO / ".claude/orchestra/pyproject.toml", tmp_path / ".claude/orchestra/pyproject.toml")
    written = plugin.build(tmp_path)
    assert {f"{plugin.PLUGIN_AGENTS}/engineering/tech-lead.md", f"{plugin.PLUGIN_COMMANDS}/sprint/close.md"} <= set(written)
    assert plugin.build(tmp_path, check=True) == []
    (tmp_path / ".claude/agents/engineering/tech-lead.md").unlink()
    (tmp_path / ".claude/commands/sprint/close.md").unlink()
    stale = plugin.build(tmp_path, check=True)
    assert f"{plugin.PLUGIN_AGENTS}/engineering/tech-lead.md" in stale and plugin.PLUGIN_JSON in stale
    assert f"{plugin.PLUGIN_COMMANDS}/sprint/close.md" in stale
    plugin.build(tmp_path)
    assert not (tmp_path / plugin.PLUGIN_AGENTS / "engineering/tech-lead.md").exists()
    assert not (tmp_path / plugin.PLUGIN_COMMANDS / "sprint/close.md").exists()
    assert plugin.build(tmp_path, check=True) == []


def test_plugin_copies_name_the_whole_server_and_command_tools_as_the_plugin_serves_them(tmp_path: Path) -> None:
    """An agent may list the whole server (`mcp__orchestra`) and a command may pre-approve or mention a tool;
    in plugin form neither name exists, so each copy names them `mcp__plugin_orchestra_orchestra...`."""
    import shutil

    for part in (".claude/agents", ".claude/commands", ".claude/orchestra/hooks"):
        shutil.copytree(REPO / part, tmp_path / part)
    shutil.copy(REPO / ".claude/orchestra/pyproject.toml", tmp_path / ".claude/orchestra/pyproject.toml")
    lead = tmp_path / ".claude/agents/engineering/tech-lead.md"
    lead.write_text(re.sub(r"(?m)^tools: .*$", "tools: Read, Bash, mcp__orchestra", lead.read_text()))
    (tmp_path / ".claude/commands/msg/triage.md").write_text(
        "---\ndescription: Triage the inbox.\nallowed-tools: mcp__orchestra__inbox, mcp__orchestra__ack\n---\n"
        "Call mcp__orchestra__inbox, then mcp__orchestra__ack each message you handled.\n")
    plugin.build(tmp_path)
    shipped = agentfiles.read(tmp_path / plugin.PLUGIN_AGENTS / "engineering/tech-lead.md")
    assert shipped.meta["tools"] == "Read, Bash, mcp__plugin_orchestra_orchestra"
    command = (tmp_path / plugin.PLUGIN_COMMANDS / "msg/triage.md").read_text()
    assert "mcp__orchestra" not in command
    assert "allowed-tools: mcp__plugin_orchestra_orchestra__inbox, mcp__plugin_orchestra_orchestra__ack" in command
    assert plugin.plugin_tool("mcp__orchestra-docs__x, mcp__orchestra_x") == "mcp__orchestra-docs__x, mcp__orchestra_x"


def test_plugin_build_says_which_agent_files_it_leaves_out_and_why(tmp_path: Path, capsys) -> None:
    import shutil

    from orchestra.cli import main

    shutil.copytree(REPO / ".claude/agents", tmp_path / ".claude/agents")
    (tmp_path / ".claude/agents/README.md").write_text("# Our agents\n")
    broken = tmp_path / ".claude/agents/qa/qa-engineer.md"
    broken.write_text(broken.read_text().replace("model: sonnet", 'model: "sonnet'))
    assert plugin.left_out(tmp_path) == [
        ".claude/agents/README.md:1: no frontmatter (a first line `---`); Claude Code skips the file",
        ".claude/agents/qa/qa-engineer.md:5: frontmatter is not valid YAML (found unexpected end of stream); "
        "Claude Code would drop every field but the file name"]
    assert "./.claude/agents/qa/qa-engineer.md" not in plugin.agent_paths(tmp_path)
    assert main(["plugin", "build", "--check"]) == 0 and capsys.readouterr().err == ""  # the pack's own: none


def test_plugin_commands_run_the_cli_inside_the_plugin() -> None:
    """A plugin's commands run in a project without the pack: each copy runs the plugin's own CLI, quoted,
    on the project Claude Code runs in, as the plugin's."""
    cli = ('CLAUDE_PROJECT_DIR="${CLAUDE_PROJECT_DIR}" CLAUDE_PLUGIN_ROOT="${CLAUDE_PLUGIN_ROOT}" '
           '"${CLAUDE_PLUGIN_ROOT}/.claude/orchestra/bin/orchestra"')
    assert plugin.manifest(REPO)["commands"] == f"./{plugin.PLUGIN_COMMANDS}" and cli == plugin.PLUGIN_CLI
    sources = sorted((REPO / ".claude/commands").rglob("*.md"))
    assert sources
    for source in sources:
        copy = REPO / plugin.PLUGIN_COMMANDS / source.relative_to(REPO / ".claude/commands")
        original, shipped = source.read_text(), copy.read_text()
        assert plugin.PROJECT_CLI.search(shipped.replace(cli, "")) is None, copy
        assert shipped.count(cli) == original.count(".claude/orchestra/bin/orchestra")
        assert shipped.replace(cli, ".claude/orchestra/bin/orchestra") == original


def test_the_agent_type_to_start_names_the_plugins_agents_in_plugin_form(tmp_path: Path, monkeypatch) -> None:
    from orchestra import paths
    from orchestra.agentfiles import session_agent_type

    project = tmp_path / "shop"
    (project / ".claude/agents").mkdir(parents=True)
    monkeypatch.setenv(paths.PROJECT_ENV, str(project))
    paths.project_root.cache_clear()
    try:
        assert session_agent_type("fullstack-eng") == "fullstack-eng"  # installed: project agents
        monkeypatch.setenv(paths.PLUGIN_ENV, str(REPO))
        assert session_agent_type("fullstack-eng") == "orchestra:fullstack-eng"
        assert [session_agent_type(n) for n in ("general-purpose", "my-own-eng", "orchestra:tech-lead")] == [
            "general-purpose", "my-own-eng", "orchestra:tech-lead"]
        (project / ".claude/agents/fullstack-eng.md").write_text(
            "---\nname: fullstack-eng\ndescription: the project's own\n---\nBody.\n")
        assert session_agent_type("fullstack-eng") == "fullstack-eng"  # the project's agent of that name
    finally:
        paths.project_root.cache_clear()


def test_plugin_build_names_a_command_file_that_is_not_utf8_and_writes_nothing(tmp_path: Path) -> None:
    import shutil

    for part in (".claude/agents", ".claude/commands", ".claude/orchestra/hooks"):
        shutil.copytree(REPO / part, tmp_path / part)
    shutil.copy(REPO / ".claude/orchestra/pyproject.toml", tmp_path / ".claude/orchestra/pyproject.toml")
    command = tmp_path / ".claude/commands/data/show.md"
    command.parent.mkdir()
    command.write_bytes(b"---\ndescription: Shows a data task.\n---\nSummarise it for l'\xe9quipe data.\n")
    with pytest.raises(ValueError) as raised:
        plugin.build(tmp_path)
    assert str(raised.value) == f"{command}:4: not UTF-8 text (byte 0xe9); save the file as UTF-8, then build again"
    assert not (tmp_path / plugin.PLUGIN_COMMANDS).exists() and not (tmp_path / plugin.PLUGIN_JSON).exists()


@pytest.mark.parametrize("form", ["installed", "copied"])
def test_plugin_build_in_a_project_with_the_pack_refuses_and_writes_nothing(repo: Path, orchestra, form) -> None:
    """The plugin is built at the root of a clone. An installed or copied pack's own `orchestra plugin build`
    would scatter .claude-plugin/, hooks/ and plugin/ over the project, and delete its own plugin/ notes."""
    import shutil
    import sys

    from tests.installer.conftest import snapshot

    if form == "installed":
        assert orchestra("install", repo).code == 0
    else:
        shutil.copytree(REPO / ".claude", repo / ".claude", ignore=shutil.ignore_patterns("state", "__pycache__"))
    (repo / "plugin/commands").mkdir(parents=True)
    (repo / "plugin/commands/deploy.md").write_text("# How we deploy our own plugin\n")
    before = snapshot(repo, mtimes=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "ORCHESTRA_"))}
    for check in ([], ["--check"]):
        proc = subprocess.run([sys.executable, "-c", "from orchestra.cli import run; run()", "plugin", "build", *check],
                              capture_output=True, text=True, cwd=repo, timeout=120,
                              env={**env, "PYTHONPATH": str(repo / ".claude/orchestra/src"),
                                   "PYTHONDONTWRITEBYTECODE": "1"})  # Python's own caches are not the command's writes
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stderr.startswith(f"orchestra plugin: {repo}: not a clone of Orchestra"), proc.stderr
        assert "run `uv run orchestra plugin build` in a clone" in proc.stderr and proc.stderr.count("\n") == 1
        assert snapshot(repo, mtimes=False) == before


def test_plugin_build_says_which_copies_it_removed(tmp_path: Path, monkeypatch, capsys) -> None:
    import shutil

    from orchestra.cli import main
    from orchestra.installer import source

    for part in (".claude/agents", ".claude/commands", ".claude/orchestra/hooks", "templates"):
        shutil.copytree(REPO / part, tmp_path / part)
    shutil.copy(REPO / ".claude/orchestra/pyproject.toml", tmp_path / ".claude/orchestra/pyproject.toml")
    monkeypatch.setattr(source, "SOURCE_ROOT", tmp_path)
    plugin.build(tmp_path)
    (tmp_path / ".claude/commands/sprint/close.md").unlink()
    capsys.readouterr()
    assert main(["plugin", "build", "--check"]) == 1
    assert "stale: .claude-plugin/plugin.json" not in capsys.readouterr().err  # the command list is a folder
    assert main(["plugin", "build"]) == 0
    assert capsys.readouterr().out == f"removed {plugin.PLUGIN_COMMANDS}/sprint/close.md\n"
    assert not (tmp_path / plugin.PLUGIN_COMMANDS / "sprint/close.md").exists()
