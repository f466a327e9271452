"""Hook I/O: tolerant parsing of Claude Code's stdin event, typed verdicts, and the one output funnel.

Only this module writes a hook's stdout/stderr or picks its exit code (Claude Code 2.1.328
contract: exit 0 + JSON decides; exit 2 blocks with stderr; other codes are non-blocking errors).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, Literal

from . import audit, paths
from .record import Record, default
from .termtext import one_line
from .warm import client as warm
from .wellformed import may_hold_surrogates, mended

# Far above any real payload (a model's whole output is under 1 MiB; PostToolUse Write carries the
# content two or three times), yet bounded: a runaway writer cannot make a hook hold gigabytes.
MAX_INPUT_BYTES = 64 * 1024 * 1024
# How long a hook's store write waits for other writers: under every hook's timeout (10 s at the
# least), so a hook stuck behind a lock ends with a clear BusyError instead of being killed.
STORE_WAIT_S = 6.0
CONTEXT_LIMIT = 9000  # Claude Code spills hook strings over 10,000 chars to a file.

Policy = Literal["observe", "guard"]


class MalformedInput(ValueError):
    """stdin was not a Claude Code hook event."""


_STR_FIELDS = ("session_id", "transcript_path", "cwd", "hook_event_name", "agent_id", "agent_type",
               "tool_name", "tool_use_id", "permission_mode", "prompt_id")


class HookEvent(Record):
    """One hook invocation's input. Unknown fields stay available in `raw`."""

    name: str
    session_id: str
    cwd: str
    raw: dict[str, Any]
    agent_id: str | None = None
    agent_type: str | None = None
    tool_name: str | None = None
    tool_input: dict[str, Any] = default(dict)
    tool_use_id: str | None = None

    @property
    def in_subagent(self) -> bool:
        return self.agent_id is not None

    @property
    def caller(self) -> str:
        """The calling agent run: its agent_id, or `main` for the main thread."""
        return self.agent_id or "main"

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


