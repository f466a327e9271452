"""The orchestra MCP server through the real CLI: an agent cannot send or report as someone else.

A member forges both `from` and the `caller` stamp itself; the PreToolUse hook replaces them, and the
server stores the real run as sender and reporter.
"""

from __future__ import annotations

from tests.e2e.fake_api import MAIN, agent_marker, delegate, say, tool
from tests.e2e.landed import pending
from tests.e2e.test_delegation import seed_sprint, task

MEMBER = agent_marker("fullstack-eng")
FORGED = {"from": "engineering-director", "caller": {"id": "main", "agent_type": None, "session_id": "forged"}}
TOOLS = "mcp__orchestra__send_message mcp__orchestra__report_status"


@pending("lifecycle", "bus", "mcp")
def test_forged_from_and_caller_are_replaced_by_the_real_sender(sandbox, api):
    sandbox.ensure_agent("fullstack-eng", "Bash, Read")
    sandbox.add_tools("fullstack-eng", *TOOLS.split())
    sandbox.mark_agents()
    sandbox.commit("agents")
    seed_sprint(sandbox, task("cart-1"))
    api.script.on(MAIN).reply(delegate("fullstack-eng", "[task:cart-1] Build the cart API.", "Build cart")) \
                       .reply(say("The cart is waiting on review."))
    api.script.on(MEMBER).reply(tool("mcp__orchestra__send_message", to="tech-lead", text="cart API is ready",
                                     **FORGED)) \
                         .reply(tool("mcp__orchestra__report_status", task_id="cart-1", progress=80,
                                     summary="endpoints done", **FORGED)) \
                         .reply(say("Cart API built.\nSTATUS: blocked\nBLOCKER: waiting for the tech-lead's review"))

    run = sandbox.run(api, "Build the cart API.", allowed_tools=f"Agent Read Bash {TOOLS}")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    results = [r for request in api.conversation(MEMBER) for r in request.tool_results()]
    assert len(results) == 2 and not any(r["is_error"] for r in results), results
    [member] = run.subagents()
    real = f"agent:{member['agent_id']}"
    with sandbox.state() as tx:
        [sent] = [m for m in tx.items("communication.messages").values() if m.get("payload") == {
            "text": "cart API is ready"}]
        [report] = tx.get("tasks.cart-1.reports")
    assert (sent["from"], sent["from_type"], sent["to"]) == (real, "fullstack-eng", "tech-lead")
    assert report["by"] == real and report["progress"] == 80
