"""The MCP server's front: a session's opening requests answered before the SDK has loaded.

`claude -p` waits for its MCP servers before its first turn, and importing the official SDK takes
about 0.6 s. The front answers the opening requests it finds in the memo (`memo`), which holds the
SDK server's own earlier answers to the identical requests. A second after the last of them, a
background thread loads the SDK server at a lower CPU priority: a session's first second is busy with
Claude Code's own start-up and the first hooks, which measurably slowed when the import ran beside them,
and a real model does not call a tool that soon. The first message the front cannot answer (a tool call, a legacy `initialize`, any
request of a client it has not seen) and everything after it go to the SDK server, on the same
stdin and stdout; while it serves, the answers it gives to memo-able requests are recorded for the
next session.

From the start the wire is held on private descriptors: fd 0 reads the null device and fd 1 writes to
stderr, as the SDK's own stdio transport arranges, so nothing else in the process reads or writes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import sys
import threading
from typing import Any

from .memo import LISTEN, SUBSCRIPTION_ID, Memo, Message, memo_key, wire

LOAD_AFTER_S = 1.0  # of quiet after the opening: then the SDK loads in the background
LOADER_NICENESS = 10  # the loading thread's; a session's own work (hooks, the CLI) comes first
CANCELLED = "notifications/cancelled"
DRAIN_S = 10.0  # at the end of the input, how long the requests still being served may take to be answered


class Wire:
    """The client's stdin and stdout, read and written as newline-delimited JSON-RPC messages."""

    def __init__(self) -> None:
        self.inp = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
        self.out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        self.pending = bytearray()
        self.ended = False
        self.sending = threading.Lock()  # the SDK's answers and the input's refusals come from two threads

    def line(self, timeout: float | None = None) -> bytes | None:
        """The next line (b"" once the input has ended); None if `timeout` seconds pass first."""
        while True:
            end = self.pending.find(b"\n")
            if end >= 0 or (self.ended and self.pending):
                line = bytes(self.pending[:end + 1] if end >= 0 else self.pending)
                del self.pending[:len(line)]
                return line
            if self.ended:
                return b""
            if timeout is not None and not select.select([self.inp], [], [], timeout)[0]:
                return None
            chunk = os.read(self.inp, 1 << 16)
            self.ended = not chunk
            self.pending += chunk

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        with self.sending:
            while view:
                view = view[os.write(self.out, view):]


class Loader(threading.Thread):
    """Imports the SDK and builds the server in the background."""

    def __init__(self) -> None:
        super().__init__(name="orchestra-mcp-loader", daemon=True)
        self.server: Any = None
        self.failure: BaseException | None = None

    def run(self) -> None:
        if sys.platform == "linux":  # where a thread's priority is its own: the serving thread keeps its own
            with contextlib.suppress(OSError):  # a sandbox that forbids it: load at the usual priority
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOADER_NICENESS)
        try:
            from .server import build

            self.server = build()
        except BaseException as exc:  # re-raised in the serving thread by `built`
            self.failure = exc

    def built(self) -> Any:
        self.join()
        if self.failure is not None:
            raise self.failure
        return self.server


class Pending:
    """The requests the SDK server has read and not yet answered. The SDK stops serving once its input ends, and
    drops the answers still to come; so at the end of the input the server first waits (up to `DRAIN_S`) for them:
    a client that writes its calls and then closes its end gets every answer."""

    def __init__(self) -> None:
        self.ids: set[str] = set()  # as JSON, so 1 and "1" differ
        self.changed = threading.Condition()

    def asked(self, message: Message | None) -> None:
        method, params = (message.get("method"), message.get("params")) if message is not None else (None, None)
        if not isinstance(method, str) or method == LISTEN:  # a listen stays open as long as the input
            return
        with self.changed:
            if _request_id(message) is not None:  # one the SDK answers; with an id of another type it drops it
                self.ids.add(json.dumps(message["id"]))
            elif method == CANCELLED and isinstance(params, dict):  # a cancelled request gets no answer
                self.ids.discard(json.dumps(params.get("requestId")))
                self.changed.notify_all()

    def answered(self, line: bytes) -> None:
        if not self.ids:
            return
        message = _parsed(line)
        if message is not None and "method" not in message and "id" in message:
            with self.changed:
                self.ids.discard(json.dumps(message["id"]))
                self.changed.notify_all()

    def drain(self) -> None:
        with self.changed:
            self.changed.wait_for(lambda: not self.ids, DRAIN_S)


