import os
from pathlib import Path

from tests.conftest import hook_output, load_fixture, run_hook


def session_start_payload(project: Path) -> dict:
    event = load_fixture("claude-code-2.1.328/nested-delegation.jsonl")[0]
    return {**event, "cwd": str(project)}


def test_session_start_creates_state_and_audits(project: Path) -> None:
    proc = run_hook("session_start.py", session_start_payload(project), project)
    assert proc.returncode == 0, proc.stderr
    assert (project / ".claude/state/orchestration.db").exists()
    assert (project / ".claude/state/.gitignore").read_text() == "*\n"
    audit = (project / ".claude/state/audit.jsonl").read_text().splitlines()
    assert len(audit) == 1 and '"event":"SessionStart"' in audit[0]


def test_session_start_briefs_active_sprint(project: Path) -> None:
    from orchestra.store import open_store

    with open_store() as store, store.transaction() as tx:
        tx.set("sprints.sprint-3", {"name": "Payments", "status": "active"})
        tx.set("tasks.task-oauth", {"sprint": "sprint-3", "status": "in_progress"})
        tx.set("tasks.task-2fa", {"sprint": "sprint-3", "status": "queued"})
    proc = run_hook("session_start.py", session_start_payload(project), project)
    context = hook_output(proc)["hookSpecificOutput"]["additionalContext"]
    assert "sprint-3 (active): 1 in_progress, 1 queued" in context


def test_session_start_ends_the_sessions_whose_claude_process_is_gone(project: Path) -> None:
    """A session killed outright ran no SessionEnd: the next SessionStart ends it, and only such a one."""
    import subprocess
    import sys

    from orchestra.store import open_store

    from tests.hooks.test_delegation import write_teams
    from tests.hooks.test_gates import delegate_and_start

    write_teams(project)
    with open_store() as store, store.transaction() as tx:
        tx.set("tasks.t1", {"title": "one", "status": "queued", "type": "implementation"})
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t1")  # in session 5e551011-...
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    first = {"hook_event_name": "SessionStart", "source": "startup", "cwd": str(project)}
    gates_session = "5e551011-0000-4000-8000-000000000001"
    assert run_hook("session_start.py", {**first, "session_id": gates_session}, project,
                    env={"CLAUDE_PID": str(killed.pid)}).returncode == 0
    with open_store() as store, store.transaction() as tx:  # a session of another machine: never judged
        tx.set("sessions.elsewhere", {"id": "elsewhere", "pid": killed.pid, "host": "another-host"})
    with open_store() as store:
        assert store.get("agents.agent-1.status") == "active"

    alive = run_hook("session_start.py", {**first, "session_id": "next-session"}, project,
                     env={"CLAUDE_PID": str(os.getpid())})

    assert alive.returncode == 0, alive.stderr
    with open_store() as store:
        assert store.get(f"sessions.{gates_session}.end_reason") == "process_gone"
        assert store.get("agents.agent-1.status") == "stopped" and store.get("tasks.t1.status") == "blocked"
        assert not store.get("sessions.elsewhere").get("ended_at")
        assert not store.get("sessions.next-session").get("ended_at")
        assert store.get("sessions.next-session.pid") == os.getpid()


def test_resuming_a_session_killed_outright_stops_its_old_runs_and_opens_it_again(project: Path) -> None:
    import subprocess
    import sys

    from orchestra.store import open_store

    from tests.hooks.test_delegation import write_teams
    from tests.hooks.test_gates import delegate_and_start

    write_teams(project)
    with open_store() as store, store.transaction() as tx:
        tx.set("tasks.t1", {"title": "one", "status": "queued", "type": "implementation"})
    session = {"hook_event_name": "SessionStart", "cwd": str(project),
               "session_id": "5e551011-0000-4000-8000-000000000001"}
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    assert run_hook("session_start.py", {**session, "source": "startup"}, project,
                    env={"CLAUDE_PID": str(killed.pid)}).returncode == 0
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t1")

    resumed = run_hook("session_start.py", {**session, "source": "resume"}, project, env={"CLAUDE_PID": str(os.getpid())})

    assert resumed.returncode == 0, resumed.stderr
    with open_store() as store:
        assert store.get("agents.agent-1.status") == "stopped" and store.get("tasks.t1.status") == "blocked"
        record = store.get(f"sessions.{session['session_id']}")
        types = [e["type"] for e in store.events_after(0, limit=1000) if e["type"].startswith("session_")]
    assert not record["ended_at"] and record["pid"] == os.getpid()
    assert types == ["session_ended", "session_resumed"]


