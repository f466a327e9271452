"""The MCP server's front (orchestra.mcp_server.front): the opening requests Claude Code 2.1.328 sent, sent
again to a real `orchestra mcp` of an installed copy of the pack, as raw JSON-RPC lines on its stdio.

The first session's answers come from the SDK server and are recorded; the next session's come from the
record, which is proved by altering the record and seeing the alteration answered. What the front cannot
answer goes to the SDK server on the same wire.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from orchestra.mcp_server import front
from orchestra.mcp_server import memo as memo_module
from orchestra.mcp_server.memo import LISTEN, Memo, memo_key
from orchestra.warm import client

from tests.conftest import PACK, REPO
from tests.mcp.conftest import make_project, server_env

OPENING = REPO / "tests" / "fixtures" / "claude-code-2.1.328" / "mcp-opening.jsonl"
MARK = "answered from the memo"
READ_TIMEOUT_S = 60


def opening() -> list[dict[str, Any]]:
    return [json.loads(line) for line in OPENING.read_text(encoding="utf-8").splitlines()]


def with_ids(messages: list[dict[str, Any]], suffix: str) -> list[dict[str, Any]]:
    """The same requests under ids this test chose, so answers are seen to be addressed to them."""
    return [{**m, "id": f"{m['id']}-{suffix}"} for m in messages]


def call(name: str, arguments: dict[str, Any], request_id: str) -> dict[str, Any]:
    """A tool call as Claude Code sends it in the protocol of its opening (its `_meta` envelope)."""
    meta = opening()[-1]["params"]["_meta"]
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": meta}}


class Session:
    """One `orchestra mcp` process of the installed copy, spoken to line by line."""

    def __init__(self, installed: Path, project: Path) -> None:
        self.proc = subprocess.Popen(
            ["uv", "run", "--quiet", "--script", str(installed / "bin" / "orchestra"), "mcp"], cwd=project,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=server_env(project))

    def send(self, *messages: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], READ_TIMEOUT_S)
        assert ready, f"no answer in {READ_TIMEOUT_S} s; stderr: {self.stderr()}"
        line = self.proc.stdout.readline()
        assert line, f"the server ended; stderr: {self.stderr()}"
        return json.loads(line)

    def ask(self, *messages: dict[str, Any]) -> list[dict[str, Any]]:
        """One answer per message, in the order they come."""
        self.send(*messages)
        return [self.read() for _ in messages]

    def end(self) -> tuple[int, bytes]:
        """Close the input; the exit code and whatever else the server wrote."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=READ_TIMEOUT_S)
        return code, self.proc.stdout.read()

    def stderr(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")[-2000:]


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A copy of the pack's orchestra dir of its own, so its memo is its own."""
    target = tmp_path / "pack" / "orchestra"
    shutil.copytree(PACK, target, ignore=shutil.ignore_patterns("state", "__pycache__", "*.pyc"))
    yield target
    path = memo_path(target)
    if path.exists():
        path.unlink()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj ect")


def memo_path(installed: Path) -> Path:
    return Path(client.installation_path("mcp-%s.json", str(installed / "src" / "orchestra")))


def recorded(installed: Path) -> dict[str, Any]:
    return json.loads(memo_path(installed).read_bytes())


def mark_tools(installed: Path) -> None:
    """Alter the recorded tool list the way only a memo answer can show."""
    data = recorded(installed)
    [key] = [k for k in data["answers"] if k.startswith("tools/list ")]
    data["answers"][key]["result"]["tools"][0]["description"] = MARK
    memo_path(installed).write_text(json.dumps(data), encoding="utf-8")


def first_session(installed: Path, project: Path) -> list[dict[str, Any]]:
    session = Session(installed, project)
    answers = session.ask(*opening())
    assert session.end()[0] == 0
    return answers


def tools_of(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    [tools] = [a["result"]["tools"] for a in answers if "tools" in a.get("result", {})]
    return tools


def test_the_first_session_is_answered_by_the_sdk_and_recorded(installed: Path, project: Path) -> None:
    answers = first_session(installed, project)

    requests = opening()
    assert [a.get("id") for a in answers if "id" in a] == [r["id"] for r in requests if r["method"] != LISTEN]
    [ack] = [a for a in answers if "method" in a]
    assert ack["method"] == "notifications/subscriptions/acknowledged"
    assert "get_state" in {t["name"] for t in tools_of(answers)}
    data = recorded(installed)
    assert set(data["answers"]) == {memo_key(r) for r in requests}
    assert oct(memo_path(installed).stat().st_mode & 0o777) == "0o600"
    [tools_key] = [k for k in data["answers"] if k.startswith("tools/list ")]
    assert data["answers"][tools_key]["result"]["tools"] == tools_of(answers)
    assert all(t["inputSchema"]["additionalProperties"] is False for t in tools_of(answers))  # strict arguments


def test_the_next_session_is_answered_from_the_memo_then_by_the_sdk(installed: Path, project: Path) -> None:
    sdk_answers = first_session(installed, project)
    mark_tools(installed)

    session = Session(installed, project)
    answers = session.ask(*with_ids(opening(), "again"))
    got = session.ask(call("get_state", {"path": "sprints.sprint-3.status"}, "call-1"))

    assert tools_of(answers)[0]["description"] == MARK  # the front answered, from the memo
    assert tools_of(answers)[1:] == tools_of(sdk_answers)[1:]
    [ack] = [a for a in answers if "method" in a]
    assert ack["params"]["_meta"][memo_module.SUBSCRIPTION_ID] == "listen:0-again"
    assert [a["id"] for a in answers if "id" in a] == [f"{r['id']}-again" for r in opening() if r["method"] != LISTEN]
    [result] = got
    assert result["id"] == "call-1" and not result["result"].get("isError"), result
    assert result["result"]["structuredContent"]["value"] == "active"  # the SDK server, reading the real state
    code, rest = session.end()
    assert code == 0 and rest == b""


def test_changed_code_voids_the_memo(installed: Path, project: Path) -> None:
    first_session(installed, project)
    mark_tools(installed)
    module = installed / "src" / "orchestra" / "mcp_server" / "task_tools.py"
    later = time.time() + 5
    os.utime(module, (later, later))

    answers = first_session(installed, project)

    assert tools_of(answers)[0]["description"] != MARK
    assert MARK not in memo_path(installed).read_text(encoding="utf-8")  # recorded afresh


def test_a_request_the_memo_does_not_hold_goes_to_the_sdk(installed: Path, project: Path) -> None:
    first_session(installed, project)
    mark_tools(installed)
    other_client = [json.loads(json.dumps(m).replace('"version": "2.1.328"', '"version": "9.9.9"')) for m in opening()]
    assert other_client != opening()

    session = Session(installed, project)
    answers = session.ask(*other_client)

    assert tools_of(answers)[0]["description"] != MARK
    assert session.end()[0] == 0
    assert len(recorded(installed)["answers"]) == 2 * len({memo_key(r) for r in opening()})  # both clients kept


def test_a_broken_memo_is_ignored_and_replaced(installed: Path, project: Path) -> None:
    reference = first_session(installed, project)
    memo_path(installed).write_text('{"stamp": 1, "answers": [', encoding="utf-8")

    answers = first_session(installed, project)

    assert tools_of(answers) == tools_of(reference)
    assert set(recorded(installed)["answers"]) == {memo_key(r) for r in opening()}


@pytest.mark.parametrize("shape", ["a result beside a listen's notification", "a result for a listen"])
def test_a_memo_of_a_shape_it_never_writes_is_ignored_and_replaced(installed: Path, project: Path, shape: str) -> None:
    reference = first_session(installed, project)
    data = recorded(installed)
    [listen] = [k for k in data["answers"] if k.startswith(LISTEN)]
    [tools] = [k for k in data["answers"] if k.startswith("tools/list ")]
    odd = {"a result beside a listen's notification": {listen: {**data["answers"][listen], "result": "s"}},
           "a result for a listen": {listen: data["answers"][tools]}}[shape]
    memo_path(installed).write_text(json.dumps({**data, "answers": {**data["answers"], **odd}}), encoding="utf-8")

    answers = first_session(installed, project)

    assert sorted(map(json.dumps, answers)) == sorted(map(json.dumps, reference))
    assert recorded(installed) == data


def test_cancellations_get_no_answer_and_the_end_of_input_ends_the_server(installed: Path, project: Path) -> None:
    first_session(installed, project)
    session = Session(installed, project)
    session.ask(*opening())
    session.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "listen:0"}})

    code, rest = session.end()

    assert code == 0 and rest == b""


