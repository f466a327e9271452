"""Metrics read from the audit log: hook latency (each line's `ms`) and tool-call outcomes (calls,
denials, failures, hook errors), over a window of the most recent lines.

`AuditWindow` follows the log incrementally (the dashboard re-reads it four times a second), also
across rotation: lines already read stay in the window, the new file is read from its start.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import audit

WINDOW = 5000  # lines: about a day of one busy session, and cheap to keep in memory
# What json.loads reads that is not plain JSON (as in store.jsonfile): NaN, Infinity, a surrogate escape
_NOT_PLAIN = re.compile(rb"NaN|Infinity|\\u[dD][89a-fA-F]")


class AuditWindow:
    """The last `size` audit records, refreshed by `refresh()` from where the previous read stopped."""

    def __init__(self, log: Path, size: int = WINDOW) -> None:
        self.log = Path(log)
        self.records: deque[dict[str, Any]] = deque(maxlen=size)
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file being followed
        self._offset = 0
        self._started = False

    def refresh(self) -> bool:
        """Read lines appended since the last call; True when there were any."""
        if self._started:
            return self._read_new()
        self._started = True
        self._read_new()
        room = (self.records.maxlen or WINDOW) - len(self.records)
        older: list[dict[str, Any]] = []
        for _, segment in reversed(audit.rotated(self.log)):
            if len(older) >= room:
                break
            older = _parse(segment.read_bytes().splitlines()) + older
        if room > 0 and older:
            self.records.extendleft(reversed(older[-room:]))
        return bool(self.records)

    def _read_new(self) -> bool:
        try:
            stat = os.stat(self.log)
        except FileNotFoundError:
            return False
        added: list[dict[str, Any]] = []
        if (stat.st_dev, stat.st_ino) != self._identity:
            if self._identity is not None:  # rotated: finish the renamed file, then start the new one
                added += self._rest_of_rotated()
            self._identity, self._offset = (stat.st_dev, stat.st_ino), 0
        elif stat.st_size < self._offset:  # replaced in place: start again
            self._offset = 0
        if stat.st_size > self._offset:
            with open(self.log, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(stat.st_size - self._offset)
            complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written is read next time
            self._offset += len(complete)
            added += _parse(complete.splitlines())
        self.records.extend(added)
        return bool(added)

    def _rest_of_rotated(self) -> list[dict[str, Any]]:
        """The file followed so far was renamed to a segment: its unread end, then every segment
        rotated after it (several rotations can happen between two looks)."""
        segments = [path for _, path in audit.rotated(self.log)]
        for i, segment in enumerate(segments):
            try:
                stat = os.stat(segment)
            except FileNotFoundError:
                continue
            if (stat.st_dev, stat.st_ino) == self._identity:
                with open(segment, "rb") as handle:
                    handle.seek(self._offset)
                    out = _parse(handle.read().splitlines())
                for later in segments[i + 1:]:
                    out += _parse(later.read_bytes().splitlines())
                return out
        return []


def _parse(lines: Iterable[bytes]) -> list[dict[str, Any]]:
    """The lines that are JSON objects; a damaged one is skipped, as one holding what is not plain JSON:
    NaN or Infinity, or a lone surrogate escape (no JSON reader takes the first, UTF-8 cannot hold the second,
    and either, passed on, made `metrics --json` and the dashboard fail)."""
    out = []
    for raw in lines:
        try:
            record = json.loads(raw)
            if _NOT_PLAIN.search(raw):  # rare: only such a line is checked
                json.dumps(record, allow_nan=False, ensure_ascii=False).encode()
        except ValueError:  # UnicodeError is one
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def read(log: Path, size: int = WINDOW) -> list[dict[str, Any]]:
    """The last `size` readable records of the log, oldest first."""
    window = AuditWindow(log, size)
    window.refresh()
    return list(window.records)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def _latency(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95),
            "max_ms": max(values) if values else None}


def _milliseconds(value: object) -> float | None:
    """A line's `ms` as a finite float, else None (not a number, or NaN, infinite, too large for a float)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        ms = float(value)
    except OverflowError:
        return None
    return ms if math.isfinite(ms) else None


def hook_latency(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """p50/p95/max of the `ms` every hook run recorded, overall and per hook script. A time that is not a
    finite number (a damaged line's NaN, 1e999 or a 400-digit integer) is skipped: no JSON reader takes NaN or Infinity."""
    by_hook: dict[str, list[float]] = {}
    for record in records:
        ms = _milliseconds(record.get("ms"))
        if ms is not None and record.get("hook"):
            by_hook.setdefault(str(record["hook"]), []).append(ms)
    every = [ms for values in by_hook.values() for ms in values]
    return {**_latency(every), "by_hook": {hook: _latency(values) for hook, values in sorted(by_hook.items())}}


def tool_outcomes(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Tool calls (one PreToolUse line each), how many were denied by a guard, how many failed when
    run (PostToolUseFailure), and hook runs that errored; `rate` = (denied + failed) / calls."""
    calls = denied = failed = errors = 0
    for record in records:
        event = record.get("event")
        if event == "PreToolUse":
            calls += 1
            denied += record.get("decision") == "deny"
        elif event == "PostToolUseFailure":
            failed += 1
        errors += record.get("decision") in ("error", "malformed")
    return {"tool_calls": calls, "denied": denied, "failed": failed, "hook_errors": errors,
            "rate": round((denied + failed) / calls, 4) if calls else None}