def compacted(project: Path, agent_id: str, agent_type: str) -> dict:
    """The SessionStart Claude Code 2.1.328 sends after it auto-compacts a subagent's context (captured from the real
    CLI): the main session's id and transcript, the run's agent_id and agent_type, `source` "compact", the model."""
    from tests.hooks.test_gates import SESSION, base

    return {**base(project), "prompt_id": "0a9d39dc-ad42-4f37-90ed-d0fca6a390e3", "agent_id": agent_id,
            "agent_type": agent_type, "hook_event_name": "SessionStart", "source": "compact",
            "model": "claude-sonnet-4-5", "transcript_path": str(project / "cc" / f"{SESSION}.jsonl")}


def compacted_run(project: Path, spec: str = "Rows go to SQLite.") -> str:
    """A delegated, started api-engineer run agent-1 on task t1, whose worktree has since moved and whose task a
    review sent back; the path of the worktree it holds now."""
    from orchestra import bus
    from orchestra.store import open_store
    from orchestra.teams import load

    from tests.hooks.test_delegation import seed, write_teams
    from tests.hooks.test_gates import delegate_and_start

    write_teams(project)
    seed(project, {"t1": {"title": "Build the store", "spec": spec,
                          "acceptance": {"criteria": ["stores rows"], "command": "pytest -q tests/store"}}})
    with open_store() as store, store.transaction() as tx:
        bus.send(tx, org=load(project), sender="main", type="state_updated", to="api-engineer",
                 payload={"text": "use the v2 schema"})
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t1")  # SubagentStart shows the message
    now = str(project / ".worktrees" / "t1-moved")
    with open_store() as store, store.transaction() as tx:
        tx.set("agents.agent-1.worktree", now)
        tx.set("tasks.t1.review", {"verdict": "changes_requested", "by": "main", "findings": ["empty rows fail"]})
    return now


def test_a_subagent_whose_context_is_compacted_is_given_its_brief_again(project: Path) -> None:
    """Compaction drops the prompt that carried the task's brief: the SessionStart after it gives the run who it
    is, its task's brief from the state now (its worktree now, the findings that sent it back) with the
    completion protocol, then its own open messages again."""
    from orchestra.store import open_store

    worktree = compacted_run(project)

    proc = run_hook("session_start.py", compacted(project, "agent-1", "api-engineer"), project)

    assert proc.returncode == 0, proc.stderr
    context = hook_output(proc)["hookSpecificOutput"]["additionalContext"]
    with open_store() as store:
        status = store.get("tasks.t1.status")
    assert context.startswith("Orchestra: you are agent run agent-1 (api-engineer, team engineering, role team_member)")
    assert f"here again is the brief of your task [task:t1] (its status now: {status})" in context
    assert "[task:t1] Build the store (implementation" in context and "Spec: Rows go to SQLite." in context
    assert "- stores rows" in context and "`pytest -q tests/store`" in context
    assert f"Worktree: {worktree} (work and commit only inside it)" in context
    assert "Review: changes_requested by the main thread; address these findings:\n- empty rows fail" in context
    assert "STATUS: completed | blocked | needs_review" in context and "BLOCKER:" in context
    assert "your brief is in your prompt" not in context and "Orchestra sprints:" not in context
    assert context.index("STATUS:") < context.index("use the v2 schema")
    assert "1 shown before and still open" in context


def test_a_long_brief_after_compaction_is_cut_so_every_message_shown_fits(project: Path) -> None:
    """The messages in the context are recorded as shown: a long brief gives way (its middle is cut, its
    completion protocol stays) so they all fit within what Claude Code takes from one hook."""
    from orchestra import bus
    from orchestra.store import open_store
    from orchestra.teams import load

    compacted_run(project, spec="S" * 20_000)
    with open_store() as store, store.transaction() as tx:
        sent = [bus.send(tx, org=load(project), sender="main", type="state_updated", to="agent:agent-1",
                         payload={"text": f"NOTE-{i} " + "x" * 1100})["id"] for i in range(4)]

    proc = run_hook("session_start.py", compacted(project, "agent-1", "api-engineer"), project)

    assert proc.returncode == 0, proc.stderr
    context = hook_output(proc)["hookSpecificOutput"]["additionalContext"]
    assert len(context) <= 10_000 and "more characters cut by Orchestra" not in context
    assert "[... brief cut; `orchestra task show t1` or the get_task tool shows the task whole]" in context
    assert "Orchestra checks a completed claim against your artifacts" in context  # the protocol's last line
    assert all(f"NOTE-{i} " in context for i in range(4)) and "use the v2 schema" in context
    with open_store() as store:
        assert all(store.get(f"communication.messages.{m}.delivered").get("agent-1") for m in sent)


def test_a_compacted_subagent_orchestra_does_not_track_is_shown_only_its_messages(project: Path) -> None:
    """No run in state (its SubagentStart never ran): no brief is made up, and no run is recorded."""
    from orchestra.store import open_store

    proc = run_hook("session_start.py", compacted(project, "agent-9", "api-engineer"), project)

    assert proc.returncode == 0, proc.stderr
    assert "hookSpecificOutput" not in hook_output(proc)
    with open_store() as store:
        assert store.get("agents.agent-9", None) is None


