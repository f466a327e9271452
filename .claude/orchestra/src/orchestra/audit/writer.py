"""Appending to the audit log: one line at a time under its lock, rotating and moving the head on."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path
from typing import Any

from ..clock import now_iso
from .chain import canonical, line_hash
from .files import (
    count_lines,
    hash_of,
    head_path,
    last_line,
    line_start,
    locked,
    read_head,
    rotated,
    segment_path,
    segments,
    write_head,
)

ROTATE_BYTES = 8 * 1024 * 1024
ROTATE_ENV = "ORCHESTRA_AUDIT_ROTATE_BYTES"
HOOK_LOCK_WAIT_S = 3.0  # a hook's wait for the log's lock: a stopped holder must not hold every hook past its timeout
_OUTCOMES = {"allow": "allowed", "context": "allowed", "rewrite": "allowed", "deny": "denied", "ask": "asked",
             "block": "blocked", "error": "error", "malformed": "malformed"}
RESULTS = tuple(dict.fromkeys(_OUTCOMES.values()))  # what a line's `result` can be


class HeadBehind(OSError):
    """The line is in the log, but the head could not be moved on to it (a full disk, say): `check` reads
    the lines after the head as appends interrupted before their head update, and the next append heals it."""


def shape(record: dict[str, Any]) -> dict[str, Any]:
    """The line's fixed fields, derived from a hook record where the hook did not set them."""
    entry = dict(record)
    event = entry.get("event")
    entry.setdefault("session", None)
    entry.setdefault("agent", entry.get("agent_id") or ("main" if event else None))
    entry.setdefault("agent_type", None)
    entry.setdefault("role", None)
    entry.setdefault("action", f"{event}:{entry['tool']}" if event and entry.get("tool") else event)
    entry.setdefault("resource", None)
    entry.setdefault("result", _OUTCOMES.get(entry.get("decision"), entry.get("decision")))
    return entry


def _rotate_limit() -> int:
    """The size past which the log is rotated (0: never); a value that is no size is the default."""
    try:
        limit = int(os.environ.get(ROTATE_ENV, ROTATE_BYTES))
    except ValueError:
        return ROTATE_BYTES
    return limit if limit >= 0 else ROTATE_BYTES


def append(path: Path, record: dict[str, Any], rotate_bytes: int | None = None,
           wait: float | None = None) -> dict[str, Any]:
    """Append one record to the chain and return it as written (with ts, prev, hash). With `wait`, a lock
    held longer than that many seconds raises `LockBusy` and nothing is written."""
    path = Path(path)
    limit = _rotate_limit() if rotate_bytes is None else rotate_bytes
    with locked(path, wait=wait):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = _cut_torn_tail(fd, path, os.fstat(fd).st_size)
            prev, lines = _chain_position(path, size)
            if limit and size >= limit:
                os.close(fd)
                fd = -1
                seq = (rotated(path)[-1][0] if rotated(path) else 0) + 1
                os.replace(path, segment_path(path, seq))
                # The head now describes the new, empty file: if this writer dies before its line's head
                # update, the next one reads that line as written, not the new file as a cut-short old one.
                write_head(path, {"lines": lines, "hash": prev, "size": 0})
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
                size = 0
            entry = {"ts": now_iso(), **shape(record)}
            entry["prev"] = prev
            entry["hash"] = line_hash(entry)
            data = canonical(entry) + b"\n"
            _write_line(fd, data, size)
        finally:
            if fd >= 0:
                os.close(fd)
        try:
            write_head(path, {"lines": lines + 1, "hash": entry["hash"], "size": size + len(data)})
        except OSError as exc:
            raise HeadBehind(f"audit line written to {path}, but {head_path(path).name} was not updated "
                             f"({exc.strerror or exc})") from None
    return entry


def _write_line(fd: int, data: bytes, size: int) -> None:
    """Write the whole line, or nothing: a short write (a full disk) is cut back off, so the next
    append does not glue its line onto half of this one and break the chain for good."""
    try:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError:
        with suppress(OSError):
            os.ftruncate(fd, size)
        raise


def _chain_position(path: Path, size: int) -> tuple[str, int]:
    """(hash to chain from, lines so far) for the current file of `size` bytes."""
    head = read_head(path)
    if head is not None and head.get("size") == size:
        return head["hash"], head["lines"]
    if head is not None and isinstance(head.get("size"), int) and size < head["size"]:
        # The file is shorter than the head says: lines were cut off. Chain from the head, so the
        # next line does not match its predecessor and `check` reports the cut for good.
        return head["hash"], head["lines"]
    # No head yet (an older log) or a crash between a write and its head update: read the files.
    files = segments(path)
    last = next((raw for p in reversed(files) if (raw := last_line(p)) is not None), None)
    return hash_of(last), sum(count_lines(p) for p in files)


def _cut_torn_tail(fd: int, path: Path, size: int) -> int:
    """Cut off a line an append killed mid-write left without its end (a write to a file can stop
    between pages), so the next line does not follow it on the same line; the new size. A torn line
    the head counts as written is left for `check` to name: that is a cut, not a crash."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    start = line_start(fd, size)
    recorded = (read_head(path) or {}).get("size")
    if isinstance(recorded, int) and recorded > start:
        return size
    os.ftruncate(fd, start)
    return start