def test_a_call_nested_deeper_than_json_can_parse_leaves_the_server_serving(installed: Path, project: Path) -> None:
    first_session(installed, project)
    session = Session(installed, project)
    session.ask(*opening())
    deep = json.dumps(call("send_message", {"to": "tech-lead", "payload": {}}, "deep"))
    assert session.proc.stdin is not None
    session.proc.stdin.write(deep.replace('"payload": {}', '"payload": ' + '{"a": ' * 5000 + "{}" + "}" * 5000)
                             .encode() + b"\n")

    session.send(call("get_state", {"path": "sprints.sprint-3.status"}, "after"))

    refused = session.read()
    assert refused["id"] == "deep" and refused["error"]["code"] == -32700, refused  # answered, not left waiting
    got = session.read()
    assert got["id"] == "after" and not got["result"].get("isError"), got
    assert session.end()[0] == 0


@pytest.mark.parametrize(("written", "code"), [
    ('"text": "half an emoji: \\ud83d"', -32700),  # a lone surrogate: JSON the SDK cannot read
    ('"text": "a\tb"', -32700),  # a raw control character inside a string
    ('"jsonrpc": "1.0"', -32600),  # JSON, but not a JSON-RPC 2.0 request
], ids=["lone-surrogate", "raw-tab", "not-json-rpc-2"])
def test_a_call_the_sdk_cannot_read_is_answered_with_an_error_not_left_waiting(installed: Path, project: Path,
                                                                              written: str, code: int) -> None:
    session = Session(installed, project)
    session.ask(*opening())
    line = json.dumps(call("send_message", {"to": "tech-lead", "text": "x"}, "unreadable"))
    line = line.replace('"jsonrpc": "2.0"', written) if "jsonrpc" in written else line.replace('"text": "x"', written)

    assert session.proc.stdin is not None
    session.proc.stdin.write(line.encode() + b"\n")
    session.send(call("get_state", {"path": "sprints.sprint-3.status"}, "after"))

    refused = session.read()
    assert refused.get("id") == "unreadable" and refused["error"]["code"] == code, refused
    assert "column" in refused["error"]["message"] or "jsonrpc" in refused["error"]["message"], refused
    after = session.read()
    assert after["id"] == "after" and not after["result"].get("isError"), after
    assert session.end()[0] == 0


