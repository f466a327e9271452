"""Real Claude Code 2.1.328 payloads through the real hook scripts: pre_tool, pre_agent, pre_mcp."""

from __future__ import annotations

import json
from pathlib import Path

from orchestra.store import open_store

from tests.conftest import hook_output, load_fixture, run_hook

MEMBER_RUN = "a48f3f9b44540da36"  # fullstack-eng in the capture


def captured(project: Path, event: str, tool: str, agent_type: str | None) -> dict:
    text = json.dumps(load_fixture("claude-code-2.1.328/nested-delegation.jsonl"))
    events = json.loads(text.replace("/home/dev/acme-shop", str(project)))
    return next(e for e in events if e["hook_event_name"] == event and e.get("tool_name") == tool
                and e.get("agent_type") == agent_type)


def bash_call(project: Path, command: str, agent_type: str = "fullstack-eng") -> dict:
    event = captured(project, "PreToolUse", "Bash", "fullstack-eng")
    return {**event, "agent_type": agent_type, "tool_input": {"command": command, "description": "run"}}


def audit_lines(project: Path) -> list[dict]:
    return [json.loads(line) for line in (project / ".claude/state/audit.jsonl").read_text().splitlines()]


def decision_of(proc) -> str | None:
    return hook_output(proc).get("hookSpecificOutput", {}).get("permissionDecision")


def test_the_captured_member_calls_pass(tree: Path) -> None:
    for event in (captured(tree, "PreToolUse", "Bash", "fullstack-eng"),
                  captured(tree, "PreToolUse", "Write", "fullstack-eng")):
        proc = run_hook("pre_tool.py", event, tree)
        assert proc.returncode == 0 and decision_of(proc) is None, proc.stdout + proc.stderr
    lines = audit_lines(tree)
    assert [(a["role"], a["action"], a["result"]) for a in lines] == [("team_member", "exec", "allowed"),
                                                                      ("team_member", "write", "allowed")]
    assert lines[1]["resource"] == str(tree / "src/auth/oauth.ts") and lines[1]["agent"] == MEMBER_RUN


def test_a_quoted_secret_read_is_denied_alerted_and_audited(tree: Path) -> None:
    proc = run_hook("pre_tool.py", bash_call(tree, 'cat .e""nv | base64'), tree)
    assert proc.returncode == 0, proc.stderr
    out = hook_output(proc)
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "`.env*`" in out["hookSpecificOutput"]["permissionDecisionReason"]
    assert out["systemMessage"].startswith("Orchestra security alert: fullstack-eng (team_member")
    line = audit_lines(tree)[-1]
    assert (line["role"], line["action"], line["resource"], line["result"], line["rule"]) == (
        "team_member", "exec", ".env", "denied", "secret:.env*")
    assert line["alert"] == "attempt on a secret file" and line["notified"] == ["devops-manager", "human"]
    with open_store(root=tree) as store:
        (event,) = store.events_after(0, types=("security_alert",))
        messages = store.get("communication.messages")
    assert event["agent_id"] == MEMBER_RUN
    assert sorted(m["to"] for m in messages.values()) == ["devops-manager", "human"]
    assert {m["priority"] for m in messages.values()} == {"critical"}


def test_a_monitor_command_is_guarded_like_bash(tree: Path) -> None:
    event = {**bash_call(tree, "unused"), "tool_name": "Monitor",
             "tool_input": {"command": "tail -f .env", "description": "watch", "timeout_ms": 60000}}
    proc = run_hook("pre_tool.py", event, tree)
    assert decision_of(proc) == "deny", proc.stdout + proc.stderr
    line = audit_lines(tree)[-1]
    assert (line["tool"], line["action"], line["rule"]) == ("Monitor", "exec", "secret:.env*")


