"""The pack as a plugin (`claude --plugin-dir <clone>`), through the real CLI: a plugin agent reaches the
orchestra MCP tools under their plugin names, and the hooks stamp its real identity on what it sends."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.fake_api import MAIN, bash, delegate, say, tool
from tests.e2e.harness import MODEL, REPO, RUN_TIMEOUT, Sandbox, _uv

ASK = "mcp__plugin_orchestra_orchestra__ask"
# fullstack-eng's own first line, as the plugin ships it: what tells its requests apart.
MEMBER = "You are a full-stack engineer on the engineering team."


@pytest.fixture
def plugin_sandbox(claude_bin, tmp_path_factory) -> Sandbox:
    box = Sandbox(tmp_path_factory.mktemp("plugin"), claude_bin, with_pack=False).create()
    (box.repo / ".claude").mkdir()
    shutil.copy(REPO / "templates" / "teams.yaml", box.repo / ".claude" / "teams.yaml")  # as README says
    box.warm_hooks([*sorted((REPO / ".claude/orchestra/hooks").glob("*.py")), REPO / ".claude/orchestra/bin/orchestra"])
    yield box
    box.cleanup()


def test_a_plugin_agent_asks_through_the_plugin_named_tool_as_itself(plugin_sandbox, api):
    box = plugin_sandbox
    api.script.on(MAIN).reply(delegate("orchestra:fullstack-eng", "Tell the tech lead the cart API is ready.",
                                       "Report the cart")) \
                       .reply(say("Reported."))
    api.script.on(MEMBER).reply(tool(ASK, to="tech-lead", question="Is the cart API ready for review?",
                                          **{"from": "qa-director"})) \
                         .reply(say("Asked.\nSTATUS: blocked\nBLOCKER: waiting for the tech lead's answer"))

    run = box.run(api, "Report the cart.", allowed_tools=f"Agent Read Bash {ASK}",
                  extra_args=("--plugin-dir", str(REPO)))

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    [result] = [r for request in api.conversation(MEMBER) for r in request.tool_results()]
    assert not result["is_error"], result  # the agent's tools list names the plugin's tool
    [member] = run.subagents()
    with box.state() as tx:
        [sent] = [m for m in tx.items("communication.messages").values() if m.get("type") == "question"]
    assert member["agent_type"] == "orchestra:fullstack-eng"
    assert (sent["from"], sent["from_type"], sent["to"]) == (f"agent:{member['agent_id']}", "fullstack-eng", "tech-lead")
    assert any(a.get("warm") for a in box.audit())  # the plugin's MCP server starts the warm server too


@pytest.fixture
def spaced_plugin(plugin_sandbox) -> Path:
    """The plugin as a copy at a path with a space, its scripts' uv environments built."""
    root = plugin_sandbox.base / "plugin dir" / "orchestra"
    if root.exists():
        shutil.rmtree(root)
    skip = shutil.ignore_patterns("state", "__pycache__", "*.pyc", "uv.lock", "backup")
    for part in (".claude-plugin", "hooks", "plugin", ".claude"):
        shutil.copytree(REPO / part, root / part, ignore=skip)
    plugin_sandbox.warm_hooks([*sorted((root / ".claude/orchestra/hooks").glob("*.py")),
                               root / ".claude/orchestra/bin/orchestra"])
    yield root
    _drop_environments(root)


def _drop_environments(root: Path) -> None:
    cache = _uv()[1].get("UV_CACHE_DIR")
    for pth in Path(cache).glob("environments-v2/*/lib/python*/site-packages/*.pth") if cache else ():
        if str(root) in pth.read_text(encoding="utf-8", errors="replace"):
            shutil.rmtree(pth.parents[3], ignore_errors=True)