@pytest.mark.parametrize(("params", "named"), [
    ({"name": "get_state", "arguments": [1]}, "params.arguments: expected an object of the tool's arguments, got a list"),
    ({"name": "get_state", "arguments": "path=x"}, "params.arguments: expected an object of the tool's arguments, got a string"),
    ({"arguments": {}}, "params.name: expected the name of a tool, got nothing"),
    ({"name": 7, "arguments": {}}, "params.name: expected the name of a tool, got a number"),
], ids=["arguments-list", "arguments-string", "no-name", "name-number"])
def test_a_tool_call_of_the_wrong_shape_is_answered_with_what_is_wrong(installed: Path, project: Path,
                                                                       params: dict[str, Any], named: str) -> None:
    session = Session(installed, project)
    session.ask(*opening())
    bad = call("get_state", {}, "bad")
    session.send({**bad, "params": {**params, "_meta": bad["params"]["_meta"]}},
                 call("get_state", {"path": "sprints.sprint-3.status"}, "after"))

    refused = session.read()
    assert refused["id"] == "bad" and refused["error"]["code"] == -32602, refused
    assert named in refused["error"]["message"], refused
    after = session.read()
    assert after["id"] == "after" and not after["result"].get("isError"), after
    assert session.end()[0] == 0


def test_calls_sent_just_before_the_input_ends_are_all_answered(installed: Path, project: Path) -> None:
    session = Session(installed, project)
    session.ask(*opening())
    session.send(call("send_message", {"to": "tech-lead", "text": "sent, then the input ends",
                                       "caller": {"id": "main", "session_id": "s"}}, "last-write"),
                 call("plan_sprint", {"sprint_id": "sprint-3"}, "last-read"),
                 call("get_state", {}, 1.5))  # an id the SDK cannot answer to: nothing to wait for

    started = time.monotonic()
    code, rest = session.end()

    answers = {a["id"]: a for a in map(json.loads, rest.splitlines())}
    assert code == 0 and {"last-write", "last-read"} <= set(answers), rest[:500]
    assert not answers["last-write"]["result"].get("isError") and not answers["last-read"]["result"].get("isError")
    assert time.monotonic() - started < front.DRAIN_S / 2