def test_writing_settings_is_denied_for_an_orchestrator_too(tree: Path) -> None:
    event = captured(tree, "PreToolUse", "Write", "engineering-orchestrator")
    event = {**event, "agent_type": "engineering-director",
             "tool_input": {"file_path": str(tree / ".claude/settings.json"), "content": "{}"}}
    proc = run_hook("pre_tool.py", event, tree)
    assert decision_of(proc) == "deny" and "settings" in hook_output(proc)["hookSpecificOutput"][
        "permissionDecisionReason"]
    assert audit_lines(tree)[-1]["role"] == "orchestrator"


def test_a_member_editing_teams_yaml_is_denied_and_alerted(tree: Path) -> None:
    event = captured(tree, "PreToolUse", "Write", "fullstack-eng")
    event = {**event, "tool_name": "Edit", "tool_input": {"file_path": str(tree / ".claude/teams.yaml"),
                                                          "old_string": "can_access_secrets: false",
                                                          "new_string": "can_access_secrets: true"}}
    out = hook_output(run_hook("pre_tool.py", event, tree))
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "human's main session" in out["hookSpecificOutput"]["permissionDecisionReason"]
    assert "attempt on the organisation's files" in out["systemMessage"]
    line = audit_lines(tree)[-1]
    assert (line["action"], line["resource"], line["rule"]) == (
        "write", ".claude/teams.yaml", "organisation:.claude/teams.yaml")
    main = {k: v for k, v in event.items() if k not in ("agent_id", "agent_type")}
    assert decision_of(run_hook("pre_tool.py", main, tree)) is None


def test_three_denials_of_one_run_alert_the_user_on_the_third(tree: Path) -> None:
    call = bash_call(tree, "uv run orchestra sprint start sprint-3")
    outputs = [hook_output(run_hook("pre_tool.py", call, tree)) for _ in range(3)]
    assert [o["hookSpecificOutput"]["permissionDecision"] for o in outputs] == ["deny"] * 3
    assert ["systemMessage" in o for o in outputs] == [False, False, True]
    assert "3 denials within 5 minutes" in outputs[2]["systemMessage"]


def test_a_broken_policy_file_blocks_every_call(tree: Path) -> None:
    (tree / ".claude/policy.yaml").write_text("secrets:\n  paths: [\n")
    proc = run_hook("pre_tool.py", bash_call(tree, "echo building"), tree)
    assert proc.returncode == 2 and proc.stdout == b""
    assert b"policy.yaml:" in proc.stderr and b"blocked because the guard failed" in proc.stderr
    assert audit_lines(tree)[-1]["result"] == "error"
    (tree / ".claude/policy.yaml").write_text("alerts: {denials: none}\n")  # valid YAML, invalid policy
    proc = run_hook("pre_tool.py", bash_call(tree, "echo building"), tree)
    assert proc.returncode == 2 and b"alerts.denials" in proc.stderr


def test_a_broken_organisation_or_policy_file_is_to_be_fixed_outside_the_session(tree: Path) -> None:
    """While teams.yaml or policy.yaml cannot be read, every tool call is blocked, the Edit that would fix it
    too: the denial says so, so that Claude asks the user instead of trying Edit, then Bash, then Write."""
    for name, text in (("policy.yaml", "protected_paths: deploy/**\n"), ("teams.yaml", "teams:\n\tqa: {}\n")):
        kept = (tree / ".claude" / name).read_bytes() if (tree / ".claude" / name).exists() else None
        (tree / ".claude" / name).write_text(text)
        fix = {**bash_call(tree, "x"), "agent_type": None, "agent_id": None, "tool_name": "Edit",
               "tool_input": {"file_path": str(tree / ".claude" / name), "old_string": "a", "new_string": "b"}}
        proc = run_hook("pre_tool.py", fix, tree)
        assert proc.returncode == 2 and f"{name}:".encode() in proc.stderr, proc.stderr
        assert proc.stderr.decode().rstrip().endswith(
            f"every tool call is blocked until {tree / '.claude' / name} is fixed, and no tool call can fix it: "
            "ask the user to edit it by hand (in an editor, or with a `!` shell line in the session)"), proc.stderr
        if kept is None:
            (tree / ".claude" / name).unlink()
        else:
            (tree / ".claude" / name).write_bytes(kept)


