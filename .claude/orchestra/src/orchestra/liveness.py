"""Is the Claude Code process of a session still there?

Claude Code gives its hooks `CLAUDE_PID`. SessionStart notes it on the session, with the process's start
time and where it runs (host and PID namespace), so a later SessionStart can tell a session whose process
was killed outright (SIGKILL, a crash, a power cut: no SessionEnd ran) from one still at work. Only a
process on the same host and PID namespace is judged, and only where `/proc` or `kill(pid, 0)` can tell;
anywhere else a session counts as alive, as before.
"""

from __future__ import annotations

import os
from typing import Any

PID_ENV = "CLAUDE_PID"


def _host() -> str:
    return os.uname().nodename  # what _host() answers, without that module's import


def _namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) from /proc/<pid>/stat; None where there is no /proc entry."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def current() -> dict[str, Any]:
    """The fields that name this hook's Claude Code process, for the session record ({} when unknown)."""
    raw = os.environ.get(PID_ENV, "")
    if os.name != "posix" or not raw.isdigit():
        return {}
    pid = int(raw)
    stat = _stat(pid)
    return {"pid": pid, "pid_started": stat[1] if stat else None, "host": _host(),
            "pid_namespace": _namespace()}


def this_process() -> dict[str, Any]:
    """The same fields for the process calling this, for a marker another process may judge with `gone`."""
    stat = _stat(os.getpid())
    return {"pid": os.getpid(), "pid_started": stat[1] if stat else None, "host": _host(),
            "pid_namespace": _namespace()}


def gone(session: dict[str, Any]) -> bool:
    """Has the process noted on `session` ended (or been replaced by another under the same pid)?"""
    pid = session.get("pid")
    if os.name != "posix" or not isinstance(pid, int) or pid <= 0:
        return False
    if session.get("host") != _host() or session.get("pid_namespace") != _namespace():
        return False  # another machine or container: no way to tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass  # it exists (owned by someone else)
    stat = _stat(pid)
    if stat is None:
        return False
    state, started = stat
    return state in ("Z", "X") or (session.get("pid_started") is not None and started != session["pid_started"])
