"""The message bus through the real CLI: a question reaches a running agent at its next tool call.

Agents reach the bus through the orchestra MCP tools (the security guards refuse `orchestra msg` in
an agent's Bash). The shipped tech-lead and fullstack-eng may each ask and answer the other, so the
scenario runs both ways: tech-lead asking fullstack-eng, and fullstack-eng asking tech-lead. Each
side is already running when the other's message arrives.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.fake_api import MAIN, agent_marker, bash, delegate, say, tool
from tests.e2e.landed import pending
from tests.e2e.test_delegation import in_worktree, seed_sprint, task

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
@pytest.mark.parametrize(("asker", "answerer"), [("tech-lead", "fullstack-eng"), ("fullstack-eng", "tech-lead")],
                         ids=["lead-asks-engineer", "engineer-asks-lead"])
def test_question_reaches_a_running_agent_at_its_next_tool_call_and_is_closed(sandbox, api, asker, answerer):
    sandbox.mark_agents()
    sandbox.commit("agents")
    seed_sprint(sandbox, task("review-1", type="review", assignee="tech-lead"), task("build-1"))
    question_id, answer_id = shown_id("question"), shown_id("answer")
    own_task = {"tech-lead": "review-1", "fullstack-eng": "build-1"}
    finish = {
        "tech-lead": [say("The design holds.\nSTATUS: completed")],
        "fullstack-eng": [in_worktree(sandbox, "order_store.py", "STORE = 'sqlite'\n"),
                          say("Store built.\nSTATUS: completed\nARTIFACTS: order_store.py")],
    }

    main = api.script.on(MAIN)
    asks = api.script.on(agent_marker(asker))
    answers = api.script.on(agent_marker(answerer))
    main.reply(delegate("tech-lead", "[task:review-1] Review the order store design.", "Review design"),
               delegate("fullstack-eng", "[task:build-1] Build the order store.", "Build order store")) \
        .reply(say("Design reviewed and store built."))
    # The asker asks while the other runs; the question arrives with the other's next tool result ...
    asks.reply(tool("mcp__orchestra__ask", to=answerer, question=QUESTION, task=own_task[asker]),
               after=answers.asked(0)) \
        .reply(bash("echo waiting"), after=answers.asked(2)) \
        .reply(lambda r: tool("mcp__orchestra__ack", message_id=answer_id(r)))
    for step in finish[asker]:
        asks.reply(step)
    # ... which answers, and the answer reaches the asker the same way.
    answers.reply(bash("echo working"), after=asks.asked(1)) \
        .reply(lambda r: tool("mcp__orchestra__answer", question_id=question_id(r), answer=ANSWER))
    for step in finish[answerer]:
        answers.reply(step)

    run = sandbox.run(api, "Review the design and build the order store.",
                      allowed_tools=f"Bash Read Write Edit Agent {MCP_TOOLS}")

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    for conversation, command, text in ((answers, "working", QUESTION), (asks, "waiting", ANSWER)):
        seen = next(r for r in api.conversation(conversation) if any(
            t["text"].startswith(command) for t in r.tool_results()))
        assert text in seen.last_user_text  # delivered along with that tool call's result
    asker_id = next(s["agent_id"] for s in run.subagents() if s["agent_type"] == asker)
    with sandbox.state() as tx:
        stored = tx.items("communication.messages").values()
    [question] = [m for m in stored if m["type"] == "question"]
    [answer] = [m for m in stored if m["type"] == "answer"]
    assert question["from"] == f"agent:{asker_id}"  # stamped by the hook, not claimed by the model
    assert question["to"] == answerer and question["status"] == "answered"
    assert answer["reply_to"] == question["id"] and answer["status"] == "acknowledged"
