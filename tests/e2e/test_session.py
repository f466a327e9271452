"""A plain session through the installed pack: SessionStart, the audit chain, an ordinary tool call."""

from __future__ import annotations

from collections import Counter

from tests.e2e.fake_api import MAIN, bash, say

# Events whose hook runs Claude Code reports in stream-json (reference §8.3); the others run unseen.
REPORTED = {"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolBatch",
            "SubagentStart", "SubagentStop", "Stop"}


def test_session_start_hook_creates_the_state_store(sandbox, api):
    api.script.on(MAIN).reply(say("nothing to do"))

    run = sandbox.run(api, "say hello")

    assert run.returncode == 0, run.describe()
    session = run.init["session_id"]
    started = run.hook_responses("SessionStart")
    assert started and all(h["outcome"] == "success" for h in started), run.describe()
    assert (sandbox.state_dir / "orchestration.db").is_file()
    assert (sandbox.state_dir / ".gitignore").read_text() == "*\n"
    with sandbox.state() as tx:
        assert tx.get("schema_version") >= 1
    assert [a["session"] for a in sandbox.audit() if a["event"] == "SessionStart"] == [session]
    # Everything went to the fake API, nothing anywhere else.
    assert api.requests and not api.other_calls and not api.unscripted


def test_bash_call_passes_through_the_pre_tool_hook(sandbox, api):
    api.script.on(MAIN).reply(bash("echo hello-from-e2e > greeting.txt && cat greeting.txt")) \
                       .reply(say("greeted"))

    run = sandbox.run(api, "write the greeting", allowed_tools="Bash")

    assert run.returncode == 0, run.describe()
    assert (sandbox.repo / "greeting.txt").read_text() == "hello-from-e2e\n"
    second = api.conversation(MAIN)[1]
    [result] = second.tool_results()
    assert result["text"].startswith("hello-from-e2e") and not result["is_error"]
    pre = [a for a in sandbox.audit() if a["event"] == "PreToolUse" and a["tool"] == "Bash"]
    assert len(pre) == 1 and pre[0]["decision"] == "allow", sandbox.audit()
    assert pre[0]["session"] == run.init["session_id"] and pre[0]["agent_id"] is None


def test_audit_log_has_a_verified_line_per_hook_run(sandbox, api):
    api.script.on(MAIN).reply(bash("true"), bash("echo two")).reply(bash("echo three")).reply(say("ok"))

    run = sandbox.run(api, "run three commands", allowed_tools="Bash")

    assert run.returncode == 0, run.describe()
    reported = Counter(h["hook_event"] for h in run.hook_responses())
    logged = Counter(a["event"] for a in sandbox.audit() if a["event"] in REPORTED)
    assert reported["PreToolUse"] >= 3
    assert logged == reported
    lines, problem = sandbox.verify_audit()
    assert problem is None and lines == len(sandbox.audit())
    # `claude -p` waits for the MCP server before its first request, and the warm server the MCP server
    # starts is up long before that: every tool call runs warm. Claude Code runs SessionEnd once it has
    # ended the MCP server, and the warm server answers that hook too. Warm and cold lines chain alike.
    warm_events = ("PreToolUse", "Stop", "SessionEnd")
    assert {a["event"] for a in sandbox.audit() if a.get("warm")} >= set(warm_events), sandbox.audit()
    assert all(a.get("warm") for a in sandbox.audit() if a["event"] in warm_events), sandbox.audit()
