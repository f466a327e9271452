"""hookio in-process: tolerant parsing, every verdict rendered as Claude Code 2.1.328 reads it, the runner's
error boundary. Real hook-script runs live in tests/hooks/test_runtime.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orchestra import audit, paths
from orchestra.hookio import (
    CONTEXT_LIMIT,
    MAX_INPUT_BYTES,
    AddContext,
    Allow,
    Ask,
    BlockStop,
    Deny,
    MalformedInput,
    Rewrite,
    parse_event,
    render,
    run,
)

from tests.conftest import load_fixture

FIXTURE_EVENTS = load_fixture("claude-code-2.1.328/nested-delegation.jsonl") + load_fixture(
    "claude-code-2.1.328/deny-and-context.jsonl")


# -- parsing --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", FIXTURE_EVENTS, ids=[f"{e['hook_event_name']}-{i}" for i, e in enumerate(FIXTURE_EVENTS)])
def test_every_captured_payload_parses(raw: dict) -> None:
    event = parse_event(json.dumps(raw).encode())
    assert event.name == raw["hook_event_name"]
    assert event.session_id == raw["session_id"]
    assert event.agent_id == raw.get("agent_id")
    assert event.tool_name == raw.get("tool_name")
    assert event.raw == raw


def test_unknown_fields_are_ignored_but_kept() -> None:
    raw = {"hook_event_name": "PreToolUse", "session_id": "s", "cwd": "/x", "tool_name": "Bash",
           "tool_input": {"command": "ls"}, "brand_new_field": {"nested": [1, 2]}, "effort": {"level": "max"},
           "mcp_server": None}
    event = parse_event(json.dumps(raw).encode())
    assert event.tool_input == {"command": "ls"}
    assert event.get("brand_new_field") == {"nested": [1, 2]}
    assert event.caller == "main" and not event.in_subagent


def test_subagent_identity_and_defaults() -> None:
    event = parse_event(b'{"hook_event_name": "SubagentStart", "agent_id": "a1", "agent_type": "qa-eng", '
                        b'"tool_input": null}')
    assert (event.caller, event.agent_type, event.in_subagent) == ("a1", "qa-eng", True)
    assert event.tool_input == {} and event.session_id == ""


MALFORMED = [
    (b"", "empty input"),
    (b"  \n\t ", "empty input"),
    (b"not json", "not JSON"),
    (b'{"hook_event_name": "Stop"', "not JSON"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[1, 2]", "JSON list, expected an object"),
    (b'"PreToolUse"', "JSON str, expected an object"),
    (b"{}", "'hook_event_name' is missing"),
    (b'{"hook_event_name": 5}', "'hook_event_name' should be a string, got int"),
    (b'{"hook_event_name": "PreToolUse", "session_id": ["s"]}', "'session_id' should be a string, got list"),
    (b'{"hook_event_name": "PreToolUse", "agent_id": 7}', "'agent_id' should be a string"),
    (b'{"hook_event_name": "PreToolUse", "tool_input": "rm -rf /"}', "'tool_input' should be an object, got str"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"hook_event_name": "PreToolUse", "pad": "' + b"x" * (MAX_INPUT_BYTES + 10) + b'"}', "byte limit"),
]


@pytest.mark.parametrize(("data", "message"), MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_input_is_named(data: bytes, message: str) -> None:
    with pytest.raises(MalformedInput, match=message.replace("(", r"\(")):
        parse_event(data)


def test_a_large_write_is_a_hook_event_not_malformed_input() -> None:
    # A PostToolUse Write carries the file's content two or three times; 9 MiB of it is not malformed.
    content = "x" * (9 * 1024 * 1024)
    data = json.dumps({"hook_event_name": "PostToolUse", "tool_name": "Write",
                       "tool_input": {"file_path": "big.txt", "content": content},
                       "tool_response": {"filePath": "big.txt", "content": content}}).encode()
    assert len(data) < MAX_INPUT_BYTES
    assert parse_event(data).tool_input["content"] == content


# -- rendering (reference/claude-code.md §1.2 and §1.5) ---------------------------------------------

RENDERED = [
    # event, verdict, expected stdout JSON (None = print nothing); the exit code is always 0
    ("PreToolUse", Allow(), None),
    ("SessionStart", Allow(), None),
    ("PreToolUse", Allow("heads up"), {"systemMessage": "heads up"}),
    ("SessionStart", AddContext("sprint summary"),
     {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "sprint summary"}}),
    ("UserPromptSubmit", AddContext("inbox"),
     {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": "inbox"}}),
    ("SubagentStart", AddContext("task brief", system_message="briefed"),
     {"systemMessage": "briefed",
      "hookSpecificOutput": {"hookEventName": "SubagentStart", "additionalContext": "task brief"}}),
    ("PostToolUse", AddContext("recorded"),
     {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "recorded"}}),
    ("PreToolUse", Deny("secrets are off limits"),
     {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                             "permissionDecisionReason": "secrets are off limits"}}),
    ("PreToolUse", Ask("push to main?"),
     {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "ask",
                             "permissionDecisionReason": "push to main?"}}),
    ("PreModelSwitch", Deny("budget"),
     {"hookSpecificOutput": {"hookEventName": "PreModelSwitch", "permissionDecision": "deny",
                             "permissionDecisionReason": "budget"}}),
    ("PermissionRequest", Deny("not for your role"),
     {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                             "decision": {"behavior": "deny", "message": "not for your role"}}}),
    ("PermissionRequest", Ask("let the user decide"), None),
    ("UserPromptSubmit", Deny("prompt refused"), {"decision": "block", "reason": "prompt refused"}),
    ("PostToolUse", Deny("that write broke the build"), {"decision": "block", "reason": "that write broke the build"}),
    ("TaskCreated", Deny("no task without a sprint"), {"decision": "block", "reason": "no task without a sprint"}),
    ("PreToolUse", Rewrite({"command": "echo rewritten"}),
     {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": {"command": "echo rewritten"}}}),
    ("PreToolUse", Rewrite({"prompt": "p"}, context="task context", system_message="stamped"),
     {"systemMessage": "stamped",
      "hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": {"prompt": "p"},
                             "additionalContext": "task context"}}),
    ("Stop", BlockStop("finish the tests first"), {"decision": "block", "reason": "finish the tests first"}),
    ("SubagentStop", BlockStop("STATUS line missing"), {"decision": "block", "reason": "STATUS line missing"}),
]


@pytest.mark.parametrize(("event_name", "verdict", "expected"), RENDERED,
                         ids=[f"{e}-{type(v).__name__}-{i}" for i, (e, v, _) in enumerate(RENDERED)])
def test_verdict_rendering(event_name: str, verdict, expected) -> None:
    payload, code = render(event_name, verdict)
    assert (payload, code) == (expected, 0)
    if payload is not None:
        text = json.dumps(payload)
        assert text.lstrip().startswith("{")  # Claude Code parses stdout as JSON only then
        if "hookSpecificOutput" in payload:
            assert payload["hookSpecificOutput"]["hookEventName"] == event_name


@pytest.mark.parametrize(("event_name", "verdict", "message"), [
    ("UserPromptSubmit", Ask("?"), "cannot ask"),
    ("Stop", Ask("?"), "cannot ask"),
    ("PostToolUse", Rewrite({"a": 1}), "only PreToolUse"),
    ("PermissionRequest", Rewrite({"a": 1}), "only PreToolUse"),
    ("PreToolUse", None, "not a verdict"),
    ("PreToolUse", "deny", "not a verdict"),
])
def test_verdicts_an_event_cannot_express_are_errors(event_name: str, verdict, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        render(event_name, verdict)


def test_long_texts_are_clipped_below_claude_codes_spill_limit() -> None:
    payload, _ = render("SessionStart", AddContext("x" * 50_000, system_message="m" * 5000))
    context = payload["hookSpecificOutput"]["additionalContext"]
    assert len(context) == CONTEXT_LIMIT < 10_000
    assert context.endswith("more characters cut by Orchestra]")
    assert len(payload["systemMessage"]) == 2000
    payload, _ = render("PreToolUse", Deny("r" * 5000))
    assert len(payload["hookSpecificOutput"]["permissionDecisionReason"]) == 2000


# -- the runner's error boundary ------------------------------------------------------------------

def _event(**extra) -> bytes:
    base = {"hook_event_name": "PreToolUse", "session_id": "s-1", "cwd": "/tmp", "tool_name": "Bash",
            "tool_input": {"command": "ls"}}
    return json.dumps({**base, **extra}).encode()


def _audit_lines(project: Path) -> list[dict]:
    log = project / ".claude/state/audit.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_runner_prints_the_rendered_verdict_and_audits(project: Path, capsys) -> None:
    code = run(lambda event, ctx: Deny("no"), policy="guard", stdin=_event())
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"
    (line,) = _audit_lines(project)
    assert (line["event"], line["decision"], line["reason"], line["tool"]) == ("PreToolUse", "deny", "no", "Bash")
    assert isinstance(line["ms"], float) and line["ms"] >= 0
    assert audit.verify(paths.audit_log(project)) == (1, None)


def _raise(event, ctx):
    raise RuntimeError("handler bug\nsecond line")


def test_observer_exception_exits_0_with_a_system_message(project: Path, capsys) -> None:
    code = run(_raise, policy="observe", stdin=_event())
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    message = json.loads(out)["systemMessage"]
    assert "RuntimeError: handler bug" in message and "\n" not in message and "Traceback" not in out
    assert _audit_lines(project)[-1]["decision"] == "error"
    assert "Traceback" in (project / ".claude/state/hook-errors.log").read_text()


def test_guard_exception_exits_2_with_the_reason_on_stderr(project: Path, capsys) -> None:
    code = run(_raise, policy="guard", stdin=_event())
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "blocked because the guard failed (RuntimeError: handler bug)" in err
    assert "Traceback" not in err
    assert _audit_lines(project)[-1]["decision"] == "error"


def test_a_long_failure_reason_is_cut_at_a_word_and_says_so(project: Path, capsys) -> None:
    reason = "the store at postgresql://db.internal/orchestra could not be reached " * 12

    def fail(event, ctx):
        raise RuntimeError(reason.strip())

    assert run(fail, policy="guard", stdin=_event()) == 2
    err = capsys.readouterr().err
    said = err.split("blocked because the guard failed (", 1)[1].rsplit("); fix the cause", 1)[0]
    assert said.endswith(" [...]")
    assert said.removesuffix(" [...]").split()[-1] in reason.split()  # no word cut in half
    assert said.startswith("RuntimeError: the store at postgresql://db.internal/orchestra") and len(said) <= 606


@pytest.mark.parametrize("handler", [
    lambda event, ctx: None,                                    # forgot to return a verdict
    lambda event, ctx: Rewrite({"bad": {1, 2}}),                # not JSON: nothing half-printed
    lambda event, ctx: Ask("?") if event.name == "Stop" else Allow(),
    lambda event, ctx: (_ for _ in ()).throw(SystemExit(3)),   # a handler calling sys.exit
    lambda event, ctx: (_ for _ in ()).throw(KeyboardInterrupt()),
], ids=["none", "non-json-rewrite", "ask-on-stop", "sys-exit", "interrupt"])
def test_handler_mistakes_go_through_the_error_policy(project: Path, capsys, handler) -> None:
    stdin = _event(hook_event_name="Stop")
    assert run(handler, policy="observe", stdin=stdin) == 0
    out, err = capsys.readouterr()
    assert list(json.loads(out)) == ["systemMessage"] and err == ""
    assert run(handler, policy="guard", stdin=stdin) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert [line["decision"] for line in _audit_lines(project)] == ["error", "error"]


def test_unwritable_audit_fields_do_not_turn_into_a_traceback(project: Path, capsys) -> None:
    def handler(event, ctx):
        ctx.audit["weird"] = object()
        return AddContext("still delivered")

    assert run(handler, stdin=_event()) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["hookSpecificOutput"]["additionalContext"] == "still delivered"
    assert err.startswith("orchestra: audit log not written") and err.count("\n") == 1



def test_an_audit_log_on_a_read_only_disk_is_named_and_the_decision_stands(project: Path, capsys) -> None:
    from tests.disks import read_only

    state = paths.ensure_state_dir(project)
    with read_only(state):
        assert run(lambda event, ctx: Deny("no"), policy="guard", stdin=_event()) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert err.startswith(f"orchestra: audit log not written to {state / 'audit.jsonl'} (") and err.count("\n") == 1

def test_a_cwd_that_cannot_be_a_path_is_a_handler_error_not_a_crash(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("CLAUDE_PROJECT_DIR")  # so the root is looked for from the event's cwd
    monkeypatch.chdir(project)
    paths.project_root.cache_clear()
    assert run(lambda event, ctx: Allow(), policy="guard", stdin=_event(cwd="/tmp/\u0000bad")) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "embedded null byte" in err and "Traceback" not in err
    assert _audit_lines(project)[-1]["decision"] == "error"


@pytest.mark.parametrize(("data", "message"), [MALFORMED[0], MALFORMED[2], MALFORMED[8], MALFORMED[-1]],
                         ids=["empty", "not-json", "wrong-type", "over-limit"])
def test_malformed_input_never_reaches_the_handler(project: Path, capsys, data: bytes, message: str) -> None:
    called = []
    for policy, exit_code in (("observe", 1), ("guard", 2)):
        assert run(lambda event, ctx: called.append(event), policy=policy, stdin=data) == exit_code
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and message in err and "Traceback" not in err
    assert called == []
    lines = _audit_lines(project)
    assert [(line["decision"], line["event"]) for line in lines] == [("malformed", None)] * 2
    assert not (project / ".claude/state/orchestration.db").exists()


def test_a_hook_waits_for_the_store_less_than_any_hook_may_run(project: Path) -> None:
    from orchestra import hookio, wiring

    timeouts = [decl.get("timeout", 600) for _, decl in wiring.declarations()]
    assert min(timeouts) >= hookio.STORE_WAIT_S + 3  # room left for start-up, the handler and the audit line
    seen = []
    run(lambda event, ctx: seen.append(ctx.store.wait) or Allow(), stdin=_event())
    assert seen == [hookio.STORE_WAIT_S]


def test_a_hook_stuck_behind_a_writer_ends_with_a_clear_error(project: Path, capsys, monkeypatch) -> None:
    import sqlite3
    import time

    from orchestra import hookio
    from orchestra.store import open_store

    with open_store(root=project):
        pass  # create the database
    holder = sqlite3.connect(project / ".claude/state/orchestration.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(hookio, "STORE_WAIT_S", 0.3)

    def write(event, ctx):
        with ctx.store.transaction() as tx:
            tx.set("counters.x", 1)
        return Allow()

    started = time.monotonic()
    try:
        assert run(write, policy="guard", stdin=_event()) == 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert time.monotonic() - started < 5
    out, err = capsys.readouterr()
    assert out == "" and "locked by another writer" in err and "0.3s" in err
    assert _audit_lines(project)[-1]["decision"] == "error"
