"""The audit log: one hash-chained JSON line per hook invocation or policy decision (stdlib only).

Each line carries `prev` (the previous line's hash) and `hash` = sha256 over the line's canonical
JSON without `hash`. Appends take an exclusive lock on the file and read only its tail, so the
cost does not grow with the log.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
_TAIL = 65536

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are still atomic per line, unlocked
    fcntl = None  # type: ignore[assignment]


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def line_hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def _last_hash(handle) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    if size == 0:
        return GENESIS
    handle.seek(max(0, size - _TAIL))
    tail = handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        return json.loads(tail)["hash"]
    except (ValueError, KeyError, TypeError):
        # A torn or foreign last line: chain from its bytes so verify still pinpoints it.
        return hashlib.sha256(tail).hexdigest()


def append(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append one record to the chain and return it as written (with ts, prev, hash)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            entry = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"), **record}
            entry["prev"] = _last_hash(handle)
            entry["hash"] = line_hash(entry)
            handle.seek(0, os.SEEK_END)
            handle.write(_canonical(entry) + b"\n")
            handle.flush()
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return entry


def verify(path: Path, start_prev: str = GENESIS) -> tuple[int, str | None]:
    """Check the chain. Returns (lines checked, None) or (line number, what is wrong there)."""
    prev = start_prev
    count = 0
    with open(path, "rb") as handle:
        for count, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return count, "line is truncated (no newline)"
            try:
                record = json.loads(raw)
            except ValueError:
                return count, "line is not JSON"
            if not isinstance(record, dict) or "hash" not in record:
                return count, "line has no hash"
            if record.get("prev") != prev:
                return count, "chain broken: prev does not match the previous line (deleted, reordered or inserted)"
            if line_hash(record) != record["hash"]:
                return count, "hash mismatch: the line was edited"
            prev = record["hash"]
    return count, None
