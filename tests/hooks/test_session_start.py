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
