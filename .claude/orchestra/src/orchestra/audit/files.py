"""The files of an audit log: its segments, its head, its lock, and reading raw lines back."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .chain import GENESIS, canonical, sha256

_TAIL = 65536

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends are still atomic per line, unlocked
    fcntl = None  # type: ignore[assignment]


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


@contextmanager
def locked(log: Path, exclusive: bool = True, wait: float | None = None) -> Iterator[None]:
    """The log's lock; `wait` seconds at most, when given (else for as long as it takes).

    A lock file deleted (or replaced) while this process waited on it locks nothing any more: a writer
    that came since holds the new file's lock. Taken on the old file, two writers would append at
    once and break the chain for good, so it is taken again on the file the name now holds."""
    lock = _lock_path(log)
    deadline = None if wait is None else time.monotonic() + wait
    while True:
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
            if fcntl is None:
                break
            opened = _identity(lock)
            _take(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, lock,
                  None if deadline is None else max(0.0, deadline - time.monotonic()), wait)
            if opened is not None and _identity(lock) == opened:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _identity(lock: Path) -> tuple[int, int] | None:
    """Which file `lock` names (None: none). Compared with itself, not with the open file's fstat, which some
    file systems (overlayfs on older kernels) report for another layer than the path's."""
    try:
        named = os.stat(lock)
    except FileNotFoundError:
        return None
    return named.st_dev, named.st_ino


def _take(fd: int, kind: int, lock: Path, left: float | None, wait: float | None) -> None:
    """Lock `fd`, waiting `left` seconds at most (None: as long as it takes); `wait` is the whole wait allowed."""
    if left is None:
        fcntl.flock(fd, kind)
        return
    deadline, pause = time.monotonic() + left, 0.001
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


def write_head(log: Path, head: dict[str, Any]) -> None:
    # No fsync: after a crash the head lags the log by at most the last line, which `append` and
    # `check` both accept (the log may be longer than its head, never shorter).
    path = head_path(log)
    # Only the lock holder writes it, so one name serves: what a writer killed here left is simply
    # written over by the next, not left behind. Without locks (Windows) each writer has its own.
    tmp = path.with_name(f".{path.name}.tmp" if fcntl is not None else f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(canonical(head))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def line_start(fd: int, end: int) -> int:
    """Where the line holding byte `end - 1` starts: just after the newline before it (0: none)."""
    while end > 0:
        start = max(0, end - _TAIL)
        found = os.pread(fd, end - start, start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def last_line(path: Path) -> bytes | None:
    with open(path, "rb") as handle:
        fd = handle.fileno()
        end = os.fstat(fd).st_size
        if end and os.pread(fd, 1, end - 1) == b"\n":
            end -= 1
        if end == 0:
            return None
        start = line_start(fd, end)
        return os.pread(fd, end - start, start)


def hash_of(raw: bytes | None) -> str:
    if raw is None:
        return GENESIS
    try:
        return json.loads(raw)["hash"]
    except (ValueError, KeyError, TypeError):
        # A torn or foreign last line: chain from its bytes so `check` still pinpoints it.
        return sha256(raw).hexdigest()


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
