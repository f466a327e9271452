"""The warm hook server: imports what hooks import once, then always keeps one forked child waiting. The
child that takes a hook invocation runs the hook script as `__main__` with the caller's own stdin,
stdout, stderr, working directory and environment, so it behaves as the hook process itself would have
(see `client`), while the server forks the next one.

Its life is tied to the MCP server that starts it (`launch.start_beside`): its stdin is a pipe from that server,
and it ends when the pipe closes, however the MCP server ends; or a little later (`GRACE_S`), as Claude
Code runs a session's SessionEnd hooks only after it has ended the session's MCP servers, and the
server answers those too, then ends. One server answers per installation; a second one waits until the
first has gone. It answers only for the hook scripts of its own installation
(and its status line, run as often), and steps aside, then restarts itself, when any of their code has
changed since it loaded it.
"""

from __future__ import annotations

import fcntl
import gc
import math
import os
import runpy
import select
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import client

PACK_DIR = Path(client.package_dir()).parents[1]
HOOKS_DIR = PACK_DIR / "hooks"
STATUS_LINE = PACK_DIR / "status_line.py"  # not a hook, but run as often: warm too
RETRY_LOCK_S = 2.0
SPARE_CHECK_S = 1.0
# How long the server still answers once its lifeline has closed, unless a SessionEnd hook comes first.
# Claude Code ends its MCP servers (SIGINT, then SIGTERM after 100 ms, SIGKILL after 500 ms) and only
# then runs the session's SessionEnd hooks.
GRACE_S = 2.0
ENDING_EVENTS = ("SessionEnd",)
TAKEN, STALE = b"T", b"S"  # what a spare child tells the server
ENDING = b"E"  # said besides TAKEN by the child that took a SessionEnd hook
# Imported by hook handlers only on some paths; a child forked without them would pay for the import.
LAZY_MODULES = ("sqlite3", "orchestra.store.sqlite", "orchestra.store.document", "orchestra.store.events",
                "orchestra.store.rules", "orchestra.security.policy", "orchestra.security.pathrules",
                "yaml", "subprocess", "shutil", "hashlib", "traceback")


def lifeline_closed(timeout: float | None = None) -> bool:
    ready, _, _ = select.select([0], [], [], timeout)
    return bool(ready) and not os.read(0, 4096)


class Lifeline:
    """The server's stdin, a pipe from the MCP server that started it. Once it has closed, the server
    answers for GRACE_S more at the most, and lets go of its stderr, which it has from the MCP server:
    Claude Code waits for every end of that pipe to close before it goes on ending the session."""

    def __init__(self) -> None:
        self.ends_at: float | None = None

    @property
    def closed(self) -> bool:
        return self.ends_at is not None

    def fds(self) -> list[int]:
        return [] if self.closed else [0]

    def check(self, ready: list[int]) -> None:
        if not self.closed and 0 in ready and not os.read(0, 4096):
            self.ends_at = time.monotonic() + GRACE_S
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 2)
            os.close(quiet)

    def timeout(self) -> float:
        if self.ends_at is None:
            return SPARE_CHECK_S
        return max(0.0, min(SPARE_CHECK_S, self.ends_at - time.monotonic()))

    def over(self) -> bool:
        return self.ends_at is not None and time.monotonic() >= self.ends_at


@dataclass(frozen=True)
class Spare:
    """What every spare child holds: the listening socket, the read end of a pipe only the server writes to
    (it ends when the server does), the lock, its way to tell the server, what the server loaded, and its
    own copy of the lifeline (as the server's was when it forked)."""

    listener: socket.socket
    alive: int
    lock: int
    note_writer: int
    watched: list[str]
    loaded: tuple[int, ...] | None
    ending: frozenset[str]
    lifeline: Lifeline