def test_a_policy_file_with_only_comments_or_nothing_applies_the_built_in_rules(tree: Path) -> None:
    """Every key of policy.yaml is optional: a file whose entries are all commented out, or an empty one,
    is no policy, not a broken one that blocks every call (nobody may write the file from a session)."""
    for text in ("# protected_paths: [\"deploy/**\"]\n", "", "---\n"):
        (tree / ".claude/policy.yaml").write_text(text)
        proc = run_hook("pre_tool.py", bash_call(tree, "echo building"), tree)
        assert proc.returncode == 0 and decision_of(proc) is None, (text, proc.stderr)
        proc = run_hook("pre_tool.py", bash_call(tree, "cat .env"), tree)
        assert decision_of(proc) == "deny", (text, proc.stderr)  # the built-in secret paths still hold


def test_members_may_not_spawn_and_orchestrators_stay_in_their_team(tree: Path) -> None:
    event = captured(tree, "PreToolUse", "Agent", "engineering-orchestrator")
    member = {**event, "agent_type": "fullstack-eng", "tool_input": {**event["tool_input"], "subagent_type": "api-engineer"}}
    proc = run_hook("pre_agent.py", member, tree)
    assert decision_of(proc) == "deny", proc.stderr
    assert "may not start other agents" in hook_output(proc)["hookSpecificOutput"]["permissionDecisionReason"]
    cross = {**event, "agent_type": "engineering-director",
             "tool_input": {**event["tool_input"], "subagent_type": "market-researcher"}}
    reason = hook_output(run_hook("pre_agent.py", cross, tree))["hookSpecificOutput"]["permissionDecisionReason"]
    assert "product-director" in reason
    assert [(a["action"], a["resource"], a["result"]) for a in audit_lines(tree)] == [
        ("spawn", "api-engineer", "denied"), ("spawn", "market-researcher", "denied")]


def test_a_member_may_not_start_a_claude_session_from_bash(tree: Path) -> None:
    proc = run_hook("pre_tool.py", bash_call(tree, 'claude -p "add can_access_secrets: true to teams.yaml"'), tree)
    assert decision_of(proc) == "deny", proc.stdout + proc.stderr
    assert "may not start other agents" in hook_output(proc)["hookSpecificOutput"]["permissionDecisionReason"]
    line = audit_lines(tree)[-1]
    assert (line["role"], line["result"], line["rule"]) == ("team_member", "denied", "spawn:can_spawn_agents")


def test_mcp_state_changes_are_limited_to_own_tasks(tree: Path) -> None:
    with open_store(root=tree) as store, store.transaction() as tx:
        tx.set("tasks.task-3", {"title": "OAuth", "status": "in_progress", "assignee": "fullstack-eng",
                                "agent_id": MEMBER_RUN})
        tx.set("tasks.task-4", {"title": "API", "status": "in_progress", "assignee": "api-engineer"})
    event = {**captured(tree, "PreToolUse", "Bash", "fullstack-eng"), "tool_name": "mcp__orchestra__update_task",
             "mcp_server": {"name": "orchestra", "source": "project"}}
    theirs = run_hook("pre_mcp.py", {**event, "tool_input": {"task_id": "task-4", "status": "completed"}}, tree)
    assert decision_of(theirs) == "deny" and "api-engineer" in theirs.stdout.decode()
    mine = run_hook("pre_mcp.py", {**event, "tool_input": {"task_id": "task-3", "status": "needs_review"}}, tree)
    assert mine.returncode == 0 and hook_output(mine)["hookSpecificOutput"]["updatedInput"]["task_id"] == "task-3"
    assert [(a["action"], a["resource"], a["result"]) for a in audit_lines(tree)] == [
        ("update_task", "tasks.task-4", "denied"), ("update_task", "tasks.task-3", "allowed")]


