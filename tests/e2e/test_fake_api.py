"""The fake Messages API on its own (no CLI needed): rule choice, turns, SSE framing, holds, records."""

from __future__ import annotations

import json
import threading
import urllib.request

from tests.e2e.fake_api import MAIN, FakeAPI, Script, agent_marker, bash, say


def post(api: FakeAPI, body: dict, stream: bool = True) -> bytes:
    request = urllib.request.Request(f"{api.base_url}/v1/messages?beta=true",
                                     data=json.dumps({**body, "stream": stream}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def sse(raw: bytes) -> list[tuple[str, dict]]:
    events = []
    for frame in raw.decode().strip().split("\n\n"):
        name, data = frame.split("\n")
        events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def conversation(first: str, assistant_turns: int = 0, system: str = "You are Claude Code.") -> dict:
    messages = [{"role": "user", "content": first}]
    for _ in range(assistant_turns):
        messages += [{"role": "assistant", "content": [{"type": "text", "text": "..."}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]}]
    return {"model": "claude-sonnet-4-5", "system": [{"type": "text", "text": system}], "messages": messages}


def test_streams_parallel_tool_calls_as_the_messages_api_does():
    with FakeAPI() as api:
        api.script.on(MAIN).reply(bash("echo one"), bash("echo two"))
        events = sse(post(api, conversation(f"{MAIN} go")))

    names = [name for name, _ in events]
    assert names == ["message_start", *["content_block_start", "content_block_delta", "content_block_stop"] * 2,
                     "message_delta", "message_stop"]
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert [s["type"] for s in starts] == ["tool_use", "tool_use"] and all(s["input"] == {} for s in starts)
    assert len({s["id"] for s in starts}) == 2
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert [json.loads(d["partial_json"])["command"] for d in deltas] == ["echo one", "echo two"]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_answers_non_streaming_requests_with_a_whole_message():
    with FakeAPI() as api:
        api.script.on(MAIN).reply(say("plain"))
        message = json.loads(post(api, conversation(f"{MAIN} go"), stream=False))

    assert message["content"] == [{"type": "text", "text": "plain"}] and message["stop_reason"] == "end_turn"


def test_turn_is_the_number_of_assistant_messages_and_the_most_specific_rule_wins():
    script = Script()
    member = agent_marker("fullstack-eng")
    script.on(member).reply(say("generic 0")).reply(say("generic 1"))
    script.on(member, "[task:t2]").reply(say("t2 0")).reply(say("t2 1"))
    with FakeAPI(script) as api:
        post(api, conversation("[task:t2] build", 1, system=f"body\n{member}"))
        post(api, conversation("[task:t1] build", 0, system=f"body\n{member}"))
        post(api, conversation("no marker at all"))

    assert [(r.turn, r.planned.blocks) for r in api.requests[:2]] == [(1, (say("t2 1"),)), (0, (say("generic 0"),))]
    assert api.unscripted == [api.requests[2]] and len(api.problems()) == 1


def test_a_held_reply_waits_for_the_other_conversation():
    script = Script()
    a, b = script.on("[a]"), script.on("[b]")
    a.reply(say("a done"), after=b.asked(0))
    b.reply(say("b done"))
    with FakeAPI(script) as api:
        worker = threading.Thread(target=post, args=(api, conversation("[a] first")))
        worker.start()
        held = [r.rule for r in api.wait_for_hold()]  # a waits: b has not asked yet
        post(api, conversation("[b] second"))
        worker.join(timeout=30)

    assert held == [a] and not worker.is_alive() and not api.holding
    assert [r.rule for r in api.requests] == [a, b] and not api.problems()


def test_a_reply_can_be_computed_from_the_request_and_its_failure_is_reported():
    with FakeAPI() as api:
        api.script.on(MAIN).reply(lambda r: say(f"saw {len(r.messages)} message(s)")) \
                           .reply(lambda r: say(r.body["missing"]))
        first = json.loads(post(api, conversation(f"{MAIN} go"), stream=False))
        second = json.loads(post(api, conversation(f"{MAIN} go", 1), stream=False))

    assert first["content"][0]["text"] == "saw 1 message(s)"
    assert "scripted reply failed" in second["content"][0]["text"]
    assert any("KeyError" in p for p in api.problems())


def test_two_servers_never_hand_out_the_same_tool_use_id():
    """Two sessions of one project, each with its own server: a reused id would pass for a replayed delegation."""
    ids = []
    for _ in range(2):
        with FakeAPI() as api:
            api.script.on(MAIN).reply(bash("echo one"))
            body = json.loads(post(api, conversation(f"{MAIN} go"), stream=False))
            ids += [block["id"] for block in body["content"] if block["type"] == "tool_use"]
    assert len(ids) == 2 and len(set(ids)) == 2, ids
