"""Checking the audit log: follow the chain through every segment, then hold it against its head."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

from ..record import Record, default
from .chain import CHAIN_BROKEN, GENESIS, line_problem
from .files import head_path, locked, read_head, rotated, segment_path, segments


class Report(Record, frozen=False):
    """The result of `check`: lines read, and the first bad line (file and 1-based line) if any."""

    lines: int = 0
    file: str | None = None
    line: int | None = None
    problem: str | None = None
    warnings: list[str] = default(list)
    last_hash: str = GENESIS
    head: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def where(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "lines": self.lines, "file": self.file, "line": self.line, "problem": self.problem,
                "warnings": self.warnings, "last_hash": self.last_hash, "head": self.head}


def check(path: Path) -> Report:
    """Verify the whole log (every segment, then the head) and name the first bad line.

    The lock is held only to take the chain as it stands (head, segments, the current file and its
    size): appends go on while the files are read, and are not read."""
    path = Path(path)
    with ExitStack() as files:
        with locked(path, exclusive=False):
            head, seqs = read_head(path), rotated(path)
            try:
                current: BinaryIO | None = files.enter_context(open(path, "rb"))
            except FileNotFoundError:
                current = None
            size = os.fstat(current.fileno()).st_size if current is not None else 0
        return _check(path, head, seqs, current, size)


def _lines(handle: BinaryIO, size: int | None = None) -> Iterator[bytes]:
    """The lines of an open file, up to `size` bytes (a rotated segment: all of it)."""
    read = 0
    for raw in handle:
        if size is not None and read >= size:
            return
        read += len(raw)
        yield raw


def _chain_files(path: Path, seqs: list[tuple[int, Path]], current: BinaryIO | None,
                 size: int) -> Iterator[tuple[str, Iterator[bytes]]]:
    for _, segment in seqs:
        with open(segment, "rb") as handle:
            yield segment.name, _lines(handle)
    if current is not None:
        yield path.name, _lines(current, size)


def _check(path: Path, head: dict[str, Any] | None, seqs: list[tuple[int, Path]], current: BinaryIO | None,
           size: int) -> Report:
    report = Report(head=head)
    numbers = [seq for seq, _ in seqs]
    missing = sorted(set(range(1, (numbers[-1] if numbers else 0) + 1)) - set(numbers))
    if missing:
        report.file, report.line = segment_path(path, missing[0]).name, 1
        report.problem = "rotated segment is missing (deleted): the chain cannot be followed across it"
        return report
    prev, anchor = GENESIS, (report.head or {}).get("lines")
    anchor_at: tuple[str, int, str] | None = None  # file, line and hash of the line the head names
    last_file, last_file_lines, before = path.name, 0, None
    for name, lines in _chain_files(path, seqs, current, size):
        last_file, last_file_lines, before = name, 0, (last_file if report.lines else None)
        for number, raw in enumerate(lines, start=1):
            why = line_problem(raw, prev)
            if why is not None:
                report.file, report.line = name, number
                report.problem = _first_line_break(before) if number == 1 and why.startswith(CHAIN_BROKEN) else why
                return report
            prev = json.loads(raw)["hash"]
            report.lines += 1
            last_file_lines = number
            if report.lines == anchor:
                anchor_at = (name, number, prev)
    report.last_hash = prev
    head = report.head
    if head is None:
        if report.lines:
            why = "is unreadable (not the head the log writes)" if head_path(path).exists() else "is missing"
            report.warnings.append(f"{head_path(path).name} {why}: lines cut off the end cannot be detected")
        return report
    if report.lines < head["lines"]:
        report.file, report.line = last_file, last_file_lines + 1
        report.problem = (f"truncated: the head records {head['lines']} lines ending in {head['hash'][:12]}, "
                          f"the log ends after {report.lines}")
    elif anchor_at is not None and anchor_at[2] != head["hash"]:
        report.file, report.line = anchor_at[0], anchor_at[1]
        report.problem = (f"line {head['lines']} of the chain does not match the head anchor "
                          f"({head['hash'][:12]}): the log was rewritten")
    elif report.lines > head["lines"]:
        report.warnings.append(f"{report.lines - head['lines']} line(s) after the head anchor "
                               "(an append interrupted before its head update)")
    return report


def _first_line_break(before: str | None) -> str:
    """Why a file's first line does not chain: nothing before it to match, or the file before it ends elsewhere."""
    if before is None:
        return (f"{CHAIN_BROKEN}: the log's first line does not start the chain (lines before it were deleted, "
                "or the rotated segments that held them)")
    return (f"{CHAIN_BROKEN}: the first line does not continue {before} (a rotated segment after {before} was "
            f"deleted, or lines were cut off the end of {before})")


def verify(path: Path) -> tuple[int, str | None]:
    """(lines checked, None) or (lines checked, "file:line: what is wrong")."""
    report = check(path)
    if report.ok:
        return report.lines, None
    where = f"{report.where}: " if report.file else ""
    return report.lines, f"{where}{report.problem}"


def tail(path: Path, count: int = 20) -> list[dict[str, Any]]:
    """The last `count` lines as records, oldest first (reads back through rotated segments)."""
    out: list[dict[str, Any]] = []
    for segment in reversed(segments(path)):
        lines = segment.read_bytes().splitlines()
        for raw in reversed(lines):
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append({"unreadable": raw[:200].decode("utf-8", "replace")})
            if len(out) >= count:
                return out[::-1]
    return out[::-1]