class Recorder:
    """Notes the memo-able requests the SDK server gets, and learns its answers to them."""

    def __init__(self, memo: Memo) -> None:
        self.memo = memo
        self.waiting: dict[str, str] = {}  # request id (as JSON, so 1 and "1" differ) -> memo key
        self.lock = threading.Lock()

    def asked(self, line: bytes) -> None:
        message = _parsed(line)
        key = memo_key(message) if message else None
        if key is not None:
            with self.lock:
                self.waiting[json.dumps(message["id"])] = key

    def answered(self, line: bytes) -> None:
        if not self.waiting:
            return
        about, answer = _answer_in(_parsed(line) or {})
        if about is None:
            return
        with self.lock:
            key = self.waiting.pop(json.dumps(about), None)
        # a list is answered by its result, a listen by its acknowledgement; an error is not kept
        if key is not None and answer is not None and ("notification" in answer) == key.startswith(LISTEN):
            self.memo.learn(key, answer)


class SdkInput:
    """The input as the SDK reads it (through `anyio.wrap_file`): the line the front stopped at, then the rest."""

    def __init__(self, wire: Wire, first: bytes, recorder: Recorder, pending: Pending) -> None:
        self.wire, self.first, self.recorder, self.pending = wire, first, recorder, pending

    def readline(self) -> str:
        """The next line the SDK can read; a request it could not read is answered here with an error."""
        while True:
            line, self.first = self.first or self.wire.line(), b""
            text = line.decode("utf-8", "replace")
            if not line:
                self.pending.drain()  # the SDK stops at the end of the input, answered or not
                return text
            refusal = _unreadable(text)
            if refusal is None:
                self.pending.asked(_parsed(line))
                self.recorder.asked(line)
                return text
            self.wire.send(refusal)


class SdkOutput:
    def __init__(self, wire: Wire, recorder: Recorder, pending: Pending) -> None:
        self.wire, self.recorder, self.pending = wire, recorder, pending

    def write(self, text: str) -> int:
        """Learn first, then send: once the client has an answer, the memo has it too, however soon the
        client then ends this process (Claude Code ends it with a signal, which the server obeys at once)."""
        data = text.encode("utf-8")
        self.recorder.answered(data)
        self.wire.send(data)
        self.pending.answered(data)
        return len(text)

    def flush(self) -> None:
        """Every write goes straight to the descriptor."""


def serve() -> None:
    """Serve on stdin/stdout until the client closes its end: the front first, then the SDK server."""
    wire, memo = Wire(), Memo.load()
    loader: Loader | None = None
    answered = False
    while True:
        line = wire.line(LOAD_AFTER_S if answered and loader is None else None)
        if line is None:
            loader = Loader()
            loader.start()
            continue
        if not line:
            return  # the client has gone before needing the SDK
        message = _parsed(line)
        if message is not None and message.get("method") == CANCELLED:
            continue  # every request the front took is answered already, or an open subscription
        reply = memo.answer(message) if message is not None else None
        if reply is None:
            break
        wire.send(reply)
        answered = True
    if loader is None:
        from .server import build

        server = build()
    else:
        server = loader.built()
    from .server import serve_on

    recorder, pending = Recorder(memo), Pending()
    serve_on(server, SdkInput(wire, line, recorder, pending), SdkOutput(wire, recorder, pending))


def _parsed(line: bytes) -> Message | None:
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):  # nested too deep to parse: the SDK server refuses it, and serves on
        return None
    return message if isinstance(message, dict) else None