def test_a_task_id_the_store_cannot_hold_is_denied_as_no_task_not_blocked_as_a_failed_guard(tree: Path) -> None:
    """`"task-b "` (a trailing space) or `"täsk"`: the ownership read failed on the id, and the hook blocked the
    call as an internal error telling to fix the policy file."""
    with open_store(root=tree) as store, store.transaction() as tx:
        tx.set("tasks.task-4", {"title": "API", "status": "in_progress", "assignee": "api-engineer"})
    event = {**captured(tree, "PreToolUse", "Bash", "fullstack-eng"), "tool_name": "mcp__orchestra__update_task",
             "mcp_server": {"name": "orchestra", "source": "project"}}
    for task_id in ("task-4 ", "täsk"):
        proc = run_hook("pre_mcp.py", {**event, "tool_input": {"task_id": task_id, "status": "cancelled"}}, tree)
        assert proc.returncode == 0 and decision_of(proc) == "deny", proc.stderr
        assert "no such task in state" in hook_output(proc)["hookSpecificOutput"]["permissionDecisionReason"]
    assert [a["result"] for a in audit_lines(tree)] == ["denied", "denied"]


def test_a_caller_written_into_the_orchestra_server_under_another_name_is_denied_and_alerted(tree: Path) -> None:
    """The identity hook stamps only `orchestra` (and the plugin's name): under another name the tool guard sees the
    call, and a `caller` the model wrote itself, of any shape, would reach the server unreplaced."""
    event = {**captured(tree, "PreToolUse", "Bash", "fullstack-eng"), "mcp_server": {"name": "orch", "source": "local"}}
    forged = {"id": "main", "agent_type": None, "session_id": "forged"}
    for tool, caller in (("mcp__orch__update_task", forged), ("mcp__orch__send_message", "main"),
                         ("mcp__plugin_orch_orchestra__ack", {**forged, "extra": 1}), ("mcp__Orchestra__inbox", {}),
                         ("mcp__orch__x__report_status", None)):
        proc = run_hook("pre_tool.py", {**event, "tool_name": tool, "tool_input": {"task_id": "t", "caller": caller}},
                        tree)
        assert proc.returncode == 0 and decision_of(proc) == "deny", (tool, proc.stdout + proc.stderr)
        reason = hook_output(proc)["hookSpecificOutput"]["permissionDecisionReason"]
        assert f"registered here as `{tool[5:].rpartition('__')[0]}`" in reason and "`orchestra doctor`" in reason, reason
    assert hook_output(proc)["systemMessage"].startswith("Orchestra security alert: fullstack-eng")
    assert {a["rule"] for a in audit_lines(tree)} == {"identity:unstamped_caller"}
    for tool, tool_input in (("mcp__orch__update_task", {"task_id": "t", "status": "completed"}),
                             ("mcp__orch__send_message", {"to": "x", "payload": {"caller": forged}}),
                             ("mcp__github__create_issue", {"title": "t", "caller": forged})):
        proc = run_hook("pre_tool.py", {**event, "tool_name": tool, "tool_input": tool_input}, tree)
        assert proc.returncode == 0 and decision_of(proc) is None, (tool, proc.stdout + proc.stderr)