def parse_event(data: bytes) -> HookEvent:
    if not data.strip():
        raise MalformedInput("empty input (expected a JSON hook event on stdin)")
    if len(data) > MAX_INPUT_BYTES:
        raise MalformedInput(f"input is over the {MAX_INPUT_BYTES}-byte limit")
    try:
        raw = json.loads(data)
        if may_hold_surrogates(data):  # half an emoji: a character UTF-8 (state, audit log) can hold instead
            raw = mended(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedInput(f"input is not JSON ({exc.__class__.__name__} at {getattr(exc, 'pos', '?')})") from None
    except RecursionError:
        raise MalformedInput("input is JSON nested too deeply to parse") from None
    if not isinstance(raw, dict):
        raise MalformedInput(f"input is a JSON {type(raw).__name__}, expected an object")
    for key in _STR_FIELDS:
        if key in raw and raw[key] is not None and not isinstance(raw[key], str):
            raise MalformedInput(f"field {key!r} should be a string, got {type(raw[key]).__name__}")
    if not raw.get("hook_event_name"):
        raise MalformedInput("field 'hook_event_name' is missing")
    tool_input = raw.get("tool_input")
    tool_input = {} if tool_input is None else tool_input
    if not isinstance(tool_input, dict):
        raise MalformedInput(f"field 'tool_input' should be an object, got {type(tool_input).__name__}")
    return HookEvent(
        name=raw["hook_event_name"],
        session_id=raw.get("session_id") or "",
        cwd=raw.get("cwd") or os.getcwd(),
        raw=raw,
        agent_id=raw.get("agent_id") or None,
        agent_type=raw.get("agent_type") or None,
        tool_name=raw.get("tool_name"),
        tool_input=tool_input,
        tool_use_id=raw.get("tool_use_id"),
    )


# -- verdicts ---------------------------------------------------------------------------------------

class Allow(Record):
    """No objection. Never emits permissionDecision "allow", so the user's permission rules still apply."""

    system_message: str | None = None


class AddContext(Record):
    text: str
    system_message: str | None = None


class Deny(Record):
    reason: str
    system_message: str | None = None


class Ask(Record):
    reason: str


class Rewrite(Record):
    """PreToolUse: replace the whole tool input (copy unchanged fields), optionally with context."""

    tool_input: dict[str, Any]
    context: str | None = None
    system_message: str | None = None


class BlockStop(Record):
    """Stop/SubagentStop: keep the agent working; `reason` becomes its next instruction."""

    reason: str
    system_message: str | None = None


Verdict = Allow | AddContext | Deny | Ask | Rewrite | BlockStop


def clip(text: str, limit: int = CONTEXT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    note = f"\n[... {len(text) - limit} more characters cut by Orchestra]"
    return text[: limit - len(note)] + note


# Events whose JSON decision is hookSpecificOutput.permissionDecision (allow/deny/ask + reason).
PERMISSION_DECISION_EVENTS = ("PreToolUse", "PreModelSwitch")


def render(event_name: str, verdict: Verdict) -> tuple[dict[str, Any] | None, int]:
    """The JSON to print (or None) and the exit code for `verdict` on `event_name`.

    Raises ValueError for a verdict the event cannot express (the runner treats it as a handler
    error), so a decision is never silently turned into a different one.
    """
    if type(verdict) not in _DECISION_NAMES:
        raise TypeError(f"the handler returned {verdict!r}, not a verdict ({', '.join(_DECISION_NAMES.values())})")
    out: dict[str, Any] = {}
    message = getattr(verdict, "system_message", None)
    if message:  # printed on the user's terminal, where Claude Code keeps SGR (colour, conceal) sequences
        out["systemMessage"] = clip(one_line(message), 2000)
    if isinstance(verdict, AddContext):
        out["hookSpecificOutput"] = {"hookEventName": event_name, "additionalContext": clip(verdict.text)}
    elif isinstance(verdict, Deny | Ask):
        decision = "deny" if isinstance(verdict, Deny) else "ask"
        if event_name in PERMISSION_DECISION_EVENTS:
            out["hookSpecificOutput"] = {"hookEventName": event_name, "permissionDecision": decision,
                                         "permissionDecisionReason": clip(verdict.reason, 2000)}
        elif event_name == "PermissionRequest":
            if decision == "deny":  # an Ask needs no output: the permission dialog is what asks
                out["hookSpecificOutput"] = {"hookEventName": event_name,
                                             "decision": {"behavior": "deny", "message": clip(verdict.reason, 2000)}}
        elif decision == "ask":
            raise ValueError(f"{event_name} hooks cannot ask the user; return Deny or Allow")
        else:
            out.update(decision="block", reason=clip(verdict.reason, 2000))
    elif isinstance(verdict, Rewrite):
        if event_name != "PreToolUse":
            raise ValueError(f"only PreToolUse hooks can rewrite a tool's input, not {event_name}")
        specific: dict[str, Any] = {"hookEventName": event_name, "updatedInput": verdict.tool_input}
        if verdict.context:
            specific["additionalContext"] = clip(verdict.context)
        out["hookSpecificOutput"] = specific
    elif isinstance(verdict, BlockStop):
        out.update(decision="block", reason=clip(verdict.reason, 4000))
    return (out or None), 0


_DECISION_NAMES: dict[type, str] = {Allow: "allow", AddContext: "context", Deny: "deny", Ask: "ask",
                                    Rewrite: "rewrite", BlockStop: "block"}


def decision_name(verdict: Verdict) -> str:
    return _DECISION_NAMES[type(verdict)]


# -- the runner -------------------------------------------------------------------------------------

class HookContext:
    """What a handler may use besides the event: project root, a lazily opened store, audit fields, and steps to
    take once its output is written."""

    def __init__(self, event: HookEvent, started: float | None = None) -> None:
        self.event = event
        self.root: Path = paths.project_root(event.cwd)
        self.audit: dict[str, Any] = {}
        self.started = time.time() if started is None else started
        self.once_written: list[Callable[[], None]] = []
        self._store = None

    def deadline(self) -> float | None:
        """When Claude Code stops waiting for this hook (seconds since the epoch): its start plus the timeout the
        running hook script's wiring declares for the event; None outside a hook script."""
        from . import wiring  # only for a hook that hands something over

        script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
        timeout = wiring.timeout_of(script, self.event.name) if script else None
        return None if timeout is None else self.started + timeout

    def after_output(self, step: Callable[[], None]) -> None:
        """Take `step` once the hook's output has been written whole, while Claude Code still waits for the hook;
        never when writing it failed, nor after a handler error."""
        self.once_written.append(step)

    @property
    def store(self):
        if self._store is None:
            from .store import open_store

            paths.ensure_state_dir(self.root)
            self._store = open_store(root=self.root, wait=STORE_WAIT_S)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


Handler = Callable[[HookEvent, HookContext], Verdict]


def _emit(stdout: str | None, stderr: str | None, code: int) -> int:
    # run by a warm child, its hook process must not run the hook again once the answer may be out (orchestra.warm)
    warm.answering(code, [fd for fd, out in ((1, stdout is not None), (2, bool(stderr))) if out])
    if stdout is not None:
        sys.stdout.write(stdout)
        sys.stdout.flush()
    if stderr:
        sys.stderr.write(stderr.rstrip("\n").replace("\n", " ") + "\n")
        sys.stderr.flush()
    warm.report(warm.WRITTEN, code)
    return code


def _one_line(exc: BaseException, limit: int = 600) -> str:
    """The exception's first line, cut at a word when longer than `limit` and marked as cut."""
    line = (f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__).splitlines()[0]
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + " [...]"


def _root(cwd: str | None = None) -> Path | None:
    try:
        return paths.project_root(cwd)
    except (OSError, ValueError):  # a deleted working directory, a NUL in cwd
        return None


def _audit(root: Path | None, record: dict[str, Any], store=None) -> None:
    # The decision stands even when the log cannot be written; the hook says so on stderr.
    if root is None:
        sys.stderr.write("orchestra: audit log not written (no project root)\n")
        return
    try:
        url = paths.state_url(root)
        if url.startswith(("postgresql://", "postgres://")):
            # With the state in PostgreSQL the chain is there too, shared by every machine; when the
            # server cannot take the line, the local file chain keeps it.
            from .store.postgres_audit import append_to

            try:
                append_to(url, record, root, store)
                return
            except Exception as exc:  # noqa: BLE001 - the line must land somewhere
                sys.stderr.write(f"orchestra: audit line kept in the local file: the database's chain could not "
                                 f"take it ({_one_line(exc)})\n")
        paths.ensure_state_dir(root)
        audit.append(paths.audit_log(root), record, wait=audit.HOOK_LOCK_WAIT_S)
    except audit.HeadBehind as exc:
        sys.stderr.write(f"orchestra: {exc}\n")
    except Exception as exc:  # noqa: BLE001 - an audit failure must not turn into a traceback
        sys.stderr.write(f"orchestra: audit log not written to {paths.audit_log(root)} ({_one_line(exc)})\n")


def _log_traceback(root: Path | None, hook: str) -> str:
    """Write the current exception's traceback to hook-errors.log; return where it went."""
    if root is None:
        return "no project root, traceback not kept"
    import traceback  # only on a handler's failure: not worth its import on every call

    try:
        log = paths.ensure_state_dir(root) / "hook-errors.log"
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {hook}\n{traceback.format_exc()}\n")
    except OSError as exc:
        return f"traceback not kept: {exc.strerror}"
    return "details in .claude/state/hook-errors.log"


def _read_stdin() -> bytes:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise MalformedInput("no stdin to read the hook event from")
    data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        while stream.read(1 << 20):  # drain the rest, so the writer does not fail on a closed pipe
            pass
    return data


def run(handler: Handler, policy: Policy = "observe", stdin: bytes | None = None) -> int:
    """Run one hook invocation end to end and return the exit code (the hook script exits with it)."""
    # the hook process's start when it ran the hook's first line (the hook run again here after a warm child died)
    started, started_at = time.perf_counter(), warm.started or time.time()
    hook = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else handler.__name__
    record: dict[str, Any] = {"hook": hook, "policy": policy}
    if warm.serving:
        record["warm"] = True  # run by a child of the warm server (orchestra.warm)
    try:
        event = parse_event(_read_stdin() if stdin is None else stdin)
    except (MalformedInput, OSError) as exc:
        _audit(_root(), {**record, "event": None, "decision": "malformed", "reason": str(exc),
                         "ms": round((time.perf_counter() - started) * 1000, 2)})
        if policy == "guard":
            return _emit(None, f"orchestra {hook}: blocked, malformed hook input: {exc}", 2)
        return _emit(None, f"orchestra {hook}: ignored malformed hook input: {exc}", 1)
    if _stands_aside(hook):
        return 0
    record.update(event=event.name, session=event.session_id, agent_id=event.agent_id,
                  agent_type=event.agent_type, tool=event.tool_name)
    ctx: HookContext | None = None
    try:
        ctx = HookContext(event, started_at)
        verdict = handler(event, ctx)
        payload, code = render(event.name, verdict)
        # ASCII only (other characters as \u escapes): stdout is written in the locale's charset, and
        # Claude Code reads it as UTF-8
        stdout = json.dumps(payload, allow_nan=False) if payload is not None else None
        record["decision"] = decision_name(verdict)
        if isinstance(verdict, Deny | BlockStop | Ask):
            record["reason"] = verdict.reason
        stderr = None
    except BaseException as exc:  # noqa: BLE001 - the runner is the error boundary of every hook
        if ctx is not None:
            ctx.once_written.clear()  # what the handler meant to show is not in this output
        where = _log_traceback(ctx.root if ctx else _root(), hook)
        record.update(decision="error", reason=_one_line(exc))
        if policy == "guard":
            stdout, code = None, 2
            stderr = (f"orchestra {hook}: blocked because the guard failed ({_one_line(exc)}); "
                      f"{_guard_advice(exc, ctx.root if ctx else _root())}")
        else:
            stdout, code = json.dumps({"systemMessage": one_line(f"orchestra {hook}: {_one_line(exc)} ({where})")}), 0
            stderr = None
    if ctx is not None:
        record.update(ctx.audit)
    record["ms"] = round((time.perf_counter() - started) * 1000, 2)
    _audit(ctx.root if ctx else _root(), record, ctx._store if ctx else None)
    try:
        code = _emit(stdout, stderr, code)  # a closed pipe (Claude Code gave up on the hook) raises here
        if ctx is not None and stdout is not None:
            _written(ctx)
    finally:
        if ctx is not None:
            _close(ctx)  # after the audit line and what follows the output, which may use the store
    return code


def _written(ctx: HookContext) -> None:
    """The output is in Claude Code's pipe: take the steps waiting for that, unless the hook process a warm child
    runs this for has ended already (Claude Code killed it at its timeout, and drops what it wrote)."""
    if not ctx.once_written or (warm.serving and warm.caller_gone()):
        return
    for step in ctx.once_written:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - the output stands; the step's own record says what is undone
            sys.stderr.write(f"orchestra: {_one_line(exc)}\n")


def _guard_advice(exc: BaseException, root: Path | None) -> str:
    """What to do about a failed guard. A teams.yaml or policy.yaml it cannot read blocks every tool call of
    the session, the Edit that would fix the file included: only the user, outside Claude Code, can."""
    from .security.policy import PolicyError, policy_file
    from .store.errors import BusyError, CorruptStateError
    from .teams import TeamsError, teams_file

    if isinstance(exc, BusyError):  # nothing was decided nor written: the same call can go through now
        return "nothing was recorded; make the call again"
    if isinstance(exc, CorruptStateError):  # moved aside: the next call starts from empty state
        return "make the call again to go on with empty state, or restore the state first"
    where = teams_file if isinstance(exc, TeamsError) else policy_file if isinstance(exc, PolicyError) else None
    if where is None or root is None:
        return "fix the cause or the policy file"
    return (f"every tool call is blocked until {where(root)} is fixed, and no tool call can fix it: ask the user to "
            "edit it by hand (in an editor, or with a `!` shell line in the session)")


def _stands_aside(hook: str) -> bool:
    """The plugin's copy of a hook does nothing in a project whose own settings run the installed pack's
    copy of it (README, "Plugin"): the same hook would otherwise run twice on every event."""
    if not os.environ.get(paths.PLUGIN_ENV):
        return False
    from . import wiring

    return wiring.project_runs(paths.claude_dir(), f"{hook}.py")


def _close(ctx: HookContext) -> None:
    with suppress(Exception):  # the store was committed or rolled back already; closing only tidies
        ctx.close()


def main(handler: Handler, policy: Policy = "observe") -> None:
    """Entry point for hook scripts: `main(handler)` at the bottom of the file."""
    raise SystemExit(run(handler, policy))
