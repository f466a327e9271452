"""The hook side of warm hooks: hand this process's stdin, stdout and stderr to the warm server and exit
with the code its child reports; or return, and the hook runs in this process as it always can.

The exchange: this process puts a copy of the event in place of its stdin (`keep_event`), sends its
script, working directory, start time and environment; a child of the server answers DECLINED (the hook runs here)
or ACCEPTED; this process sends GO with its three file descriptors, and gets back two-byte reports, a kind and an
exit code: WRITING just before the hook writes its answer (with the code that answer goes with), WRITTEN once it has,
and EXITED, the hook's exit code. A child that dies before WRITING (killed mid-hook) leaves the hook to run here, on
the kept event; one that dies after it does not, as the hook would answer twice: this process exits with the
answer's code once it is WRITTEN, or as a failed hook when the child died while writing it.

Every hook script imports this first, so it imports nothing but `os`, `stat` and `sys`: the `socket`
module costs about 11 ms to import (enum, selectors), and its C core `_socket` has all a Unix socket
client needs.
"""

import os
import stat  # loaded by os already
import sys
import time  # built in

PROTOCOL = b"orchestra-warm/3"
DISABLE_ENV = "ORCHESTRA_WARM_HOOKS"  # "0" turns warm hooks off
DECLINED = b"D"  # the server did not take the hook; stdin is untouched, so it runs here
ACCEPTED = b"A"  # a child of the server is ready to run the hook
GO = b"G"  # the hook process's reply, carrying its stdin, stdout and stderr; the child's reports come back
WRITING, WRITTEN, EXITED = b"W", b"w", b"X"  # the child's reports, each followed by one byte: an exit code
STDIO = (0, 1, 2)
# A server that has not accepted the hook by then is stuck, and the hook runs here instead. No file
# descriptor has left this process before GO, which a hook process that gave up never sends.
ACCEPT_TIMEOUT_S = 2.0
# Kept of the event for a rerun: the hook refuses anything larger (hookio.MAX_INPUT_BYTES) anyway.
MAX_EVENT_BYTES = 64 * 1024 * 1024

# True inside the server, whose children run hook scripts themselves.
serving = False
# In the child running a hook: its socket to the hook process, which sends nothing after GO and waits for the
# child's reports, so the socket turns readable only when that process has ended.
caller: int | None = None
# In a hook process: when it started its hook (seconds since the epoch), before handing it to the server. Claude
# Code's timeout runs from about then, also for the hook this process runs again after the child died mid-hook.
started: float | None = None


