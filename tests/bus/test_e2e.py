"""The bus through the real Claude Code CLI: what the model is shown, in the main thread and a subagent.

Messages are put on the bus before the session and in the middle of it (from the fake API's reply,
just before the tool call that should carry them); the assertions read the requests Claude Code
sent to the fake API and the delivery records.
"""

from __future__ import annotations

import json

import pytest
from orchestra import bus, paths, teams
from orchestra.store import open_store

from tests.e2e.conftest import api, claude_bin, sandbox, sandbox_place  # noqa: F401 - the e2e fixtures
from tests.e2e.fake_api import MAIN, agent_marker, bash, delegate, say
from tests.e2e.test_delegation import seed_sprint, task

pytestmark = pytest.mark.e2e
MEMBER = agent_marker("fullstack-eng")


def post(box, **fields) -> dict:
    paths.ensure_state_dir(box.repo)
    with open_store(url=f"sqlite:///{box.state_dir / 'orchestration.db'}") as store, store.transaction() as tx:
        return bus.send(tx, org=teams.load(box.repo), **{"type": "state_updated", **fields})


def deliveries(box) -> dict:
    with box.state() as tx:
        return tx.items("communication.deliveries")


def test_main_thread_and_user_get_their_messages_at_start_and_at_a_tool_call(sandbox, api):  # noqa: F811
    alarm = post(sandbox, sender="engineering-director", to="human", priority="critical",
                 payload={"text": "approve the schema migration?"})
    plan = post(sandbox, sender="engineering-director", to="main", payload={"text": "sprint s1 is planned"})
    late = {}

    def then_bash(_request):
        late.update(post(sandbox, sender="tech-lead", to="main", priority="critical",
                         payload={"text": "stop: the API contract changed"}))
        return bash("echo two")

    api.script.on(MAIN).reply(bash("echo one")).reply(then_bash).reply(say("done"))
    run = sandbox.run(api, "run two commands", allowed_tools="Bash")

    assert run.returncode == 0, run.describe()
    first, _, third = api.conversation(MAIN)
    assert first.first_user_text.count("approve the schema migration?") == 1
    assert "sprint s1 is planned" in first.first_user_text
    assert "1 of these are for the user: tell them." in first.first_user_text
    [started] = run.hook_responses("SessionStart")
    assert json.loads(started["stdout"])["systemMessage"] == (
        "Orchestra: CRITICAL from engineering-director: approve the schema migration?")
    assert "stop: the API contract changed" in third.last_user_text  # came with the result of `echo two`
    session = run.init["session_id"]
    records = deliveries(sandbox)
    assert {k: v["via"] for k, v in records.items()} == {
        f"{alarm['id']}@main:{session}": "session_start", f"{plan['id']}@main:{session}": "session_start",
        f"{late['id']}@main:{session}": "tool_call"}


def test_a_subagent_gets_its_inbox_at_start_and_new_messages_at_its_tool_calls(sandbox, api):  # noqa: F811
    sandbox.ensure_agent("fullstack-eng", "Bash, Read, Write, Edit")
    sandbox.mark_agents()
    sandbox.commit("agent for the scenario")
    seed_sprint(sandbox, task("build-1"))
    early = post(sandbox, sender="tech-lead", to="fullstack-eng", priority="high", payload={"text": "use the v2 API"})
    late = {}

    def then_bash(_request):
        late.update(post(sandbox, sender="tech-lead", to="team:engineering", priority="critical",
                         payload={"text": "freeze merges at 17:00"}))
        return bash("echo building")

    api.script.on(MAIN).reply(delegate("fullstack-eng", "[task:build-1] Build the order store.")) \
                       .reply(say("done"))
    api.script.on(MEMBER).reply(then_bash) \
                         .reply(say("Cannot build yet.\nSTATUS: blocked\nBLOCKER: waiting for the v2 API"))
    run = sandbox.run(api, "build the order store")

    assert run.returncode == 0, run.describe()
    first, second = api.conversation(MEMBER)[:2]
    assert "use the v2 API" in first.first_user_text  # SubagentStart brief
    assert "freeze merges at 17:00" in second.last_user_text and "use the v2 API" not in second.last_user_text
    member_id = next(s["agent_id"] for s in run.subagents() if s["agent_type"] == "fullstack-eng")
    records = deliveries(sandbox)
    assert records[f"{early['id']}@{member_id}"]["via"] == "subagent_start"
    assert records[f"{late['id']}@{member_id}"]["via"] == "tool_call"
