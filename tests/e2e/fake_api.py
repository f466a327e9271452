"""A scripted stand-in for the Anthropic Messages API, served on 127.0.0.1 for the real `claude` CLI.

A test writes a `Script`: for each conversation (told apart by marker strings in its system prompt or
first user message) the replies of its successive turns. The server streams each reply as Server-Sent
Events the way the real API does (message_start, content blocks with text_delta / input_json_delta,
message_delta with the stop reason, message_stop) and records every request it was sent.

    script = Script()
    script.on(MAIN).reply(bash("echo hi")).reply(say("done"))
    a = script.on(agent_marker("fullstack-eng"), "[task:t1]")
    b = script.on(agent_marker("fullstack-eng"), "[task:t2]")
    a.reply(bash("make a"), after=b.asked(0))        # held until b's first request arrived
    a.reply(lambda request: say(f"saw {len(request.messages)} messages"))   # computed from the request
    a.reply(bash("make c"), input_tokens=90_000)    # reported as a big context: Claude Code compacts it next

A compaction request (Claude Code asking for a summary of a conversation) takes no scripted turn: the
server answers it with `FakeAPI.summary` and records it in `FakeAPI.compactions`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAIN = "[e2e:main]"


def agent_marker(name: str) -> str:
    """The line the harness writes into an agent file's body, so that agent's requests can be recognised."""
    return f"[e2e-agent:{name}]"


# -- replies ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class ToolUse:
    name: str
    input: dict[str, Any]


Block = Text | ToolUse
# A reply block may also be computed from the request it answers (e.g. to quote an id the model was shown).
BlockSource = Block | Callable[["Request"], Block]
HOLD_TIMEOUT = 30.0  # seconds a held reply waits for its condition before answering anyway


def say(text: str) -> Text:
    return Text(text)


def tool(name: str, **tool_input: Any) -> ToolUse:
    return ToolUse(name, tool_input)


def bash(command: str, description: str = "Run a command") -> ToolUse:
    return ToolUse("Bash", {"command": command, "description": description})


def write(file_path: str, content: str) -> ToolUse:
    return ToolUse("Write", {"file_path": file_path, "content": content})


def delegate(subagent_type: str, prompt: str, description: str = "Delegated work",
             background: bool = False) -> ToolUse:
    """An `Agent` tool call; foreground unless `background` (2.1.328 defaults to background when omitted)."""
    return ToolUse("Agent", {"description": description, "prompt": prompt, "subagent_type": subagent_type,
                             "run_in_background": background})


@dataclass(frozen=True)
class Asked:
    """Condition: the conversation of `rule` has sent its request for `turn` (0 = its first request)."""

    rule: Rule
    turn: int


@dataclass(frozen=True)
class Turn:
    blocks: tuple[BlockSource, ...]
    after: Asked | None = None
    input_tokens: int | None = None  # the usage reported for the request; None: about its size
    thinking: float = 0.0  # seconds before the reply starts, as a real model takes


@dataclass(eq=False)
class Rule:
    """The replies of one kind of conversation: reply n answers the request with n assistant turns so far."""

    markers: tuple[str, ...]
    turns: list[Turn] = field(default_factory=list)

    def reply(self, *blocks: BlockSource, after: Asked | None = None, input_tokens: int | None = None,
              thinking: float = 0.0) -> Rule:
        """Add the next turn's reply. With `after`, the reply is held until that condition holds, which
        proves two conversations were alive at the same time (a sequential run would time out). With
        `input_tokens`, the reply reports that much context in use (enough of it makes Claude Code compact).
        With `thinking`, the reply starts that many seconds after its request, as a real model's does."""
        if not blocks:
            raise ValueError("a reply needs at least one block (say(...) or a tool call)")
        self.turns.append(Turn(tuple(blocks), after, input_tokens, thinking))
        return self

    def asked(self, turn: int) -> Asked:
        return Asked(self, turn)


