"""The SDK server's own answers to a session's opening requests, kept for the next session's front.

Claude Code opens every session with the same requests (`server/discover`, `subscriptions/listen` and
the prompt, resource and tool lists, each carrying the same client information), and the server's
answers to them depend only on its code. So a memo maps each such request (method and exact params)
to the answer the SDK gave, and holds only while none of the files that made the answers has changed
(`stamp`): this package, its version, the SDK and pydantic. A request with other params, or any other
request, is not in the memo.

The file sits beside the warm hooks' socket, in the per-user directory nobody else may enter, named by
the installation like the socket. Whatever is wrong with it (missing, unreadable, another stamp, a
shape this module did not write) makes an empty memo, and a record that cannot be written is skipped:
never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from .. import atomic
from ..warm import client

LISTS = frozenset({"server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list"})
LISTEN = "subscriptions/listen"  # answered by an acknowledgement notification; the subscription stays open
SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId"  # where that notification names the request
MAX_ANSWERS = 64  # more would mean clients that differ each session; the oldest answers go first
DEPENDENCIES = ("mcp", "mcp_types", "pydantic", "pydantic_core")
Message = dict[str, Any]


def memo_key(message: Message) -> str | None:
    """The key of a request the memo can hold: method and canonical params; None for anything else."""
    method = message.get("method")
    if (method not in LISTS and method != LISTEN) or "id" not in message:
        return None
    return f"{method} {json.dumps(message.get('params'), sort_keys=True, separators=(',', ':'))}"


def wire(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def stamp() -> str:
    """What the answers depend on: every module of this package, its pyproject, and the installed SDK and
    pydantic (their distributions' names carry the versions; their `__init__` files, the code)."""
    package = Path(client.package_dir())
    seen = [package.parents[1] / "pyproject.toml"]
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        seen += sorted(Path(folder) / name for name in files if name.endswith(".py"))
    sites: set[Path] = set()
    for name in DEPENDENCIES:
        spec = find_spec(name)
        if spec is not None and spec.origin:
            seen.append(Path(spec.origin))
            sites.add(Path(spec.origin).parents[1])
    digest = hashlib.sha256()
    for path in seen:
        try:
            st = path.stat()
        except OSError:
            continue
        digest.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
    prefixes = tuple(f"{name}-" for name in DEPENDENCIES)
    for site in sorted(sites):
        digest.update("\0".join(sorted(e for e in os.listdir(site) if e.endswith(".dist-info")
                                       and e.startswith(prefixes))).encode())
    return digest.hexdigest()


class Memo:
    """Recorded answers by request key: `{"result": ...}` for a list, `{"notification": ...}` for a listen."""

    def __init__(self, path: Path | None, stamp: str, answers: dict[str, Message] | None = None) -> None:
        self.path = path  # None: nowhere private to keep it, so nothing is kept
        self.stamp = stamp
        self.answers = answers or {}

    @classmethod
    def load(cls) -> Memo:
        current = stamp()
        try:
            directory = client.own_socket_dir()
        except OSError:
            directory = None
        if directory is None:
            return cls(None, current)
        path = Path(client.installation_path("mcp-%s.json"))
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return cls(path, current)
        if not isinstance(data, dict) or data.get("stamp") != current or not _well_formed(data.get("answers")):
            return cls(path, current)
        return cls(path, current, data["answers"])

    def answer(self, request: Message) -> bytes | None:
        """What the SDK server answered to this request before, addressed to this request; None if unknown."""
        key = memo_key(request)
        known = self.answers.get(key) if key else None
        if known is None:
            return None
        if "result" in known:
            return wire({"jsonrpc": "2.0", "id": request["id"], "result": known["result"]})
        note = known["notification"]
        params = note.get("params", {})
        meta = {**params.get("_meta", {}), SUBSCRIPTION_ID: request["id"]}
        return wire({**note, "params": {**params, "_meta": meta}})

    def learn(self, key: str, answer: Message) -> None:
        """Keep the SDK server's answer to the request with this key, on disk at once; an answer of another shape
        than `answer` can serve is not kept."""
        if self.path is None or self.answers.get(key) == answer or not _fits(key, answer):
            return
        self.answers.pop(key, None)
        self.answers[key] = answer
        while len(self.answers) > MAX_ANSWERS:
            del self.answers[next(iter(self.answers))]
        try:
            atomic.write_bytes(self.path, json.dumps({"stamp": self.stamp, "answers": self.answers}).encode(), 0o600)
        except OSError:
            self.path = None  # a full disk, say: the next session is answered by the SDK, as this one was


def _well_formed(answers: object) -> bool:
    return isinstance(answers, dict) and all(isinstance(k, str) and _fits(k, answer) for k, answer in answers.items())


def _fits(key: str, answer: object) -> bool:
    """Whether `answer` has the one shape the memo keeps under `key`: a list's `{"result": {...}}`, a listen's
    `{"notification": {"method": ..., "params": {"_meta": {...}, ...}, ...}}`."""
    method = key.partition(" ")[0]
    if not isinstance(answer, dict) or len(answer) != 1:
        return False
    if method in LISTS:
        return isinstance(answer.get("result"), dict)
    note = answer.get("notification")
    if method != LISTEN or not isinstance(note, dict):
        return False
    params = note.get("params")
    return isinstance(note.get("method"), str) and isinstance(params, dict) and isinstance(params.get("_meta"), dict)
