"""Two servers (two Claude Code sessions) and hook processes writing at once lose nothing, on the SQLite
and the JSON-file store.

Both servers send messages and report on one shared task while TaskCreated hooks link native tasks to
that same task record; every write must land, and the task's latest reports must be exactly the
last ones in the event log, whoever wrote in between.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from orchestra.lifecycle.views import REPORTS_KEPT
from orchestra.store import open_store

from tests.conftest import HOOKS

from .conftest import SESSION, add_task, make_project, member, server_env, spawn, state_url

PER_SERVER = 15
HOOK_RUNS = 8


def native_task_created(project: Path, url: str, n: int) -> subprocess.Popen:
    event = {"session_id": SESSION, "transcript_path": str(project / f"{SESSION}.jsonl"), "cwd": str(project),
             "hook_event_name": "TaskCreated", "task_id": f"native-{n}", "task_subject": f"[task:shared-1] native step {n}"}
    proc = subprocess.Popen(["uv", "run", "--quiet", "--script", str(HOOKS / "task_created.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=project,
                            env=server_env(project, url))
    proc.stdin.write(json.dumps(event).encode())
    proc.stdin.close()
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_two_servers_and_hooks_writing_at_once_lose_nothing(tmp_path: Path, backend: str):
    root = tmp_path / "proj ect"
    url = state_url(root, backend)
    project = make_project(root, url)
    with open_store(url) as store:
        add_task(store, "shared-1", status="in_progress")
    servers = [spawn(project, url), spawn(project, url)]
    try:
        def work(n: int) -> None:
            server, caller = servers[n], member(f"run-{n}", "fullstack-eng")
            for i in range(PER_SERVER):
                server.ok("send_message", to="tech-lead", text=f"{n}/{i}", caller=caller)
                server.ok("report_status", task_id="shared-1", summary=f"{n}/{i}", caller=caller)

        hooks = [native_task_created(project, url, n) for n in range(HOOK_RUNS)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(work, range(2)))
        for proc in hooks:
            assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-2000:]
    finally:
        for server in servers:
            server.close()

    expected = {f"{n}/{i}" for n in range(2) for i in range(PER_SERVER)}
    with open_store(url) as store:
        messages = store.get("communication.messages")
        task = store.get("tasks.shared-1")
        reported = [e["data"]["summary"] for e in store.events_after(0, limit=-1, types=("task_reported",))]
    assert sorted(m["payload"]["text"] for m in messages.values()) == sorted(expected)
    assert len({m["id"] for m in messages.values()}) == len(expected)
    assert sorted(reported) == sorted(expected)
    assert [r["summary"] for r in task["reports"]] == reported[-REPORTS_KEPT:]
    assert sorted(task["native_tasks"]) == sorted(f"native-{n}" for n in range(HOOK_RUNS))


def test_two_servers_settling_the_same_work_at_once_leave_one_winner(tmp_path: Path):
    """Two sessions complete one task, and answer one question, at the same moment: one call wins, the other is a
    tool error, and the store holds one status change and one answer, whichever came first."""
    project = make_project(tmp_path / "proj")
    url = state_url(project)
    lead, other_lead = member("run-lead-1", "tech-lead"), member("run-lead-2", "tech-lead")
    with open_store(url) as store:
        with store.transaction() as tx:
            tx.set("agents.run-lead-2", {"agent_type": "tech-lead", "status": "active", "session_id": SESSION})
        for n in range(3):
            add_task(store, f"race-{n}", status="in_progress", team="qa", assignee="qa-engineer")
    servers = [spawn(project), spawn(project)]
    try:
        question_ids = [servers[0].ok("ask", to="tech-lead", question=f"q{n}?", caller=member())["id"]
                        for n in range(3)]

        def settle(n: int) -> list:
            server, caller = servers[n], (lead, other_lead)[n]
            return [(server.call("update_task", task_id=f"race-{i}", status="completed", caller=caller),
                     server.call("answer", question_id=question_ids[i], answer=f"from {n}", caller=caller))
                    for i in range(3)]

        with ThreadPoolExecutor(max_workers=2) as pool:
            first, second = pool.map(settle, range(2))
    finally:
        for server in servers:
            server.close()
    with open_store(url) as store:
        moves = store.events_after(0, limit=-1, types=("task_status_set",))
        messages = store.get("communication.messages").values()
        for i in range(3):
            completed, answered = zip(first[i], second[i], strict=True)
            assert sorted(r.is_error for r in completed) == [False, True], completed
            assert sorted(r.is_error for r in answered) == [False, True], answered
            assert "is already completed; nothing was changed" in next(r for r in completed if r.is_error).content[0].text
            assert "already answered" in next(r for r in answered if r.is_error).content[0].text
            assert [e["data"]["to"] for e in moves if e["task_id"] == f"race-{i}"] == ["completed"]
            assert len([m for m in messages if m.get("reply_to") == question_ids[i]]) == 1