def two_runs_of_one_type(project: Path) -> None:
    """Two fullstack-eng delegations (t1, t2) in one session, both started, neither launch reported yet:
    SubagentStart could only guess which run is which (agent-1 took t1's delegation, agent-2 t2's)."""
    from tests.hooks.test_delegation import feed, seed, write_teams
    from tests.hooks.test_gates import pre, start

    write_teams(project)
    seed(project, {"t1": {"title": "Build the store"}, "t2": {"title": "Build the API"}})
    for use, task_id in (("toolu_1", "t1"), ("toolu_2", "t2")):
        feed(pre(project, use, "fullstack-eng", f"[task:{task_id}] do it"))
    for agent_id in ("agent-1", "agent-2"):
        feed(start(project, agent_id, "fullstack-eng"))


def test_after_compaction_a_run_whose_link_was_a_guess_is_briefed_on_the_task_it_was_launched_for(
        project: Path) -> None:
    """The meta file beside the run's transcript names the Agent call that launched it: that link replaces the
    guess (the runs swap tasks), and the brief is the run's own task's."""
    import json

    from orchestra.store import open_store

    from tests.hooks.test_gates import SESSION

    two_runs_of_one_type(project)
    meta = project / "cc" / SESSION / "subagents" / "agent-agent-2.meta.json"  # agent-<agent_id>
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"agentType": "fullstack-eng", "toolUseId": "toolu_1"}))

    proc = run_hook("session_start.py", compacted(project, "agent-2", "fullstack-eng"), project)

    assert proc.returncode == 0, proc.stderr
    context = hook_output(proc)["hookSpecificOutput"]["additionalContext"]
    assert "the brief of your task [task:t1]" in context and "[task:t1] Build the store" in context
    assert "t2" not in context and "STATUS: completed | blocked | needs_review" in context
    with open_store() as store:
        assert store.get("agents.agent-2.task") == "t1" and store.get("agents.agent-2.link") == "definitive"
        assert store.get("agents.agent-1.task") == "t2"


def test_after_compaction_a_run_whose_task_is_not_known_for_sure_is_still_told_how_to_report(project: Path) -> None:
    """No meta file: no task is named (it could be the other run's), but the completion protocol is given, and
    the run is not sent to a prompt its context no longer holds."""
    two_runs_of_one_type(project)

    proc = run_hook("session_start.py", compacted(project, "agent-2", "fullstack-eng"), project)

    assert proc.returncode == 0, proc.stderr
    context = hook_output(proc)["hookSpecificOutput"]["additionalContext"]
    assert "your task is the one tagged [task:<id>] in the prompt you were given" in context
    assert "[task:t1]" not in context and "[task:t2]" not in context
    assert "STATUS: completed | blocked | needs_review" in context and "in your prompt;" not in context


def test_a_compacted_subagent_is_given_its_brief_and_messages_with_a_broken_teams_file(project: Path) -> None:
    """A broken teams.yaml does not cost a compacted run its brief and its messages: both come as without teams,
    and the file's error (file:line) is shown to the user."""
    compacted_run(project)
    (project / ".claude" / "teams.yaml").write_text("teams:\n  engineering: [unclosed\n", encoding="utf-8")

    proc = run_hook("session_start.py", compacted(project, "agent-1", "api-engineer"), project)

    assert proc.returncode == 0, proc.stderr
    out = hook_output(proc)
    context = out["hookSpecificOutput"]["additionalContext"]
    assert "here again is the brief of your task [task:t1]" in context and "Spec: Rows go to SQLite." in context
    assert "STATUS: completed | blocked | needs_review" in context and "use the v2 schema" in context
    assert "teams.yaml:3: not valid YAML" in out["systemMessage"]


def test_a_broken_policy_file_is_named_at_session_start_with_what_it_blocks(project: Path) -> None:
    """A policy.yaml the guards cannot read blocks every tool call; the session started without a word about
    it (a broken teams.yaml was named). Now its file:line and that only a fix by hand unblocks are shown."""
    (project / ".claude" / "policy.yaml").write_text("protected_paths:\n  - [unclosed\n", encoding="utf-8")
    proc = run_hook("session_start.py", session_start_payload(project), project)
    assert proc.returncode == 0, proc.stderr
    alert = hook_output(proc)["systemMessage"]
    assert f"{project / '.claude' / 'policy.yaml'}:3: not valid YAML" in alert
    assert "Every tool call stays blocked until" in alert and "edit it by hand" in alert
    (project / ".claude" / "policy.yaml").write_text("protected_paths: [secrets/]\n", encoding="utf-8")
    proc = run_hook("session_start.py", session_start_payload(project), project)
    assert "systemMessage" not in hook_output(proc)
