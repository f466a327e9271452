"""The message bus through the real CLI: a question reaches a running agent at its next tool call.

Agents reach the bus through the orchestra MCP tools (the security guards refuse `orchestra msg` in
an agent's Bash). In the pack, fullstack-eng may ask and tech-lead may answer, so the question runs
that way; each side is already running when the other's message arrives.
"""

from __future__ import annotations

import re

from tests.e2e.fake_api import MAIN, agent_marker, bash, delegate, say, tool
from tests.e2e.landed import pending
from tests.e2e.test_delegation import in_worktree, seed_sprint, task

TECH_LEAD = agent_marker("tech-lead")
MEMBER = agent_marker("fullstack-eng")
QUESTION = "Which database should the order store use?"
ANSWER = "SQLite, in WAL mode."
MCP_TOOLS = "mcp__orchestra__ask mcp__orchestra__answer mcp__orchestra__ack"


def shown_id(kind: str):
    """A reply block source: the id of the `kind` message the model was just shown."""
    def find(request) -> str:
        match = re.search(rf"\b{kind} (\S+) from\b", request.last_user_text)
        assert match, f"no {kind} in what the model was shown: {request.last_user_text[-1500:]}"
        return match.group(1)
    return find


@pending("lifecycle", "bus", "mcp")
def test_question_reaches_a_running_agent_at_its_next_tool_call_and_is_closed(sandbox, api):
    sandbox.ensure_agent("tech-lead", "Read, Bash, mcp__orchestra__answer, mcp__orchestra__ack")
    sandbox.ensure_agent("fullstack-eng", "Bash, Read, Write, Edit, mcp__orchestra__ask, mcp__orchestra__ack")
    sandbox.mark_agents()
    sandbox.commit("agents")
    seed_sprint(sandbox, task("review-1", type="review", assignee="tech-lead"), task("build-1"))
    question_id, answer_id = shown_id("question"), shown_id("answer")

    main = api.script.on(MAIN)
    lead = api.script.on(TECH_LEAD)
    member = api.script.on(MEMBER)
    main.reply(delegate("tech-lead", "[task:review-1] Review the order store design.", "Review design"),
               delegate("fullstack-eng", "[task:build-1] Build the order store.", "Build order store")) \
        .reply(say("Design reviewed and store built."))
    # fullstack-eng asks while tech-lead is running; tech-lead sees it with its next tool result ...
    member.reply(tool("mcp__orchestra__ask", to="tech-lead", question=QUESTION, task="build-1"),
                 after=lead.asked(0)) \
          .reply(bash("echo building"), after=lead.asked(2)) \
          .reply(lambda r: tool("mcp__orchestra__ack", message_id=answer_id(r))) \
          .reply(in_worktree(sandbox, "order_store.py", "STORE = 'sqlite'\n")) \
          .reply(say("Store built.\nSTATUS: completed\nARTIFACTS: order_store.py"))
    # ... answers, and the answer reaches fullstack-eng the same way.
    lead.reply(bash("echo reviewing"), after=member.asked(1)) \
        .reply(lambda r: tool("mcp__orchestra__answer", question_id=question_id(r), answer=ANSWER)) \
        .reply(say("The design holds.\nSTATUS: completed"))

    run = sandbox.run(api, "Review the design and build the order store.",
                      allowed_tools=f"Bash Read Write Edit Agent {MCP_TOOLS}")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    for conversation, command, text in ((lead, "reviewing", QUESTION), (member, "building", ANSWER)):
        seen = next(r for r in api.conversation(conversation) if any(
            t["text"].startswith(command) for t in r.tool_results()))
        assert text in seen.last_user_text  # delivered along with that tool call's result
    member_id = next(s["agent_id"] for s in run.subagents() if s["agent_type"] == "fullstack-eng")
    with sandbox.state() as tx:
        stored = tx.items("communication.messages").values()
    [question] = [m for m in stored if m["type"] == "question"]
    [answer] = [m for m in stored if m["type"] == "answer"]
    assert question["from"] == f"agent:{member_id}"  # stamped by the hook, not claimed by the model
    assert question["to"] == "tech-lead" and question["status"] == "answered"
    assert answer["reply_to"] == question["id"] and answer["status"] == "acknowledged"
