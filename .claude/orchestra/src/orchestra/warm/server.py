"""The warm hook server: imports what hooks import once, then forks a child per hook invocation that runs
the hook script as `__main__` with the caller's own stdin, stdout, stderr, working directory and
environment, so the child behaves as the hook process itself would have (see `client`).

Its life is tied to the MCP server that starts it (`start_beside`): its stdin is a pipe from that server,
and it ends when the pipe closes, however the MCP server ends. One server answers per installation; a
second one waits until the first has gone. It answers only for the hook scripts of its own installation,
and steps aside, then restarts itself, when any of their code has changed since it loaded it.
"""

from __future__ import annotations

import fcntl
import gc
import os
import runpy
import select
import signal
import socket
import subprocess
import sys
import traceback
from pathlib import Path

from . import client

HOOKS_DIR = Path(client.package_dir()).parents[1] / "hooks"
RETRY_LOCK_S = 2.0
# Imported by hook handlers only on some paths; a child forked without them would pay for the import.
LAZY_MODULES = ("sqlite3", "orchestra.store.sqlite", "orchestra.store.document", "orchestra.store.events",
                "orchestra.store.rules", "orchestra.security.policy", "orchestra.security.pathrules",
                "yaml", "subprocess", "shutil", "hashlib", "traceback")


def start_beside() -> subprocess.Popen | None:
    """Start a warm server tied to this process (the MCP server), unless warm hooks are off or the
    platform cannot fork. Keep the returned handle: dropping it closes the pipe and ends the server."""
    if client.disabled() or not hasattr(os, "fork"):
        return None
    return subprocess.Popen([sys.executable, "-m", "orchestra.warm.server"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, close_fds=True)


def lifeline_closed(timeout: float | None = None) -> bool:
    ready, _, _ = select.select([0], [], [], timeout)
    return bool(ready) and not os.read(0, 4096)


def claim() -> int | None:
    """Hold this installation's lock (a second server waits here); None when the lifeline closes first."""
    directory = client.socket_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if not client.private(directory):
        raise SystemExit(f"orchestra warm hooks: {directory} is not private to this user; not serving")
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
    scripts = sorted(str(path) for path in HOOKS_DIR.glob("*.py"))
    for script in scripts:
        runpy.run_path(script, run_name="__orchestra_preload__")  # imports only: `main` runs under __main__
    for name in LAZY_MODULES:
        __import__(name)
    from ..security import policy

    policy.build({}, Path(os.sep))  # compiles the default path rules: children find them in re's cache
    package = client.package_dir() + os.sep
    modules = [m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)]
    return scripts + sorted(f for f in modules if f.startswith(package))


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
    loaded = stamp(watched)
    gc.freeze()  # what is loaded stays shared with the children: their collections never visit it
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    try:
        while True:
            ready, _, _ = select.select([listener, 0], [], [])
            if 0 in ready and lifeline_closed(0):
                return 0
            if listener in ready:
                conn, _ = listener.accept()
                if stamp(watched) != loaded:
                    conn.sendall(client.DECLINED)  # this hook runs in its own process; restart on new code
                    conn.close()
                    break
                if os.fork() == 0:
                    run_child(conn, listener, lock)
                conn.close()
    finally:
        listener.close()
        if os.path.exists(client.socket_path()):
            os.unlink(client.socket_path())
    os.close(lock)
    os.execv(sys.executable, [sys.executable, "-m", "orchestra.warm.server"])


def receive(conn: socket.socket) -> tuple[list[bytes], list[int]]:
    size, fds, _, _ = socket.recv_fds(conn, 4, len(client.STDIO))
    if len(size) != 4:
        raise ValueError("short header")
    body, remaining = [], int.from_bytes(size, "big")
    while remaining:
        chunk = conn.recv(min(remaining, 1 << 16))
        if not chunk:
            raise ValueError("short request")
        body.append(chunk)
        remaining -= len(chunk)
    return b"".join(body).split(b"\0"), fds


def run_child(conn: socket.socket, listener: socket.socket, lock: int) -> None:
    """In the forked child: become the hook process, run the script, report its exit code. Never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the hook's own subprocesses must be waited for
        listener.close()
        os.close(lock)
        if not become_hook(conn):
            conn.sendall(client.DECLINED)  # nothing was read from stdin: the hook runs in its own process
            code = 0
        else:
            conn.sendall(client.ACCEPTED)
            code = run_script(sys.argv[0])
            conn.sendall(bytes([code & 0xFF]))
    finally:
        os._exit(code)


def become_hook(conn: socket.socket) -> bool:
    """Take the caller's stdio, working directory, environment and script; False when it cannot."""
    try:
        fields, fds = receive(conn)
        protocol, script, cwd, *env = fields
        if (protocol != client.PROTOCOL or len(fds) != len(client.STDIO)
                or not os.path.samefile(os.path.dirname(script), HOOKS_DIR)):
            return False
        for target, fd in zip(client.STDIO, fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(cwd)
    except (OSError, ValueError):
        return False
    os.environ.clear()
    os.environ.update(os.fsdecode(item).split("=", 1) for item in env if b"=" in item)
    sys.argv = [os.fsdecode(script)]
    return True


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