def caller_gone() -> bool:
    """In a warm child: has the hook process it runs the hook for ended (Claude Code kills it at its timeout)?"""
    if caller is None:
        return False
    import select  # loaded by the server already

    try:
        return bool(select.select([caller], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def answering(code: int, fds: list[int]) -> None:
    """In a warm child, just before the hook writes its answer to `fds` (stdout, stderr): wait until they take
    output (Claude Code reads them), then tell the hook process that the answer is going out (WRITING) with the exit
    code it goes with. Killed while it waits, the child has written nothing, and the hook runs again."""
    if caller is None:
        return
    import select  # loaded by the server already, as contextlib is
    from contextlib import suppress

    for fd in fds:
        with suppress(OSError, ValueError):  # the write itself says what is wrong
            select.select([], [fd], [])
    report(WRITING, code)


def report(kind: bytes, code: int) -> None:
    """In a warm child: tell the hook process where the hook's answer stands (WRITING, WRITTEN) and the exit code it
    goes with; nothing outside a warm child, nor once the hook process has ended (nobody reads the answer then)."""
    if caller is not None:
        from contextlib import suppress  # loaded by the server already

        with suppress(OSError):
            os.write(caller, kind + bytes([code & 0xFF]))


def reports(conn) -> dict[bytes, int]:
    """The child's reports by kind, read until it has reported its exit code (EXITED) or has ended."""
    seen: dict[bytes, int] = {}
    pending = b""
    while EXITED not in seen:
        try:
            chunk = conn.recv(64)
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        while len(pending) >= 2:
            seen[pending[:1]] = pending[1]
            pending = pending[2:]
    return seen


def disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip() == "0"


def package_dir() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def socket_dir() -> str:
    return os.path.join("/tmp", f"orchestra-{os.getuid()}")


def installation_path(kind: str, package: str | None = None) -> str:
    """A file of one installed package (this one unless `package` names another) in the socket directory,
    named by the package directory's device and inode: the same for the hooks and the MCP server of one
    installation, whatever path or symlink reaches it. `kind`: `warm-%s.sock`, say."""
    st = os.stat(package or package_dir())
    return os.path.join(socket_dir(), kind % f"{st.st_dev:x}-{st.st_ino:x}")


def socket_path(package: str | None = None) -> str:
    """One socket per installed package."""
    return installation_path("warm-%s.sock", package)


def own_socket_dir() -> str | None:
    """The socket directory, created if missing; None when it is not private to this user."""
    directory = socket_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return directory if private(directory) else None


def private(directory: str) -> bool:
    """Only a directory of this user's that nobody else may enter holds the socket: whoever can connect
    can run hooks with an environment of their choosing. A symlink is refused, wherever it points."""
    try:
        st = os.lstat(directory)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077 == 0


def request(script: str) -> bytes:
    """The protocol, the script, the working directory, when this process started the hook (`started`: the child
    counts the hook's time from it, however long it took to take the hook), and the environment."""
    env = (f"{key}={value}" for key, value in os.environ.items())
    return b"\0".join([PROTOCOL, os.fsencode(script), os.fsencode(os.getcwd()), repr(started or time.time()).encode(),
                       *map(os.fsencode, env)])


def forward(module_name: str) -> None:
    """At the top of a hook script: when it runs as a program and a warm server answers, the server's child
    runs it and this process exits here with the child's code; otherwise this returns at once."""
    if module_name != "__main__" or serving:
        return
    global started
    started = time.time()
    if disabled() or not hasattr(os, "fork"):
        return
    try:
        from _socket import AF_UNIX, SCM_RIGHTS, SOCK_STREAM, SOL_SOCKET, socket
    except ImportError:  # no Unix domain sockets here
        return
    if not private(socket_dir()):
        return
    conn = socket(AF_UNIX, SOCK_STREAM)
    conn.settimeout(ACCEPT_TIMEOUT_S)
    try:
        conn.connect(socket_path())
        replayable = keep_event()
        body = request(os.path.abspath(sys.argv[0]))
        conn.sendall(len(body).to_bytes(4, "big") + body)
        if conn.recv(1) != ACCEPTED:
            conn.close()
            return  # declined, or gone before taking the hook
        conn.settimeout(None)  # the hook itself may take as long as Claude Code lets it
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in STDIO)
        conn.sendmsg([GO], [(SOL_SOCKET, SCM_RIGHTS, fds)])
    except OSError:
        conn.close()
        return  # no server, or it did not answer in time
    seen = reports(conn)
    conn.close()
    if EXITED in seen:
        os._exit(seen[EXITED])
    if WRITING not in seen and replayable:
        os.lseek(0, 0, os.SEEK_SET)
        return  # the child died mid-hook (killed, say): the hook runs again here, on the same event
    os._exit(ended_early(seen))


def ended_early(seen: dict[bytes, int]) -> int:
    """The exit code of a hook whose child ended without reporting one. Once it has begun writing the answer the
    hook is not run again (it would answer twice): a written answer stands with its code, and a line on stderr says
    what happened where Claude Code takes stderr for no error (exit 0); an answer cut short fails as a hook error
    (exit 1; a refusal, exit 2, still refuses)."""
    if WRITTEN in seen:
        if seen[WRITTEN] == 0:
            os.write(2, b"orchestra: the warm hook server's child ended after writing this hook's answer, "
                        b"without an exit code; the hook is not run again\n")
        return seen[WRITTEN]
    if WRITING in seen:
        os.write(2, b"orchestra: the warm hook server's child ended while writing this hook's answer; "
                    b"the hook is not run again\n")
        return seen[WRITING] or 1
    os.write(2, b"orchestra: the warm hook server ended this hook without an exit code\n")
    return 1


def keep_event() -> bool:
    """Put a copy of the event in place of stdin, an anonymous file that can be read again: if the child
    that runs the hook dies without an exit code, this process runs it on the same event. False (stdin
    left as it is) on a terminal, or where there are no anonymous files."""
    if not hasattr(os, "memfd_create") or os.isatty(0):
        return False
    copy = os.memfd_create("orchestra-hook-event")
    size = 0
    while size <= MAX_EVENT_BYTES and (chunk := os.read(0, 1 << 20)):
        size += os.write(copy, chunk)  # a memfd takes every byte it is given
    while os.read(0, 1 << 20):  # a runaway writer: the hook refuses the event as too large either way
        pass
    os.lseek(copy, 0, os.SEEK_SET)
    os.dup2(copy, 0)
    os.close(copy)
    return True