def _unreadable(text: str) -> bytes | None:
    """A JSON-RPC error answering a request the SDK cannot read (a lone surrogate or a raw control character in a
    string, no `"jsonrpc": "2.0"`, an id of another type); None for any other line. The SDK drops such a line
    unanswered, and its caller would wait for an answer that never comes. A tool call of the wrong shape is answered
    here too, saying what is wrong: the SDK's own answer names nothing."""
    from mcp.types import jsonrpc_message_adapter
    from pydantic import ValidationError

    if not text.strip():
        return None
    try:
        parsed = jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValidationError as exc:
        problem = exc.errors()[0]
    else:
        return _misshapen_call(parsed)
    try:
        message = json.loads(text, strict=False)
    except RecursionError:  # nested deeper than Python parses: its id and method are on the top level all the same
        message = _top_level(text)
    except ValueError:
        return None  # no id to answer to
    request_id = _request_id(message)
    if request_id is None:
        return None  # a notification or a response: nobody waits for an answer
    if problem["type"] == "json_invalid":
        error = {"code": -32700, "message": f"Parse error: {problem['msg']}"}
    else:
        error = {"code": -32600, "message": 'Invalid Request: not a JSON-RPC 2.0 request ("jsonrpc": "2.0", a string '
                                            'or integer id, a method name, params an object)'}
    return wire({"jsonrpc": "2.0", "id": request_id, "error": error})


def _misshapen_call(request: Any) -> bytes | None:
    """A JSON-RPC error for a `tools/call` whose params lack a tool name or carry arguments that are not an object;
    None for any other message."""
    if getattr(request, "method", None) != "tools/call" or not isinstance(request.params, dict):
        return None
    name, arguments = request.params.get("name"), request.params.get("arguments")
    if not isinstance(name, str):
        wrong = f"params.name: expected the name of a tool, got {_json_kind(name)}"
    elif arguments is not None and not isinstance(arguments, dict):
        wrong = f"params.arguments: expected an object of the tool's arguments, got {_json_kind(arguments)}"
    else:
        return None
    return wire({"jsonrpc": "2.0", "id": request.id, "error": {"code": -32602, "message": f"Invalid params: {wrong}"}})


def _json_kind(value: Any) -> str:
    if value is None:
        return "nothing"
    kinds = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"), (list, "a list"))
    return next((kind for types, kind in kinds if isinstance(value, types)), "an object")


SCALAR_STARTS = tuple('"-0123456789')


def _top_level(text: str) -> Message:
    """The members of a JSON object whose values are strings or numbers, read without descending into the others
    (a request nested too deep for `json.loads`); {} for a line that is not an object."""
    decoder, space, found = json.JSONDecoder(strict=False), json.decoder.WHITESPACE, {}
    i = space.match(text).end()
    if not text.startswith("{", i):
        return found
    depth, key_next = 0, False
    while i < len(text):
        char = text[i]
        if char == '"':
            try:
                value, i = json.decoder.scanstring(text, i + 1, False)
                colon = space.match(text, i).end()
                start = space.match(text, colon + 1).end()
                if depth == 1 and key_next and text.startswith(":", colon) and text[start:start + 1] in SCALAR_STARTS:
                    found[value], i = decoder.raw_decode(text, start)
            except ValueError:  # broken further on: what was read so far stands
                return found
            key_next = False
            continue
        if char in "{[":
            depth += 1
            key_next = depth == 1
        elif char in "}]":
            depth -= 1
        elif char == "," and depth == 1:
            key_next = True
        i += 1
    return found


def _request_id(message: Any) -> str | int | None:
    """The id of a request that can be answered (a string or an integer); None for anything else."""
    request_id = message.get("id") if isinstance(message, dict) and isinstance(message.get("method"), str) else None
    return None if isinstance(request_id, bool) or not isinstance(request_id, str | int) else request_id


def _answer_in(message: Message) -> tuple[Any, Message | None]:
    """(the request id a message from the SDK server answers, the answer to keep) or (None, None)."""
    if "method" not in message and "id" in message:  # a response
        return message["id"], ({"result": message["result"]} if "result" in message else None)
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    if isinstance(meta, dict) and SUBSCRIPTION_ID in meta:  # a listen's acknowledgement
        rest = {k: v for k, v in meta.items() if k != SUBSCRIPTION_ID}
        return meta[SUBSCRIPTION_ID], {"notification": {**message, "params": {**params, "_meta": rest}}}
    return None, None