class Script:
    """Rules keyed by markers. The rule whose markers all appear and which names the most of them wins."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def on(self, *markers: str) -> Rule:
        if not markers:
            raise ValueError("a rule needs at least one marker (MAIN, agent_marker(name), a task tag...)")
        rule = Rule(tuple(markers))
        self.rules.append(rule)
        return rule

    def match(self, haystack: str) -> Rule | None:
        hits = [r for r in self.rules if all(m in haystack for m in r.markers)]
        return max(hits, key=lambda r: len(r.markers), default=None)


# -- what the model was shown -----------------------------------------------------------------------

def _text_of(content: Any) -> str:
    """All text inside a message content (string or blocks), tool results included."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(_text_of(block.get("content")))
    return "\n".join(parts)


@dataclass
class Request:
    """One POST /v1/messages body and how the script answered it."""

    body: dict[str, Any]
    rule: Rule | None
    turn: int
    planned: Turn

    @property
    def system(self) -> str:
        return _text_of(self.body.get("system"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def first_user_text(self) -> str:
        return _text_of(self.messages[0].get("content")) if self.messages else ""

    @property
    def since_last_reply(self) -> list[dict[str, Any]]:
        """The messages after the model's last reply (all of them on a first request). Claude Code 2.1.328
        sends a tool's result as a user message and may send hook context as a separate `system` one."""
        last = max((i for i, m in enumerate(self.messages) if m.get("role") == "assistant"), default=-1)
        return self.messages[last + 1:]

    @property
    def last_user_text(self) -> str:
        """What the latest turn showed the model: text, tool results, hook context and feedback."""
        return "\n".join(_text_of(m.get("content")) for m in self.since_last_reply)

    def tool_results(self) -> list[dict[str, Any]]:
        """The tool_result blocks of the latest turn: {tool_use_id, text, is_error}."""
        blocks = [b for m in self.since_last_reply if isinstance(m.get("content"), list) for b in m["content"]]
        return [{"tool_use_id": b.get("tool_use_id"), "text": _text_of(b.get("content")),
                 "is_error": bool(b.get("is_error"))}
                for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]

    @property
    def tool_names(self) -> list[str]:
        return [t.get("name") for t in self.body.get("tools", [])]


# -- the server -------------------------------------------------------------------------------------

# The closing instruction of Claude Code 2.1.328's request for a summary of a conversation it compacts
COMPACTION_ASK = "Respond with plain text only \u2014 an <analysis> block followed by a <summary> block."
_REPLY_IDS = itertools.count(1)  # numbers the replies (message and tool_use ids) of every server in this process

class FakeAPI:
    """The server. Use as a context manager; `base_url` goes into ANTHROPIC_BASE_URL."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.requests: list[Request] = []
        self.unscripted: list[Request] = []
        self.broken_holds: list[Request] = []
        self.holding: list[Request] = []  # requests whose reply is held right now
        self.failed_replies: list[str] = []
        self.compactions: list[Request] = []  # requests for a summary, answered with `summary`
        self.summary = "<analysis>The work so far.</analysis>\n<summary>Compacted by the fake API.</summary>"
        self.other_calls: list[str] = []
        self._lock = threading.Condition()
        self._ids = _REPLY_IDS  # shared: two servers for two sessions of one project must not reuse a tool_use id
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-api", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def conversation(self, rule: Rule | str, *more_markers: str) -> list[Request]:
        """The recorded requests answered by `rule` (or the rule with exactly these markers), in order."""
        def answered_by(r: Request) -> bool:
            if isinstance(rule, Rule):
                return r.rule is rule
            return r.rule is not None and r.rule.markers == (rule, *more_markers)

        with self._lock:
            return [r for r in self.requests if answered_by(r)]

    def problems(self) -> list[str]:
        """Requests the script did not foresee and holds that timed out: empty when the run went as scripted."""
        with self._lock:
            return ([f"unscripted turn {r.turn} of {r.rule.markers if r.rule else 'an unknown conversation'}:"
                     f" {r.last_user_text[:300]!r}" for r in self.unscripted]
                    + [f"held reply of {r.rule.markers} turn {r.turn} timed out" for r in self.broken_holds]
                    + [f"scripted reply failed: {f}" for f in self.failed_replies]
                    + [f"unexpected call {c}" for c in self.other_calls])

    def answer(self, body: dict[str, Any]) -> Request:
        """Pick and record the reply for one request body."""
        messages = body.get("messages") or []
        if messages and COMPACTION_ASK in _text_of(messages[-1].get("content")):
            request = Request(body, None, -1, Turn((Text(self.summary),)))
            with self._lock:
                self.compactions.append(request)
            return request
        first = _text_of(messages[0].get("content")) if messages else ""
        rule = self.script.match(_text_of(body.get("system")) + "\n" + first)
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        scripted = rule is not None and turn < len(rule.turns)
        if scripted:
            planned = rule.turns[turn]
        else:
            planned = Turn((Text(f"(fake API: no scripted reply for turn {turn}"
                                 f" of {rule.markers if rule else 'an unknown conversation'})"),))
        request = Request(body, rule, turn, planned)
        with self._lock:
            self.requests.append(request)
            if not scripted:
                self.unscripted.append(request)
            self._lock.notify_all()
            if planned.after is not None:
                self.holding.append(request)
                if not self._lock.wait_for(lambda: self._has_asked(planned.after), timeout=HOLD_TIMEOUT):
                    self.broken_holds.append(request)
                self.holding.remove(request)
        if planned.thinking:
            time.sleep(planned.thinking)
        return request

    def wait_for_hold(self, timeout: float = HOLD_TIMEOUT) -> list[Request]:
        """Block until some reply is being held; returns the held requests (empty on timeout)."""
        with self._lock:
            self._lock.wait_for(lambda: self.holding, timeout=timeout)
            return list(self.holding)

    def _has_asked(self, condition: Asked) -> bool:
        return any(r.rule is condition.rule and r.turn >= condition.turn for r in self.requests)

    def message(self, request: Request) -> dict[str, Any]:
        """The reply as a complete Messages API response object."""
        with self._lock:
            n = next(self._ids)
        content = []
        try:
            blocks = [b(request) if callable(b) else b for b in request.planned.blocks]
        except Exception as exc:  # noqa: BLE001 - a broken script must end the run, not hang the CLI in retries
            with self._lock:
                self.failed_replies.append(f"turn {request.turn} of {request.rule.markers if request.rule else '?'}: "
                                           f"{exc.__class__.__name__}: {exc}")
            blocks = [Text(f"(fake API: the scripted reply failed: {exc})")]
        for i, block in enumerate(blocks):
            if isinstance(block, Text):
                content.append({"type": "text", "text": block.text})
            else:
                content.append({"type": "tool_use", "id": f"toolu_e2e{n:04d}{i}", "name": block.name,
                                "input": block.input})
        stop = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        return {"id": f"msg_e2e{n:06d}", "type": "message", "role": "assistant",
                "model": request.body.get("model", "claude-sonnet-4-5"), "content": content,
                "stop_reason": stop, "stop_sequence": None,
                "usage": {"input_tokens": request.planned.input_tokens or max(1, len(json.dumps(request.body)) // 4),
                          "output_tokens": max(1, len(json.dumps(content)) // 4),
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


def sse_events(message: dict[str, Any]) -> bytes:
    """A complete message as the Messages API streams it."""
    out: list[tuple[str, dict[str, Any]]] = []
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    out.append(("message_start", {"type": "message_start", "message": start}))
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            out.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                "content_block": {"type": "text", "text": ""}}))
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            out.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                "content_block": {**block, "input": {}}}))
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        out.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    out.append(("message_delta", {"type": "message_delta",
                                  "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                  "usage": {"output_tokens": usage["output_tokens"]}}))
    out.append(("message_stop", {"type": "message_stop"}))
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in out)


def _handler_for(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, content_type: str, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("request-id", "req_e2e")
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            path = self.path.split("?", 1)[0]
            if path.endswith("/count_tokens"):
                tokens = max(1, len(json.dumps(body)) // 4)
                self._send(200, "application/json", json.dumps({"input_tokens": tokens}).encode())
                return
            if path != "/v1/messages":
                api.other_calls.append(f"POST {self.path}")
                self._send(404, "application/json", b'{"type":"error","error":{"type":"not_found_error"}}')
                return
            message = api.message(api.answer(body))
            if body.get("stream"):
                self._send(200, "text/event-stream", sse_events(message))
            else:
                self._send(200, "application/json", json.dumps(message).encode())

        def do_GET(self) -> None:
            api.other_calls.append(f"GET {self.path}")
            self._send(404, "application/json", b'{"type":"error","error":{"type":"not_found_error"}}')

    return Handler