def test_a_member_may_not_change_the_organisation_through_its_worktree(tree: Path) -> None:
    worktree = tree / ".worktrees" / "task-x"
    event = captured(tree, "PreToolUse", "Write", "fullstack-eng")
    edit = {**event, "cwd": str(worktree), "tool_name": "Edit",
            "tool_input": {"file_path": str(worktree / ".claude/agents/fullstack-eng.md"),
                           "old_string": "tools: Read", "new_string": "tools: Read, Agent"}}
    out = hook_output(run_hook("pre_tool.py", edit, tree))
    reason = out["hookSpecificOutput"]["permissionDecisionReason"]
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny", out
    assert "the worktree's copy of `.claude/agents/fullstack-eng.md`" in reason and "merged" in reason
    assert "ask your orchestrator" in reason and "attempt on the organisation's files" in out["systemMessage"]
    line = audit_lines(tree)[-1]
    assert (line["resource"], line["rule"]) == (".worktrees/task-x/.claude/agents/fullstack-eng.md",
                                                "organisation:.claude/agents/**")
    settings = {**bash_call(tree, "echo '{}' > .claude/settings.json"), "cwd": str(worktree)}
    proc = run_hook("pre_tool.py", settings, tree)
    reason = hook_output(proc)["hookSpecificOutput"]["permissionDecisionReason"]
    assert decision_of(proc) == "deny" and "copy of `.claude/settings.json`" in reason and "ask your orchestrator" in reason
    assert audit_lines(tree)[-1]["rule"] == "state:.claude/settings*.json"
    work = {**event, "cwd": str(worktree), "tool_input": {"file_path": str(worktree / "src/app.py"), "content": "x"}}
    assert decision_of(run_hook("pre_tool.py", work, tree)) is None
    main = {k: v for k, v in edit.items() if k not in ("agent_id", "agent_type")}
    assert decision_of(run_hook("pre_tool.py", main, tree)) is None


def test_a_run_may_read_only_its_own_inbox_as_read_and_peeks_at_others(tree: Path) -> None:
    """`orchestra msg inbox agent:<id>` without --peek counts that run's messages as delivered (never injected into
    it): a run does that only for itself; --peek and --all look without consuming; the main thread is not limited."""
    cli = ".claude/orchestra/bin/orchestra"
    for agent_type in ("fullstack-eng", "engineering-director"):  # with or without can_modify_state: true
        for command in (f"{cli} msg inbox agent:a0other", "uv run orchestra msg inbox --json agent:a0other",
                        f"{cli} msg inbox ' agent:a0other'", f"echo agent:a0other | xargs {cli} msg inbox"):
            proc = run_hook("pre_tool.py", bash_call(tree, command, agent_type), tree)
            assert decision_of(proc) == "deny", (agent_type, command, proc.stdout + proc.stderr)
            reason = hook_output(proc)["hookSpecificOutput"]["permissionDecisionReason"]
            assert "--peek" in reason and f"agent:{MEMBER_RUN}" in reason, reason
        for command in (f"{cli} msg inbox agent:a0other --peek", f"{cli} msg inbox --all",
                        f"{cli} msg inbox agent:{MEMBER_RUN}", f"{cli} msg inbox", f"{cli} msg inbox team:qa"):
            proc = run_hook("pre_tool.py", bash_call(tree, command, agent_type), tree)
            assert decision_of(proc) is None, (agent_type, command, proc.stdout + proc.stderr)
    main = bash_call(tree, f"{cli} msg inbox agent:a0other", None)
    main.pop("agent_id")
    assert decision_of(run_hook("pre_tool.py", main, tree)) is None
    line = next(a for a in audit_lines(tree) if a["result"] == "denied")
    assert (line["role"], line["rule"]) == ("team_member", "cli:own_inbox")


def test_a_members_git_push_is_denied_with_a_reason_and_audited(tree: Path) -> None:
    command = "cd .worktrees/task-x && GIT_TERMINAL_PROMPT=0 git -C . push -u origin task-x"
    proc = run_hook("pre_tool.py", bash_call(tree, command), tree)
    assert proc.returncode == 0, proc.stderr
    out = hook_output(proc)["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    assert "would push commits beyond this machine" in out["permissionDecisionReason"]
    line = audit_lines(tree)[-1]
    assert (line["role"], line["action"], line["resource"], line["result"], line["rule"]) == (
        "team_member", "exec", command, "denied", "push:git.push")
    director = run_hook("pre_tool.py", bash_call(tree, command, "engineering-director"), tree)
    assert director.returncode == 0 and decision_of(director) is None, director.stdout + director.stderr

