"""Identity end to end without the CLI: the real PreToolUse hook stamps the caller over a forged one, and the
server stores that stamp, for the tool names of both forms (.mcp.json and plugin); a sender the model names
itself is dropped by the hook, and no argument of any tool."""

from __future__ import annotations

import re

import pytest
from orchestra import wiring
from orchestra.security import roles

from tests.conftest import HOOKS, hook_output, load_fixture, run_hook

from .conftest import everything

FIXTURE = "claude-code-2.1.328/nested-delegation.jsonl"
RUN = "a48f3f9b44540da36"  # the fullstack-eng run of the captured payloads
TOOL_NAMES = ("mcp__orchestra__send_message", "mcp__plugin_orchestra_orchestra__send_message")


def matchers() -> dict[str, str]:
    return {script: decl["matcher"] for script, decl in wiring.declarations(HOOKS) if decl["event"] == "PreToolUse"}


def test_the_identity_hook_matches_both_spellings_and_the_tool_guard_neither():
    wired = matchers()
    for name in (*TOOL_NAMES, "mcp__orchestra__ask", "mcp__plugin_orchestra_orchestra__update_task"):
        assert re.search(wired["pre_mcp.py"], name), name
        assert not re.search(wired["pre_tool.py"], name), name
    for name in ("Bash", "Write", "mcp__other__send_message", "mcp__plugin_other_orchestra__ask", "xmcp__orchestra__ask"):
        assert not re.search(wired["pre_mcp.py"], name), name
        assert re.search(wired["pre_tool.py"], name), name


def test_the_tool_guard_knows_every_tool_of_the_server(server):
    """A caller written into one of these under a server name the identity hook does not match is refused."""
    assert {tool.name for tool in server.tools()} == roles.MCP_TOOLS
    assert all(re.search(matchers()["pre_mcp.py"], f"mcp__{name}__ask") for name in roles.STAMPED_SERVERS)


@pytest.mark.parametrize("tool_name", TOOL_NAMES)
def test_the_sender_stored_is_the_one_the_hook_stamped(server, store, mcp_project, tool_name):
    event = next(e for e in load_fixture(FIXTURE) if e["hook_event_name"] == "PreToolUse"
                 and e.get("tool_name") == "Bash" and e.get("agent_type") == "fullstack-eng")
    forged = {"to": "tech-lead", "text": f"sent through {tool_name}",
              "caller": {"id": "main", "agent_type": None, "session_id": "forged"}}
    event = {**event, "cwd": str(mcp_project), "tool_name": tool_name}

    sent = server.ok("send_message", **stamped(event, forged, mcp_project))
    stored = store.get(f"communication.messages.{sent['id']}")
    assert stored["from"] == f"agent:{RUN}" and stored["payload"] == {"text": forged["text"]}

    claimed = stamped(event, {**forged, "from": "human", "sender": "engineering-director"}, mcp_project)
    assert "from" not in claimed and "sender" not in claimed
    sent = server.ok("send_message", **claimed)
    assert store.get(f"communication.messages.{sent['id']}")["from"] == f"agent:{RUN}"
    before = everything(store)
    assert "from\n  Extra inputs are not permitted" in server.error("send_message", **{**claimed, "from": "human"})
    assert everything(store) == before


def stamped(event, tool_input, project) -> dict:
    """The tool input as the real PreToolUse hook passes it on."""
    proc = run_hook("pre_mcp.py", {**event, "tool_input": tool_input}, project)
    assert proc.returncode == 0, proc.stderr
    return hook_output(proc)["hookSpecificOutput"]["updatedInput"]


def test_the_main_threads_inbox_leaves_messages_to_the_human_for_the_users_next_prompt(server, store, mcp_project):
    """The main thread's inbox lists what is sent to `human`, but reading it there does not take the user's alert
    away: the next UserPromptSubmit still shows a critical one to the user (systemMessage) and tells the model."""
    prompt = next(e for e in load_fixture(FIXTURE)
                  if e["hook_event_name"] == "UserPromptSubmit")
    main = {"id": "main", "agent_type": None, "session_id": prompt["session_id"]}
    sent = server.ok("ask", to="human", question="approve the migration?", priority="critical", caller=main)

    listed = server.ok("inbox", caller=main)["messages"]

    assert [m["id"] for m in listed] == [sent["id"]]
    proc = run_hook("user_prompt.py", {**prompt, "cwd": str(mcp_project)}, mcp_project)
    assert proc.returncode == 0, proc.stderr
    output = hook_output(proc)
    assert output["systemMessage"] == "Orchestra: CRITICAL from main: approve the migration?"
    assert "1 of these are for the user: tell them." in output["hookSpecificOutput"]["additionalContext"]
