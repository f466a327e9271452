"""The audit log: one hash-chained JSON line per hook invocation and policy decision (stdlib only).

Every line carries `ts, session, agent, agent_type, role, event, tool, action, resource, result`
plus the hook's own context fields (decision, reason, rule, ms, ...), then `prev` (the previous
line's hash) and `hash` = sha256 over the line's canonical JSON without `hash`.

A chain alone cannot show that lines were cut off its end, so a small head file
(`audit.head.json`: line count, last hash, current file size) is rewritten under the same lock
as every append; `check` compares the log with it. When the log grows past `ROTATE_BYTES` it
is renamed to `audit-000001.jsonl`, `audit-000002.jsonl`, ... and the chain continues into the
new file. Appends read only the head, so their cost does not grow with the log.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

from .clock import now_iso
from .record import Record, default

# hashlib's constructors load OpenSSL (about 3 ms of every hook process); the interpreter's own
# SHA-256 gives the same digest.
try:
    from _sha2 import sha256  # Python 3.12 and later
except ImportError:
    try:
        from _sha256 import sha256  # Python 3.11
    except ImportError:  # pragma: no cover - a build without the builtin hashes
        from hashlib import sha256

GENESIS = "0" * 64
ROTATE_BYTES = 8 * 1024 * 1024
ROTATE_ENV = "ORCHESTRA_AUDIT_ROTATE_BYTES"
_TAIL = 65536
HOOK_LOCK_WAIT_S = 3.0  # a hook's wait for the log's lock: a stopped holder must not hold every hook past its timeout
_OUTCOMES = {"allow": "allowed", "context": "allowed", "rewrite": "allowed", "deny": "denied", "ask": "asked",
             "block": "blocked", "error": "error", "malformed": "malformed"}

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are still atomic per line, unlocked
    fcntl = None  # type: ignore[assignment]


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def line_hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return sha256(canonical(body)).hexdigest()


# -- files ------------------------------------------------------------------------------------------

def head_path(log: Path) -> Path:
    return Path(log).with_name(f"{Path(log).stem}.head.json")


def _lock_path(log: Path) -> Path:
    return Path(log).with_name(f"{Path(log).stem}.lock")


def segment_path(log: Path, seq: int) -> Path:
    log = Path(log)
    return log.with_name(f"{log.stem}-{seq:06d}{log.suffix}")


def rotated(log: Path) -> list[tuple[int, Path]]:
    """Rotated segments, oldest first."""
    log = Path(log)
    pattern = re.compile(rf"^{re.escape(log.stem)}-(\d{{6}}){re.escape(log.suffix)}$")
    try:
        names = os.listdir(log.parent)
    except FileNotFoundError:
        return []
    found = [(int(m.group(1)), log.parent / name) for name in names if (m := pattern.match(name))]
    return sorted(found)


def segments(log: Path) -> list[Path]:
    """Every file of the log in chain order: rotated segments, then the current file."""
    current = [Path(log)] if Path(log).exists() else []
    return [p for _, p in rotated(log)] + current


class LockBusy(OSError):
    """The log's lock stayed held past the wait a hook allows (its holder stopped or hung)."""


class HeadBehind(OSError):
    """The line is in the log, but the head could not be moved on to it (a full disk, say): `check` reads
    the lines after the head as appends interrupted before their head update, and the next append heals it."""


@contextmanager
def _locked(log: Path, exclusive: bool = True, wait: float | None = None) -> Iterator[None]:
    """The log's lock; `wait` seconds at most, when given (else for as long as it takes)."""
    lock = _lock_path(log)
    try:
        lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        if exclusive:
            raise
        # A reader on a disk it cannot write (a read-only mount, an archived copy): nobody can be
        # appending there, so it reads without the lock.
        yield
        return
    try:
        if fcntl is not None:
            _take(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, lock, wait)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _take(fd: int, kind: int, lock: Path, wait: float | None) -> None:
    if wait is None:
        fcntl.flock(fd, kind)
        return
    deadline, pause = time.monotonic() + wait, 0.001
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockBusy(f"{lock} stayed locked by another process for {wait:g} s") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.025)


