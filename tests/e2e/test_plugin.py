"""The pack as a plugin (`claude --plugin-dir <clone>`), through the real CLI: a plugin agent reaches the
orchestra MCP tools under their plugin names, and the hooks stamp its real identity on what it sends."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.fake_api import MAIN, delegate, say, tool
from tests.e2e.harness import REPO, Sandbox

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
