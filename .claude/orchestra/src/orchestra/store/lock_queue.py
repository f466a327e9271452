"""First come, first served for the JSON store's writers: a ticket queue of byte-range locks.

The write lock itself stays the flock filelock takes; this queue only decides who tries it next. A
writer draws the next ticket from a counter in the queue file, locks byte <ticket> for itself and
then waits until no one holds a byte below it: every writer that came earlier is done, or dead (the
kernel drops a process's locks when it dies). A writer that comes later cannot pass, as the
waiting range of its own ticket covers this one's byte. Waiting blocks in the kernel, which wakes
the writer as soon as the last byte before it is free: no polling, no gap between two writers.

The locks are Linux's open file description locks (F_OFD_SETLKW): they belong to one open file,
not to the process, so two stores in one process queue too and closing the file drops them. The
blocking wait has no timeout of its own and signals only reach the main thread, so a waiter that
must wait blocks in a daemon thread and gives up at its deadline; that thread, once it is served,
lets go at once.

A child forked while a writer is queued or holds its place shares that open file, and so its locks: the
writer unlocks before it closes the file, and the child closes its copies at once, so neither the
writer leaving nor its death waits for the child to end.
"""

from __future__ import annotations

import errno
import os
import struct
import sys
import threading
import time
from contextlib import suppress

from filelock import Timeout

try:
    from fcntl import F_OFD_SETLK, F_OFD_SETLKW, F_RDLCK, F_UNLCK, F_WRLCK, fcntl
except ImportError:  # not Linux (or older than 3.15): the store polls the flock alone
    F_OFD_SETLK = F_OFD_SETLKW = F_RDLCK = F_UNLCK = F_WRLCK = None  # type: ignore[assignment]

AVAILABLE = sys.platform == "linux" and F_OFD_SETLKW is not None
DOORWAY = 0  # the byte that makes drawing a ticket one step; ticket n waits at byte n
# The doorway is held for two system calls: a writer finding it taken naps briefly and tries again.
DOORWAY_NAP_S = 0.0002
DOORWAY_NAP_MAX_S = 0.002
TICKETS_END = 2**62  # a counter past this was not written by a queue: start again from 1
# struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for these locks); padded past the C size.
_FLOCK = "hhqqi"
_FLOCK_SIZE = 64
_OPEN: set[int] = set()  # this process's queue files (held or waited on): a forked child closes its copies


def _close_in_child() -> None:
    for fd in list(_OPEN):
        with suppress(OSError):
            os.close(fd)
    _OPEN.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_child)


class LockQueue:
    """The writers of one lock file, served in the order they came."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0  # the process that holds `_fd`: a forked child has only a closed copy

    def join(self, deadline: float) -> None:
        """Return once every writer that came before has left; Timeout at `deadline` (time.monotonic).
        OSError: the queue could not be used (the caller goes on without it)."""
        fd = _open(self.path)
        waited = None
        try:
            ticket = _draw_ticket(fd, deadline, self.path)
            if ticket > 1 and not _lock(fd, F_RDLCK, 1, ticket - 1, wait=False):
                waited = _wait_in_thread(fd, ticket, deadline)
        except BaseException:
            _close(fd)
            raise
        if waited is False:  # the waiting thread closes the file once served
            raise Timeout(self.path)
        self._fd, self._pid = fd, os.getpid()

    def leave(self) -> None:
        """Let the next writer in."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            if self._pid == os.getpid():
                _close(fd)


def _open(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    _OPEN.add(fd)
    return fd


def _close(fd: int) -> None:
    """Drop every lock taken through `fd`, which a forked child's copy would keep alive, and close it."""
    _OPEN.discard(fd)
    with suppress(OSError):  # a file that takes no locks holds none
        _lock(fd, F_UNLCK, 0, 0, wait=False)  # length 0: to the end of any file
    os.close(fd)


def _draw_ticket(fd: int, deadline: float, path: str) -> int:
    nap = DOORWAY_NAP_S
    while not _lock(fd, F_WRLCK, DOORWAY, 1, wait=False):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout(path)
        time.sleep(min(nap, left))
        nap = min(nap * 2, DOORWAY_NAP_MAX_S)
    try:
        last = int.from_bytes(os.pread(fd, 8, 0).ljust(8, b"\0"), "little")
        ticket = last + 1 if last + 1 < TICKETS_END else 1
        os.pwrite(fd, ticket.to_bytes(8, "little"), 0)
        _lock(fd, F_WRLCK, ticket, 1, wait=False)  # free: the doorway gave this ticket to no one else
    finally:
        _lock(fd, F_UNLCK, DOORWAY, 1, wait=False)
    return ticket


def _wait_in_thread(fd: int, ticket: int, deadline: float) -> bool:
    """Block until bytes 1..ticket-1 are free, for at most until `deadline`; False if it gave up."""
    guard, served = threading.Lock(), threading.Event()
    outcome: dict[str, object] = {}

    def wait() -> None:
        try:
            _lock(fd, F_RDLCK, 1, ticket - 1, wait=True)
            result: object = True
        except OSError as exc:
            result = exc
        with guard:
            if outcome.get("gave_up"):
                _close(fd)  # its waiter has gone: let the writers behind it through
            else:
                outcome["result"] = result
        served.set()

    try:
        threading.Thread(target=wait, name=f"lock queue {ticket}", daemon=True).start()
    except RuntimeError as exc:  # out of threads: the writer goes on without the queue
        raise OSError(errno.EAGAIN, str(exc)) from None
    served.wait(max(0.0, deadline - time.monotonic()))
    with guard:
        if "result" not in outcome:
            outcome["gave_up"] = True
            return False
    if isinstance(outcome["result"], OSError):
        raise outcome["result"]
    return True


def _lock(fd: int, kind: int, start: int, length: int, wait: bool) -> bool:
    """Take (or with F_UNLCK drop) a lock on bytes start..start+length-1; False if another holds one."""
    request = struct.pack(_FLOCK, kind, os.SEEK_SET, start, length, 0).ljust(_FLOCK_SIZE, b"\0")
    try:
        fcntl(fd, F_OFD_SETLKW if wait else F_OFD_SETLK, request)
    except (BlockingIOError, PermissionError):  # EAGAIN or EACCES: held by another open file
        if wait:
            raise
        return False
    return True
