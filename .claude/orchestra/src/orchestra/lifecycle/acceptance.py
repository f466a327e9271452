"""A task's `acceptance.command`, run for the false-completion gate inside the SubagentStop hook.

Claude Code kills that hook at its timeout (HOOK_TIMEOUT_S, declared in subagent_stop.py); a hook it
kills decides nothing and the run stays active. So the stop's checks share one deadline well before
it, `acceptance_timeout_seconds` is at most MAX_TIMEOUT_S (schemas/teams.json), and a command runs in
a process group of its own that is killed whole when it ends or runs out of time: a child it left in
the background can neither hold its output pipe open nor outlive the check, nor can the command outlive
a hook stopped by SIGTERM or SIGHUP. Only the tail of the output is kept, as text, whatever bytes it
printed. The command gets the user's environment, not the one uv made for the hook (userenv).
"""

from __future__ import annotations

import time
from contextlib import suppress
from pathlib import Path

from ..record import Record
from ..termtext import printable
from ..userenv import user_environment

HOOK_TIMEOUT_S = 600  # SubagentStop's timeout in settings.json and the plugin's hooks/hooks.json
SETTLE_S = 60  # kept after the checks for settling the stop and answering
STOP_BUDGET_S = HOOK_TIMEOUT_S - SETTLE_S  # the stop's checks (git, the acceptance command) end by then
MAX_TIMEOUT_S = 480  # the largest acceptance_timeout_seconds: room for the rest of the stop's checks
OUTPUT_CHARS = 600  # characters of a failing check's output kept in the reason
_TAIL_BYTES = 16 * 1024


class Acceptance(Record):
    passed: bool
    detail: str
    out_of_time: bool = False  # the stop's deadline, not acceptance_timeout_seconds, cut it short


def deadline() -> float:
    """The monotonic time by which a stop starting now must be done checking."""
    return time.monotonic() + STOP_BUDGET_S


def left(until: float | None, most: float) -> float:
    """Seconds to give a step: `most`, or less when the stop's deadline `until` comes first."""
    return most if until is None else max(0.0, min(most, until - time.monotonic()))


def check(command: str, cwd: Path, timeout: float, until: float | None = None) -> Acceptance:
    budget = left(until, timeout)
    cut = budget < timeout
    hook = f"the SubagentStop hook must answer within Claude Code's {HOOK_TIMEOUT_S}s"
    if cut and budget < 1:
        return Acceptance(False, f"`{command}` was not run: no time was left ({hook})", out_of_time=True)
    try:
        code, output = _run(command, cwd, budget)
    except OSError as exc:
        return Acceptance(False, f"`{command}` could not run in {cwd} ({exc.strerror or exc})")
    tail = printable(output.decode("utf-8", "replace")).strip()[-OUTPUT_CHARS:]
    shown = f": {tail}" if tail else ""
    if code is None and cut:
        return Acceptance(False, f"`{command}` ran out of time: stopped after {budget:.0f}s of its {timeout:g}s "
                                 f"because {hook}{shown}", out_of_time=True)
    if code is None:
        return Acceptance(False, f"`{command}` did not finish within {timeout:g}s "
                                 f"(acceptance_timeout_seconds){shown}")
    if code == 0:
        return Acceptance(True, f"`{command}` passed")
    return Acceptance(False, f"`{command}` exited {code}{shown}")


def _run(command: str, cwd: Path, timeout: float) -> tuple[int | None, bytes]:
    """Run `command` in a shell, in a new process group; its exit code (None when it ran out of time)
    and the last bytes of its output, stdout and stderr as they came."""
    import os
    import signal
    import subprocess
    import threading

    running: dict[str, object] = {}  # the command once started; the signal that stops the hook
    tail = bytearray()

    def stopped(signum: int, _frame: object) -> None:  # the hook itself is being stopped: so is the command
        running["stopped"] = signum
        if "proc" in running:
            raise SystemExit(f"stopped by signal {signum} while `{command}` ran")

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, stopped) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        proc = running["proc"] = subprocess.Popen(
            command, shell=True, cwd=cwd, env=user_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if "stopped" in running:  # the signal came while the command was being started
                raise SystemExit(f"stopped by signal {running['stopped']} while `{command}` started")
            reader = threading.Thread(target=_drain, args=(proc.stdout, tail), daemon=True)
            reader.start()
            code: int | None = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            with suppress(ProcessLookupError, PermissionError):  # the command and what it left running (`server &`)
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    reader.join(5)  # the group is gone, so the pipe is closed unless a child left the group
    if not reader.is_alive():
        proc.stdout.close()
    return code, bytes(tail)


def _drain(pipe, tail: bytearray) -> None:
    while chunk := pipe.read1(1 << 16):
        tail.extend(chunk)
        del tail[:-_TAIL_BYTES]