def claim() -> int | None:
    """Hold this installation's lock (a second server waits here); None when the lifeline closes first."""
    if client.own_socket_dir() is None:
        raise SystemExit(f"orchestra warm hooks: {client.socket_dir()} is not private to this user; not serving")
    lock = os.open(client.socket_path() + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return lock
        except BlockingIOError:
            if lifeline_closed(RETRY_LOCK_S):
                os.close(lock)
                return None


def listen() -> socket.socket:
    path = client.socket_path()
    if os.path.exists(path):
        os.unlink(path)  # left by a server that was killed; the lock says none is serving
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    return listener


def preload() -> list[str]:
    """Import everything the hook scripts and their handlers import; return the files to watch."""
    client.serving = True
    scripts = sorted(str(path) for path in HOOKS_DIR.glob("*.py")) + [str(p) for p in (STATUS_LINE,) if p.exists()]
    for script in scripts:
        runpy.run_path(script, run_name="__orchestra_preload__")  # imports only: `main` runs under __main__
    for name in LAZY_MODULES:
        __import__(name)
    from ..security import policy

    policy.build({}, Path(os.sep))  # compiles the default path rules: children find them in re's cache
    package = client.package_dir() + os.sep
    modules = [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
    return scripts + sorted(f for f in modules if f.startswith(package))


def ending_scripts() -> frozenset[str]:
    """File names of the hook scripts wired to the events that end a session."""
    from .. import wiring

    return frozenset(script for script, decl in wiring.declarations(HOOKS_DIR) if decl["event"] in ENDING_EVENTS)


def stamp(files: list[str]) -> tuple[int, ...] | None:
    try:
        return tuple(os.stat(f).st_mtime_ns for f in files)
    except OSError:
        return None


def serve() -> int:
    lock = claim()
    if lock is None:
        return 0
    watched = preload()
    listener = listen()  # after the imports: a hook that finds the socket is answered at once
    notes, note_writer = os.pipe()
    alive, alive_writer = os.pipe()  # the server's alone: its spare sees it close when the server ends
    lifeline = Lifeline()
    spare = Spare(listener, alive, lock, note_writer, watched, stamp(watched), ending_scripts(), lifeline)
    gc.freeze()  # what is loaded stays shared with the children: their collections never visit it
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    try:
        while True:
            child = os.fork()
            if child == 0:
                os.close(alive_writer)
                wait_as_spare(spare)
            note = next_note(notes, child, lifeline)
            if note != TAKEN:
                break
    finally:
        listener.close()
        if os.path.exists(client.socket_path()):
            os.unlink(client.socket_path())
    if note != STALE or lifeline.closed:
        return 0  # the session has ended
    os.close(lock)
    os.execv(sys.executable, [sys.executable, "-m", "orchestra.warm.server"])


def next_note(notes: int, spare_pid: int, lifeline: Lifeline) -> bytes:
    """What the spare child says: TAKEN (fork the next one) or STALE (restart); b"" once the server is
    done: its lifeline has closed, and then a SessionEnd hook has been taken or the grace has run out.
    A spare that died without a word counts as taken."""
    while not lifeline.over():
        ready, _, _ = select.select([*lifeline.fds(), notes], [], [], lifeline.timeout())
        lifeline.check(ready)
        if notes in ready:
            note = os.read(notes, 1)
            if note != ENDING:
                return note
            if lifeline.closed:
                return b""  # the session's last hook is running: nothing more to answer
        try:
            os.kill(spare_pid, 0)
        except ProcessLookupError:
            return TAKEN
    return b""


def wait_as_spare(spare: Spare) -> None:
    """A forked child waiting for the next hook, so that no fork stands between a hook and its answer.
    Runs the hook it takes, then exits; never returns."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the hook's own subprocesses must be waited for
        while True:
            ready, _, _ = select.select([spare.listener, spare.alive, *spare.lifeline.fds()], [], [])
            spare.lifeline.check(ready)
            if spare.listener in ready:
                break
            if spare.alive in ready:
                return  # the server has ended
        conn, _ = spare.listener.accept()
        spare.listener.close()
        os.close(spare.lock)
        if stamp(spare.watched) != spare.loaded:
            os.write(spare.note_writer, STALE)
            conn.sendall(client.DECLINED)  # this hook runs in its own process; the server restarts
            return
        os.write(spare.note_writer, TAKEN)
        conn.settimeout(client.ACCEPT_TIMEOUT_S)  # a caller that does not go on is not waited for
        if not prepare(conn):
            conn.sendall(client.DECLINED)
            return
        if os.path.basename(sys.argv[0]) in spare.ending:
            os.write(spare.note_writer, ENDING)
        os.close(spare.note_writer)
        code = run_hook(conn)
    finally:
        os._exit(code)


def receive(conn: socket.socket) -> list[bytes]:
    size = conn.recv(4)
    if len(size) != 4:
        raise ValueError("short header")
    body, remaining = [], int.from_bytes(size, "big")
    while remaining:
        chunk = conn.recv(min(remaining, 1 << 16))
        if not chunk:
            raise ValueError("short request")
        body.append(chunk)
        remaining -= len(chunk)
    return b"".join(body).split(b"\0")


def run_hook(conn: socket.socket) -> int:
    """Become the prepared hook process, run its script and report the exit code."""
    conn.sendall(client.ACCEPTED)
    go, fds, _, _ = socket.recv_fds(conn, 1, len(client.STDIO))
    if go != client.GO or len(fds) != len(client.STDIO):
        return 0  # the hook process stopped waiting and runs the hook itself
    for target, fd in zip(client.STDIO, fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    conn.settimeout(None)
    client.caller = conn.fileno()
    code = run_script(sys.argv[0])
    conn.sendall(client.EXITED + bytes([code & 0xFF]))
    return code


def prepare(conn: socket.socket) -> bool:
    """Take the caller's script, working directory, start and environment; False when it cannot."""
    try:
        protocol, script, cwd, started, *env = receive(conn)
        if protocol != client.PROTOCOL or not ours(script):
            return False
        client.started = float(started)  # the hook's time runs from the hook process's start, not from here
        if not math.isfinite(client.started):
            return False
        os.chdir(cwd)
    except (OSError, ValueError):
        return False
    os.environ.clear()
    os.environ.update(os.fsdecode(item).split("=", 1) for item in env if b"=" in item)
    sys.argv = [os.fsdecode(script)]
    return True


def ours(script: bytes) -> bool:
    """A hook script of this installation, or its status line."""
    try:
        return os.path.samefile(os.path.dirname(script), HOOKS_DIR) or (
            STATUS_LINE.exists() and os.path.samefile(script, STATUS_LINE))
    except OSError:  # no such file
        return False


def run_script(script: str) -> int:
    """Run a hook script as the interpreter would run the file, exit code included."""
    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - as the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1
    return code


if __name__ == "__main__":
    sys.exit(serve())
