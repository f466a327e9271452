"""The delegation lifecycle driven by the captured Claude Code 2.1.328 payloads, through the real hook scripts.

Also the shared harness of the other lifecycle tests: an organisation, seeded state, fixture
events rewritten into the temp project, subagent transcripts in Claude Code's own format, an
in-process feeder for the real handlers, and a digest of the final state without timestamps.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from orchestra.bus.handoffs import handoff
from orchestra.hookio import HookContext, Rewrite, parse_event
from orchestra.lifecycle import handlers, native, session
from orchestra.store import open_store
from orchestra.teams import load as load_teams

from tests.conftest import FIXTURES, hook_output, load_fixture, run_hook

CAPTURE = "claude-code-2.1.328"
TEAMS = """\
teams:
  engineering:
    orchestrator: engineering-orchestrator
    members:
      - {name: fullstack-eng, role: team_member, capacity: 3}
      - {name: api-engineer, role: team_member, capacity: 1}
      - {name: tech-lead, role: reviewer, capacity: 2}
    settings: {max_parallel_agents: 5}
  qa:
    orchestrator: qa-director
    members:
      - {name: test-engineer, role: team_member, capacity: 2}
"""


def write_teams(project: Path, extra: str = "") -> None:
    (project / ".claude" / "teams.yaml").write_text(TEAMS + extra, encoding="utf-8")


def seed(project: Path, tasks: dict[str, dict] | None = None, sprints: dict[str, dict] | None = None,
         url: str | None = None) -> None:
    with open_store(url, root=project) as store, store.transaction() as tx:
        for sid, sprint in (sprints or {}).items():
            tx.set(f"sprints.{sid}", sprint)
        for tid, task in (tasks or {}).items():
            tx.set(f"tasks.{tid}", {"status": "queued", "type": "implementation", **task})


def seed_sprint3(project: Path, url: str | None = None) -> None:
    seed(project, {"task-3": {"title": "OAuth2 flow", "sprint": "sprint-3"}},
         {"sprint-3": {"name": "Payments", "status": "active"}}, url)


def write_transcript(path: Path, prompt: str, writes: list[tuple[str, bool]], final: str,
                     tool_use_id: str | None = None) -> None:
    """A subagent transcript shaped like Claude Code 2.1.328's (see foreground-delegation/agent-*.jsonl)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines: list[dict[str, Any]] = [{"type": "user", "isSidechain": True, "message": {"role": "user", "content": prompt}}]
    for i, (target, ok) in enumerate(writes):
        use = f"toolu_w{i}"
        lines.append({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": use, "name": "Write", "input": {"file_path": target, "content": "x\n"}}]}})
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": use,
                                  "content": "File created successfully" if ok else "PreToolUse:Write hook error: denied"}
        if not ok:
            result["is_error"] = True
        lines.append({"type": "user", "message": {"role": "user", "content": [result]}})
    lines.append({"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": final}]}})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    if tool_use_id:
        path.with_name(path.name.replace(".jsonl", ".meta.json")).write_text(json.dumps({"toolUseId": tool_use_id}))


def fixture_events(name: str, project: Path) -> list[dict]:
    """The captured events with their paths moved into the temp project (and its config dir)."""
    text = json.dumps(load_fixture(f"{CAPTURE}/{name}"))
    text = text.replace("/home/dev/acme-shop", str(project)).replace("/home/dev/.claude", str(project / "cc-config"))
    return json.loads(text)


def transcripts_for(events: list[dict], project: Path, *, denied_member: bool = False, meta: bool = True) -> None:
    """Write the transcripts the captured SubagentStops point at, consistent with the captured tool calls."""
    launches = {}
    for ev in events:
        if ev["hook_event_name"] == "PostToolUse" and ev["tool_name"] == "Agent":
            launches[ev["tool_response"]["agentId"]] = (ev["tool_use_id"], ev["tool_input"]["prompt"])
    for ev in events:
        if ev["hook_event_name"] != "SubagentStop":
            continue
        tool_use_id, prompt = launches[ev["agent_id"]]
        member = ev["agent_type"] == "fullstack-eng"
        target = str(project / ("src/auth/oauth.ts" if member else "NOTES.md"))
        write_transcript(Path(ev["agent_transcript_path"]), prompt, [(target, not (member and denied_member))],
                         ev["last_assistant_message"], tool_use_id if meta else None)


HOOK_SCRIPTS = {("PreToolUse", "Agent"): "pre_agent.py", ("PostToolUse", "Agent"): "post_agent.py",
                ("PostToolUse", "TaskStop"): "post_agent.py",
                ("PostToolUse", "Write"): "post_write.py", ("PostToolUse", "Edit"): "post_write.py",
                ("SubagentStart", None): "subagent_start.py", ("SubagentStop", None): "subagent_stop.py",
                ("Stop", None): "stop.py", ("SessionEnd", None): "session_end.py",
                ("TaskCreated", None): "task_created.py", ("TaskCompleted", None): "task_completed.py",
                ("TeammateIdle", None): "teammate_idle.py"}
