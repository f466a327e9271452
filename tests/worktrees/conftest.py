"""A real git repository (path with a space, one commit) with teams.yaml and state, the real CLI, and
hook payloads shaped like the captured Claude Code 2.1.328 events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES

SESSION = "5e551011-0000-4000-8000-00000000wt01"
TEAMS = """\
teams:
  engineering:
    orchestrator: engineering-director
    members:
      - {name: fullstack-eng, role: team_member, capacity: 3}
      - {name: api-engineer, role: team_member, capacity: 3}
      - {name: tech-lead, role: reviewer, capacity: 2}
    settings: {worktree_strategy: task, max_parallel_agents: 8}
  product:
    orchestrator: product-director
    members:
      - {name: product-manager, role: team_member, capacity: 3}
    settings: {worktree_strategy: sprint, max_parallel_agents: 8}
  qa:
    orchestrator: qa-director
    members:
      - {name: qa-engineer, role: team_member, capacity: 3}
    settings: {worktree_strategy: team, max_parallel_agents: 8}
"""
GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                         env={**os.environ, **GIT_ENV}, timeout=60)
    assert out.returncode == 0, (args, out.stderr)
    return out.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture
def repo(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`project` (git repo, path with a space, CLAUDE_PROJECT_DIR) with a README commit and teams.yaml."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    (project / "README.md").write_text("# shop\n", encoding="utf-8")
    (project / ".claude" / "teams.yaml").write_text(TEAMS, encoding="utf-8")
    commit_all(project, "initial")
    return project


def seed(project: Path, **paths: Any) -> None:
    """Write `collection.id` -> record (tasks get the defaults a sprint start gives them)."""
    from orchestra.store import open_store

    with open_store(root=project) as store, store.transaction() as tx:
        for path, value in paths.items():
            if path.startswith("tasks.") and isinstance(value, dict):
                value = {"id": path.split(".", 1)[1], "status": "queued", "type": "implementation",
                         "team": "engineering", "assignee": "fullstack-eng", "dependencies": [], **value}
            tx.set(path, value)


def state(project: Path, path: str, default: Any = None) -> Any:
    from orchestra.store import open_store

    with open_store(root=project) as store:
        return store.get(path, default)


def events(project: Path, *types: str) -> list[dict[str, Any]]:
    from orchestra.store import open_store

    with open_store(root=project) as store:
        return store.events_after(0, limit=100000, types=types)


def cli(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real `orchestra` command, run from the project as a user would."""
    return subprocess.run([sys.executable, "-c", "from orchestra.cli import run; run()", *args], cwd=project,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CLAUDE_PROJECT_DIR": str(project), **(env or {})})


def cli_json(project: Path, *args: str) -> Any:
    proc = cli(project, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# -- hook payloads in the captured 2.1.328 shape ---------------------------------------------------------

def _captured(event_name: str, tool_name: str | None = None) -> dict[str, Any]:
    for line in (FIXTURES / "claude-code-2.1.328" / "nested-delegation.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["hook_event_name"] == event_name and event.get("tool_name") == tool_name:
            return event
    raise KeyError(event_name)


def payload(project: Path, event_name: str, like: str | None = None, *, agent: tuple[str, str] | None = None,
            session: str = SESSION, **fields: Any) -> dict[str, Any]:
    """A captured event (of tool `like`) re-aimed at `project`: its session, caller (agent_id, agent_type)
    and fields."""
    event = {k: v for k, v in _captured(event_name, like).items()
             if k not in ("agent_id", "agent_type", "tool_response", "last_assistant_message")}
    event.update(session_id=session, cwd=str(project), transcript_path=str(project / "cc" / f"{session}.jsonl"))
    if agent:
        event.update(agent_id=agent[0], agent_type=agent[1])
    event.update(fields)
    return event


def delegation(project: Path, use: str, agent_type: str, task_id: str, **fields: Any) -> dict[str, Any]:
    return payload(project, "PreToolUse", "Agent", tool_use_id=use,
                   tool_input={"description": f"work on {task_id}", "prompt": f"[task:{task_id}] Do the work.",
                               "subagent_type": agent_type}, **fields)


def launched(project: Path, use: str, agent_id: str, agent_type: str, task_id: str) -> dict[str, Any]:
    return payload(project, "PostToolUse", "Agent", tool_use_id=use,
                   tool_input={"description": f"work on {task_id}", "prompt": f"[task:{task_id}] Do the work.",
                               "subagent_type": agent_type},
                   tool_response={"isAsync": True, "status": "async_launched", "agentId": agent_id})


def started(project: Path, agent_id: str, agent_type: str) -> dict[str, Any]:
    return payload(project, "SubagentStart", agent=(agent_id, agent_type))


def tool_call(project: Path, agent: tuple[str, str] | None, tool: str, tool_input: dict[str, Any],
              cwd: Path | None = None) -> dict[str, Any]:
    event = payload(project, "PreToolUse", "Write", agent=agent, tool_name=tool, tool_input=tool_input,
                    tool_use_id=f"toolu_{tool}_{abs(hash(json.dumps(tool_input))) % 10**6}")
    if cwd is not None:
        event["cwd"] = str(cwd)
    return event


def stopped(project: Path, agent_id: str, agent_type: str, message: str) -> dict[str, Any]:
    transcript = project / "cc" / "subagents" / f"agent-{agent_id}.jsonl"
    transcript.parent.mkdir(parents=True, exist_ok=True)
    transcript.write_text("", encoding="utf-8")
    return payload(project, "SubagentStop", agent=(agent_id, agent_type), stop_hook_active=False,
                   agent_transcript_path=str(transcript), last_assistant_message=message)