def read_head(log: Path) -> dict[str, Any] | None:
    try:
        head = json.loads(head_path(log).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(head, dict) and isinstance(head.get("lines"), int) and isinstance(head.get("hash"), str)
    return head if ok else None


def _write_head(log: Path, head: dict[str, Any]) -> None:
    # No fsync: after a crash the head lags the log by at most the last line, which `append` and
    # `check` both accept (the log may be longer than its head, never shorter).
    path = head_path(log)
    # Only the lock holder writes it, so one name serves: what a writer killed here left is simply
    # written over by the next, not left behind. Without locks (Windows) each writer has its own.
    tmp = path.with_name(f".{path.name}.tmp" if fcntl is not None else f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(canonical(head))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _line_start(fd: int, end: int) -> int:
    """Where the line holding byte `end - 1` starts: just after the newline before it (0: none)."""
    while end > 0:
        start = max(0, end - _TAIL)
        found = os.pread(fd, end - start, start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def _last_line(path: Path) -> bytes | None:
    with open(path, "rb") as handle:
        fd = handle.fileno()
        end = os.fstat(fd).st_size
        if end and os.pread(fd, 1, end - 1) == b"\n":
            end -= 1
        if end == 0:
            return None
        start = _line_start(fd, end)
        return os.pread(fd, end - start, start)


def _cut_torn_tail(fd: int, path: Path, size: int) -> int:
    """Cut off a line an append killed mid-write left without its end (a write to a file can stop
    between pages), so the next line does not follow it on the same line; the new size. A torn line
    the head counts as written is left for `check` to name: that is a cut, not a crash."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    start = _line_start(fd, size)
    recorded = (read_head(path) or {}).get("size")
    if isinstance(recorded, int) and recorded > start:
        return size
    os.ftruncate(fd, start)
    return start


def _hash_of(raw: bytes | None) -> str:
    if raw is None:
        return GENESIS
    try:
        return json.loads(raw)["hash"]
    except (ValueError, KeyError, TypeError):
        # A torn or foreign last line: chain from its bytes so `check` still pinpoints it.
        return sha256(raw).hexdigest()


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


# -- writing ----------------------------------------------------------------------------------------

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
    try:
        return int(os.environ.get(ROTATE_ENV, ROTATE_BYTES))
    except ValueError:
        return ROTATE_BYTES


def append(path: Path, record: dict[str, Any], rotate_bytes: int | None = None,
           wait: float | None = None) -> dict[str, Any]:
    """Append one record to the chain and return it as written (with ts, prev, hash). With `wait`, a lock
    held longer than that many seconds raises `LockBusy` and nothing is written."""
    path = Path(path)
    limit = _rotate_limit() if rotate_bytes is None else rotate_bytes
    with _locked(path, wait=wait):
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
                _write_head(path, {"lines": lines, "hash": prev, "size": 0})
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
            _write_head(path, {"lines": lines + 1, "hash": entry["hash"], "size": size + len(data)})
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
    last = next((raw for p in reversed(files) if (raw := _last_line(p)) is not None), None)
    return _hash_of(last), sum(_count_lines(p) for p in files)


# -- checking ---------------------------------------------------------------------------------------

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
        with _locked(path, exclusive=False):
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
    last_file, last_file_lines = path.name, 0
    for name, lines in _chain_files(path, seqs, current, size):
        last_file, last_file_lines = name, 0
        for number, raw in enumerate(lines, start=1):
            why = line_problem(raw, prev)
            if why is not None:
                report.file, report.line, report.problem = name, number, why
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


def line_problem(raw: bytes, prev: str) -> str | None:
    if not raw.endswith(b"\n"):
        return "line is truncated (no newline)"
    try:
        record = json.loads(raw)
    except ValueError:
        return "line is not JSON"
    if not isinstance(record, dict) or "hash" not in record:
        return "line has no hash"
    if record.get("prev") != prev:
        return "chain broken: prev does not match the previous line (a line was deleted, reordered or inserted)"
    if line_hash(record) != record["hash"]:
        return "hash mismatch: the line was edited"
    return None


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