HANDLERS = {"pre_agent.py": handlers.pre_agent, "post_agent.py": handlers.post_agent,
            "post_write.py": handlers.post_write, "subagent_start.py": handlers.subagent_start,
            "subagent_stop.py": handlers.subagent_stop, "stop.py": session.stop,
            "session_end.py": session.session_end, "task_created.py": native.mirror,
            "task_completed.py": native.mirror, "teammate_idle.py": native.mirror}


def script_for(event: dict) -> str | None:
    name = event["hook_event_name"]
    return HOOK_SCRIPTS.get((name, event.get("tool_name") if name in ("PreToolUse", "PostToolUse") else None))


def feed(event: dict):
    """Run the lifecycle handler for `event` in-process (parse, handle, close) and return its verdict."""
    script = script_for(event)
    if script is None:
        return None
    parsed = parse_event(json.dumps(event).encode())
    ctx = HookContext(parsed)
    try:
        return HANDLERS[script](parsed, ctx)
    finally:
        ctx.close()


VOLATILE = ("_at", "seq")


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items()) if not k.endswith(VOLATILE)}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def digest(url: str | None = None, root: Path | None = None) -> dict[str, Any]:
    """Final lifecycle state without timestamps and sequence numbers (which depend on arrival order)."""
    with open_store(url, root=root) as store:
        doc = store.export()
    messages = {m["id"]: {k: m[k] for k in ("from", "to", "type", "payload", "task", "priority")}
                for m in doc["communication"]["messages"].values()}
    return _stable({"tasks": doc["tasks"], "agents": doc["agents"], "delegations": doc["delegations"],
                    "sessions": {k: {"child_agents": v.get("child_agents")} for k, v in doc["sessions"].items()},
                    "messages": messages})


def run_captured(name: str, project: Path, *, before: str | None = None, **transcript_options) -> list[tuple[dict, Any]]:
    """Every lifecycle event of a capture through the real hook scripts, in captured order (up to the first
    `before` event, when given)."""
    events = fixture_events(name, project)
    if before:
        events = events[:[e["hook_event_name"] for e in events].index(before)]
    transcripts_for(events, project, **transcript_options)
    outputs = []
    for event in events:
        script = script_for(event)
        if script is None:
            continue
        proc = run_hook(script, event, project)
        assert proc.returncode == 0, (script, proc.stderr)
        outputs.append((event, hook_output(proc)))
    return outputs


# -- the captured nested delegation, in order, through the real scripts ---------------------------------

def test_nested_delegation_tracks_both_levels(project: Path) -> None:
    write_teams(project)
    seed_sprint3(project)
    outputs = run_captured("nested-delegation.jsonl", project)
    state = digest(root=project)
    orchestrator, member = "a95aee35bef91164f", "a48f3f9b44540da36"

    sprint_task = state["tasks"]["orchestrate-sprint-3"]
    assert sprint_task["status"] == "completed" and sprint_task["type"] == "orchestration"
    assert sprint_task["agent_id"] == orchestrator and sprint_task["artifacts"] == ["NOTES.md"]
    task = state["tasks"]["task-3"]
    assert task["status"] == "completed" and task["delegation"] == "toolu_0003"
    assert task["agent_id"] == member and task["artifacts"] == ["src/auth/oauth.ts"]

    runs = state["agents"]
    assert runs[orchestrator]["parent"] == "main" and runs[orchestrator]["child_agents"] == [member]
    assert runs[member]["parent"] == orchestrator and runs[member]["role"] == "team_member"
    assert runs[member]["team"] == "engineering" and runs[member]["link"] == "definitive"
    assert {r["status"] for r in runs.values()} == {"completed"}
    assert state["sessions"]["dfab92b6-54b1-418c-92df-2cebee7f448e"]["child_agents"] == [orchestrator]

    # the parent of each run got one TASK_COMPLETED message through the bus
    sent = {(m["from"], m["to"], m["type"], m["task"]) for m in state["messages"].values()}
    assert sent == {(f"agent:{member}", f"agent:{orchestrator}", "task_completed", "task-3"),
                    (f"agent:{orchestrator}", "main:dfab92b6-54b1-418c-92df-2cebee7f448e", "task_completed",
                     "orchestrate-sprint-3")}

    # PreToolUse rewrote the whole input: every field kept, the brief appended to the prompt
    pre = [out for ev, out in outputs if ev["hook_event_name"] == "PreToolUse"]
    updated = pre[1]["hookSpecificOutput"]["updatedInput"]
    assert updated["subagent_type"] == "fullstack-eng" and updated["run_in_background"] is False
    assert updated["prompt"].startswith("[task:task-3] Implement OAuth2 flow.\n\n--- Orchestra task brief ---")
    assert "STATUS: completed | blocked | needs_review" in updated["prompt"]
    start = [out for ev, out in outputs if ev["hook_event_name"] == "SubagentStart"]
    assert "[task:task-3]" in start[1]["hookSpecificOutput"]["additionalContext"]