def run_command(box: Sandbox, api, plugin: Path, command: str, cwd: Path) -> list[dict]:
    """`claude -p /<command>` in `cwd` with `plugin` loaded; its stream-json messages."""
    cmd = [str(box.claude), "-p", command, "--output-format", "stream-json", "--verbose", "--model", MODEL,
           "--allowedTools", "Agent", "--plugin-dir", str(plugin)]
    proc = subprocess.run(cmd, cwd=cwd, env=box.env(api), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("started_in", [".", "web app"])
def test_a_plugin_command_runs_the_plugins_cli_on_the_project(plugin_sandbox, spaced_plugin, api, started_in):
    """The project has no pack: `/orchestra:audit:verify` must run the CLI inside the plugin (whose path
    has a space), and that CLI must read the state the plugin's hooks write: the project Claude Code was
    started in, also a subdirectory of the repository."""
    box = plugin_sandbox
    project = (box.repo / started_in).resolve()
    project.mkdir(exist_ok=True)
    trust = json.loads((box.config_dir / ".claude.json").read_text())
    trust["projects"][str(project)] = {"hasTrustDialogAccepted": True}
    (box.config_dir / ".claude.json").write_text(json.dumps(trust))
    asked = api.script.on("The audit log's hash chain verified.").reply(say("Verified."))

    messages = run_command(box, api, spaced_plugin, "/orchestra:audit:verify", project)

    assert [m["result"] for m in messages if m.get("type") == "result"] == ["Verified."], messages[-1]
    [request] = api.conversation(asked)
    shown = request.last_user_text
    log = project / ".claude/state/audit.jsonl"
    assert "audit log intact: " in shown and f"({log})" in shown and log.exists(), shown[-600:]


def test_the_delegate_command_names_the_plugins_agent(plugin_sandbox, spaced_plugin, api):
    """`/orchestra:task:delegate` gives Agent arguments to pass unchanged: in plugin form the agent is
    `orchestra:fullstack-eng`, as the plugin's MCP tool `delegate_task` also names it."""
    box = plugin_sandbox
    box.seed({"tasks.t1": {"id": "t1", "title": "Cart API", "status": "queued", "type": "feature",
                           "team": "engineering", "assignee": "fullstack-eng", "priority": "normal",
                           "dependencies": [], "artifacts": []}})

    def agent_call(request):
        shown = json.loads(re.search(r"^\{.*?^\}", request.last_user_text, re.M | re.S).group(0))
        return delegate(shown["subagent_type"], shown["prompt"], shown["description"])

    api.script.on("Above are the ready Agent arguments for task t1.").reply(agent_call).reply(say("Delegated."))
    api.script.on(MEMBER).reply(say("Nothing to build.\nSTATUS: blocked\nBLOCKER: no spec"))

    messages = run_command(box, api, spaced_plugin, "/orchestra:task:delegate t1", box.repo)

    started = [m.get("subagent_type") for m in messages if m.get("subtype") == "task_started"]
    assert started == ["orchestra:fullstack-eng"], [m for m in messages if m.get("type") == "user"][-3:]
    assert not api.problems(), api.problems()


def test_with_the_pack_installed_too_each_hook_runs_once(sandbox, api):
    """The project's settings run the installed pack's hooks, the plugin runs its copies: these stand aside."""
    api.script.on(MAIN).reply(bash("true")).reply(say("Done."))

    run = sandbox.run(api, "Check.", allowed_tools="Bash", extra_args=("--plugin-dir", str(REPO)))

    assert run.returncode == 0, run.describe()
    assert len(run.hook_responses("SessionStart")) == 2  # both copies were started
    hooks = [line["hook"] for line in sandbox.audit()]
    assert sorted(hooks) == sorted(set(hooks)) and {"session_start", "pre_tool", "stop"} <= set(hooks), hooks


@pytest.fixture
def installed_plugin(claude_bin, tmp_path_factory) -> tuple[Sandbox, Path]:
    """A project with no teams.yaml, and the plugin installed for good (`claude plugin marketplace add` and
    `claude plugin install`) from a copy of the clone's plugin at a path with a space, templates/ included."""
    box = Sandbox(tmp_path_factory.mktemp("plugin"), claude_bin, with_pack=False).create()
    source = box.base / "plugin dir" / "orchestra"
    skip = shutil.ignore_patterns("state", "__pycache__", "*.pyc", "uv.lock", "backup")
    for part in (".claude-plugin", "hooks", "plugin", ".claude", "templates"):
        shutil.copytree(REPO / part, source / part, ignore=skip)
    for args in (["marketplace", "add", str(source)], ["install", "orchestra@claude-orchestra"]):
        proc = subprocess.run([str(box.claude), "plugin", *args], cwd=box.repo, env=box.env(), capture_output=True,
                              text=True, timeout=RUN_TIMEOUT)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    box.warm_hooks([*sorted((source / ".claude/orchestra/hooks").glob("*.py")), source / ".claude/orchestra/bin/orchestra"])
    yield box, source
    _drop_environments(source)
    box.cleanup()


def test_a_plugin_only_project_without_teams_yaml_is_given_the_command_that_writes_one(installed_plugin, api):
    """/orchestra:sprint:start lists the organisation, which comes from the project's teams.yaml: without one
    Claude Code aborts the command on that line, whose error must be a command that writes it; once run, the
    sprint reaches the model with the template's organisation."""
    box, source = installed_plugin
    sprints = box.repo / ".claude" / "sprints"
    sprints.mkdir(parents=True)
    (sprints / "s1.yaml").write_text("id: s1\nname: One\ngoal: Try it\ntasks:\n  - id: t1\n    title: Build it\n"
                                     "    team: engineering\n    assignee: fullstack-eng\n", encoding="utf-8")
    asked = api.script.on("Run sprint s1 through the team orchestrators").reply(say("Delegated."))
    command = [str(box.claude), "-p", "/orchestra:sprint:start s1", "--output-format", "stream-json", "--verbose",
               "--model", MODEL, "--allowedTools", "Agent"]

    def results() -> list[str]:
        proc = subprocess.run(command, cwd=box.repo, env=box.env(api), capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return [json.loads(line).get("result") for line in proc.stdout.splitlines()
                if line.startswith("{") and json.loads(line).get("type") == "result"]

    [shown] = results()
    teams_yaml = box.repo / ".claude" / "teams.yaml"
    assert shown.startswith("Shell command failed") and f"{teams_yaml}: not found" in shown, shown
    assert not api.requests
    fix = re.search(r"there: `(mkdir .*)`\)", shown).group(1)
    assert str(source / "templates" / "teams.yaml") in fix
    subprocess.run(["sh", "-c", fix], check=True, timeout=30)

    assert results() == ["Delegated."]
    [request] = api.conversation(asked)
    assert "engineering-director" in request.last_user_text and "delegate now: engineering: t1" in request.last_user_text
