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