SESSION_A = "dfab92b6-54b1-418c-92df-2cebee7f448e"  # the session of the captured delegation
SESSION_B = "0c2d6a51-7f3e-4b8a-9e41-5d0b7c9a1f22"  # a second terminal in the same project


def main_thread(project: Path, name: str, session_id: str, **fields: Any) -> dict:
    """A main-thread hook event of `session_id` in the temp project."""
    return {"session_id": session_id, "transcript_path": str(project / "cc" / f"{session_id}.jsonl"),
            "cwd": str(project), "hook_event_name": name, **fields}


def context_of(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    return (hook_output(proc).get("hookSpecificOutput") or {}).get("additionalContext") or ""


def test_a_completion_reaches_the_session_that_delegated_not_another_open_one(project: Path) -> None:
    write_teams(project)
    seed_sprint3(project)
    run_captured("nested-delegation.jsonl", project, before="SessionEnd")
    prompt = {"prompt": "status?", "prompt_id": "p1"}
    bash = {"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_b1"}
    other = run_hook("user_prompt.py", main_thread(project, "UserPromptSubmit", SESSION_B, **prompt), project)
    assert "orchestrate-sprint-3" not in context_of(other)
    other = run_hook("pre_tool.py", main_thread(project, "PreToolUse", SESSION_B, **bash), project)
    assert "orchestrate-sprint-3" not in context_of(other)
    own = context_of(run_hook("user_prompt.py", main_thread(project, "UserPromptSubmit", SESSION_A, **prompt),
                              project))
    assert "task_completed" in own and "task orchestrate-sprint-3" in own


def test_the_summary_claude_code_writes_when_it_compacts_a_context_is_no_agent_run(project: Path) -> None:
    """Auto-compaction (of the main thread or of a subagent) runs a summarising fork that Claude Code 2.1.328 ends
    with a SubagentStop of agent_type "" and no SubagentStart before it: no run is recorded for it, so
    `orchestra agents` and the metrics do not list a run of no type after each compaction."""
    write_teams(project)
    fork = "a3de2da22c7e216b0"
    stop = main_thread(project, "SubagentStop", SESSION_A, permission_mode="default", agent_id=fork, agent_type="",
                       stop_hook_active=False, last_assistant_message="<analysis>...</analysis>\n<summary>...</summary>",
                       agent_transcript_path=str(project / "cc" / SESSION_A / "subagents" / f"agent-{fork}.jsonl"),
                       background_tasks=[], session_crons=[])
    proc = run_hook("subagent_stop.py", stop, project)
    assert proc.returncode == 0 and hook_output(proc) == {}, proc.stderr
    with open_store(None, root=project) as store, store.snapshot() as tx:
        assert tx.get(f"agents.{fork}", None) is None and tx.items("agents") == {}


def test_a_completion_for_a_session_that_ended_reaches_the_next_one(project: Path) -> None:
    write_teams(project)
    seed_sprint3(project)
    run_captured("nested-delegation.jsonl", project, before="SessionEnd")
    prompt = {"prompt": "status?", "prompt_id": "p1"}
    other = run_hook("user_prompt.py", main_thread(project, "UserPromptSubmit", SESSION_B, **prompt), project)
    assert "orchestrate-sprint-3" not in context_of(other)
    ended = run_hook("session_end.py", main_thread(project, "SessionEnd", SESSION_A, reason="prompt_input_exit"),
                     project)
    assert ended.returncode == 0, ended.stderr
    later = context_of(run_hook("user_prompt.py", main_thread(project, "UserPromptSubmit", SESSION_B,
                                                              prompt="and now?", prompt_id="p2"), project))
    assert "task_completed" in later and "task orchestrate-sprint-3" in later


def test_a_completion_for_a_session_killed_outright_reaches_a_running_one_on_its_next_tool_call(
        project: Path, monkeypatch) -> None:
    monkeypatch.delenv("CLAUDE_PID", raising=False)  # only session A's own SessionStart names a process
    write_teams(project)
    seed_sprint3(project)
    claude = subprocess.Popen(["sleep", "60"])  # stands in for session A's Claude Code process
    try:
        started = run_hook("session_start.py", main_thread(project, "SessionStart", SESSION_A, source="startup"),
                           project, env={"CLAUDE_PID": str(claude.pid)})
        assert started.returncode == 0, started.stderr
        run_captured("nested-delegation.jsonl", project, before="SessionEnd")
        bash = {"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_b1"}
        alive = run_hook("pre_tool.py", main_thread(project, "PreToolUse", SESSION_B, **bash), project)
        assert "orchestrate-sprint-3" not in context_of(alive)
    finally:
        claude.kill()
        claude.wait()
    after = run_hook("pre_tool.py", main_thread(project, "PreToolUse", SESSION_B, **{**bash, "tool_use_id": "toolu_b2"}),
                     project)
    assert "task orchestrate-sprint-3" in context_of(after)


def test_events_record_every_transition_once(project: Path) -> None:
    write_teams(project)
    seed_sprint3(project)
    run_captured("nested-delegation.jsonl", project)
    with open_store(root=project) as store:
        events = [(e["type"], e["task_id"]) for e in store.events_after(0, limit=10_000)]
    task3 = [t for t, task in events if task == "task-3" and t.startswith("task_")]
    assert task3 == ["task_assigned", "task_started", "task_completed"]
    assert events.count(("session_ended", None)) == 1


def test_false_completion_is_pushed_back_then_sent_to_review(project: Path) -> None:
    """deny-and-context: the member's Write was denied, yet it claims completed."""
    write_teams(project)
    seed_sprint3(project)
    outputs = run_captured("deny-and-context.jsonl", project, denied_member=True)
    stops = [out for ev, out in outputs if ev["hook_event_name"] == "SubagentStop"]
    assert stops[0]["decision"] == "block"
    assert "no artifacts" in stops[0]["reason"] and "[task:task-3]" in stops[0]["reason"]
    assert stops[1] == {}  # the orchestration task is judged by its report alone
    state = digest(root=project)
    member = state["agents"]["aa5d274654fd1c24b"]
    assert member["pushbacks"] == 1 and member["status"] == "needs_review"
    task = state["tasks"]["task-3"]
    assert task["status"] == "needs_review" and "no artifacts" in task["review_reason"]
    assert task["artifacts"] == []


def test_foreground_capture_with_its_real_transcript(project: Path) -> None:
    """A real 2.1.328 foreground run: Write ok, Edit ok, a second Write denied by a hook; meta file present."""
    write_teams(project)
    seed(project, {"task-3": {"title": "Three"}})
    folder = FIXTURES / CAPTURE / "foreground-delegation"
    config = project / "cc-config"

    def placed(path: Path) -> str:
        return path.read_text().replace("{project}", str(project)).replace("{config}", str(config))

    events = [json.loads(line) for line in placed(folder / "hooks.jsonl").splitlines()]
    stop = next(e for e in events if e["hook_event_name"] == "SubagentStop")
    subagents = Path(stop["agent_transcript_path"]).parent
    subagents.mkdir(parents=True)
    for path in folder.glob("agent-*"):
        (subagents / path.name).write_text(placed(path))
    (project / "src").mkdir()
    (project / "src/a.txt").write_text("b\n")
    # drop the async Write/Edit hooks: the transcript alone must yield the artifact
    for event in [e for e in events if e.get("tool_name") not in ("Write", "Edit")]:
        proc = run_hook(script_for(event), event, project)
        assert proc.returncode == 0, proc.stderr
    state = digest(root=project)
    run = state["agents"]["addf7ffebcdf45bf0"]
    assert run["tool_use_id"] == "toolu_m1" and run["link"] == "definitive"
    assert run["artifacts"] == ["src/a.txt"] and run["status"] == "completed"
    assert state["tasks"]["task-3"]["status"] == "completed"


def test_the_brief_lists_artifacts_handed_to_the_task(project: Path) -> None:
    write_teams(project)
    seed(project, {"task-3": {"title": "OAuth2 flow", "assignee": "fullstack-eng"}})
    with open_store(root=project) as store, store.transaction() as tx:
        handoff(tx, sender="human", task="task-3", artifacts=["docs/oauth-notes.md"], note="provider quirks",
                org=load_teams(project))
    verdict = feed({"session_id": "s", "transcript_path": "t", "cwd": str(project), "hook_event_name": "PreToolUse",
                    "tool_name": "Agent", "tool_use_id": "toolu_1",
                    "tool_input": {"description": "OAuth", "prompt": "[task:task-3] go", "subagent_type": "fullstack-eng"}})
    assert isinstance(verdict, Rewrite)
    assert "Artifacts handed to this task:\n- docs/oauth-notes.md (from human" in verdict.tool_input["prompt"]