def test_memo_answers_are_addressed_to_the_asking_request(tmp_path: Path) -> None:
    listen, tools = opening()[1], opening()[-1]
    memo = Memo(tmp_path / "memo.json", "stamp-1")
    memo.learn(memo_key(tools), {"result": {"tools": []}})
    memo.learn(memo_key(listen), {"notification": {"jsonrpc": "2.0", "method": "notifications/x",
                                                    "params": {"_meta": {}}}})

    assert json.loads(memo.answer({**tools, "id": 41})) == {"jsonrpc": "2.0", "id": 41, "result": {"tools": []}}
    note = json.loads(memo.answer({**listen, "id": "sub-9"}))
    assert note["params"]["_meta"] == {memo_module.SUBSCRIPTION_ID: "sub-9"}
    assert memo.answer({**tools, "params": {}}) is None  # other params
    assert memo_key({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {}}) is None
    assert memo_key({"jsonrpc": "2.0", "method": "tools/list"}) is None  # a notification is never answered
    assert json.loads((tmp_path / "memo.json").read_bytes())["stamp"] == "stamp-1"


def test_the_memo_keeps_its_newest_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "MAX_ANSWERS", 3)
    memo = Memo(tmp_path / "memo.json", "s")
    for n in range(5):
        memo.learn(f"tools/list {n}", {"result": {"n": n}})
    assert list(memo.answers) == ["tools/list 2", "tools/list 3", "tools/list 4"]


def test_the_memo_keeps_only_answers_of_the_shape_it_serves(tmp_path: Path) -> None:
    memo = Memo(tmp_path / "memo.json", "s")
    memo.learn("tools/list {}", {"result": "not an object"})
    memo.learn(f"{LISTEN} {{}}", {"result": {}})
    memo.learn(f"{LISTEN} {{}}", {"notification": {"method": "n", "params": {"_meta": {}}}, "result": {}})

    assert memo.answers == {} and not (tmp_path / "memo.json").exists()


def test_a_call_after_a_quiet_second_is_served_by_the_sdk_loaded_in_the_background(installed: Path,
                                                                                  project: Path) -> None:
    from orchestra.mcp_server.front import LOAD_AFTER_S

    first_session(installed, project)
    session = Session(installed, project)
    session.ask(*opening())
    time.sleep(LOAD_AFTER_S + 0.5)  # the loader has started by now

    [result] = session.ask(call("get_state", {"path": "sprints.sprint-3.status"}, "late-call"))

    assert result["id"] == "late-call" and result["result"]["structuredContent"]["value"] == "active", result
    assert session.end()[0] == 0


def test_the_recorder_learns_only_answers_to_what_it_saw_asked(tmp_path: Path) -> None:
    from orchestra.mcp_server.front import Recorder

    listen, tools = opening()[1], opening()[-1]
    recorder = Recorder(Memo(tmp_path / "memo.json", "s"))
    recorder.answered(b'{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}\n')  # nothing asked yet
    recorder.asked(json.dumps({**tools, "id": 3}).encode())
    recorder.asked(json.dumps({**listen, "id": "sub"}).encode())
    recorder.asked(json.dumps(call("get_state", {}, "c")).encode())  # not memo-able
    recorder.answered(b'{"jsonrpc":"2.0","method":"notifications/message","params":[1, 2]}\n')
    recorder.answered(b'{"jsonrpc":"2.0","id":"c","result":{"content":[]}}\n')
    recorder.answered(b'{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}\n')
    recorder.answered(json.dumps({"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
                                  "params": {"_meta": {memo_module.SUBSCRIPTION_ID: "sub"}}}).encode())

    assert recorder.memo.answers == {
        memo_key(tools): {"result": {"tools": []}},
        memo_key(listen): {"notification": {"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
                                            "params": {"_meta": {}}}}}
    assert recorder.waiting == {}


def test_a_memo_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    blocked = tmp_path / "not a dir"
    blocked.write_text("", encoding="utf-8")
    memo = Memo(blocked / "memo.json", "s")

    memo.learn("tools/list {}", {"result": {"tools": []}})  # no error: the memo is only a shortcut

    assert memo.path is None and memo.answers == {"tools/list {}": {"result": {"tools": []}}}
