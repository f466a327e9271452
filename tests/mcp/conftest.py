"""Real orchestra MCP servers for the tests: `uv run orchestra mcp` spawned over stdio and driven with the
official MCP client, against a temp project holding the pack's teams.yaml and sprint-3 started in state."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from tests.conftest import REPO

MEMBER_RUN = "run-eng-1"  # a fullstack-eng run
LEAD_RUN = "run-lead-1"  # a tech-lead run (role reviewer)
SESSION = "session-mcp-tests"


def member(agent_id: str = MEMBER_RUN, agent_type: str = "fullstack-eng") -> dict[str, Any]:
    """The caller stamp the PreToolUse hook writes for a subagent's call."""
    return {"id": f"agent:{agent_id}", "agent_type": agent_type, "session_id": SESSION}


MAIN = {"id": "main", "agent_type": None, "session_id": SESSION}


def server_env(project: Path, url: str | None = None) -> dict[str, str]:
    """The environment Claude Code gives the server (and hooks): the project, and the state URL when not the default."""
    env = {k: v for k, v in os.environ.items() if k not in ("ORCHESTRA_STATE_URL", "ORCHESTRA_STATE_DIR")}
    return {**env, "CLAUDE_PROJECT_DIR": str(project), **({"ORCHESTRA_STATE_URL": url} if url else {})}


@asynccontextmanager
async def client(params: StdioServerParameters) -> AsyncIterator[ClientSession]:
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


class Server:
    """One running server and its client session, called synchronously from tests."""

    def __init__(self, params: StdioServerParameters) -> None:
        self._portal_cm = start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._session_cm = self.portal.wrap_async_context_manager(client(params))
        try:
            self.session = self._session_cm.__enter__()
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            raise

    def tools(self) -> list:
        return self.portal.call(self.session.list_tools).tools

    def call(self, tool: str, **arguments: Any) -> CallToolResult:
        return self.portal.call(self.session.call_tool, tool, arguments)

    def ok(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """The structured result of a call that must succeed."""
        result = self.call(tool, **arguments)
        assert not result.is_error, f"{tool}: {text(result)}"
        assert json.loads(text(result)) == result.structured_content  # what the model reads is the same data
        return result.structured_content

    def error(self, tool: str, **arguments: Any) -> str:
        """The message of a call that must fail as a tool error (isError), not as a protocol error."""
        result = self.call(tool, **arguments)
        assert result.is_error, f"{tool} should have failed: {text(result)[:500]}"
        return text(result)

    def close(self) -> None:
        try:
            self._session_cm.__exit__(None, None, None)
        finally:
            self._portal_cm.__exit__(None, None, None)


def text(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if getattr(block, "type", None) == "text")


def spawn(project: Path, url: str | None = None) -> Server:
    """`uv run orchestra mcp`, as a developer of this repo starts it, serving `project`."""
    return Server(StdioServerParameters(command="uv", args=["run", "--quiet", "orchestra", "mcp"], cwd=str(REPO),
                                        env=server_env(project, url)))


def make_project(root: Path, url: str | None = None) -> Path:
    """A git repo (one commit) with the pack's teams.yaml and sprint-3 started (its tasks queued in state) and
    two agent runs."""
    import subprocess

    from orchestra import paths, workflow
    from orchestra.store import open_store

    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    (root / ".claude" / "sprints").mkdir(parents=True)
    shutil.copy(REPO / ".claude/teams.yaml", root / ".claude/teams.yaml")
    shutil.copy(REPO / ".claude/sprints/sprint-3.yaml", root / ".claude/sprints/sprint-3.yaml")
    git = ["git", "-C", str(root), "-c", "user.name=MCP tests", "-c", "user.email=mcp@example.invalid"]
    subprocess.run([*git, "add", ".claude"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "pack"], check=True)  # worktrees branch from a commit
    paths.ensure_state_dir(root)
    with open_store(url or state_url(root)) as store:
        workflow.start_sprint(store, "sprint-3", root)
        with store.transaction() as tx:
            tx.set(f"agents.{MEMBER_RUN}", {"agent_type": "fullstack-eng", "status": "active", "session_id": SESSION})
            tx.set(f"agents.{LEAD_RUN}", {"agent_type": "tech-lead", "status": "active", "session_id": SESSION})
    return root


def state_url(root: Path, backend: str = "sqlite") -> str:
    """The project's default SQLite store, or its JSON-file store (`backend="json"`)."""
    name = "orchestration.db" if backend == "sqlite" else "state.json"
    return f"{backend}:///{root / '.claude' / 'state' / name}"


@pytest.fixture(scope="module")
def mcp_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("mcp") / "proj ect")


@pytest.fixture(scope="module")
def server(mcp_project: Path) -> Iterator[Server]:
    running = spawn(mcp_project)
    yield running
    running.close()


@pytest.fixture(scope="module")
def store(mcp_project: Path):
    from orchestra.store import open_store

    with open_store(state_url(mcp_project)) as opened:
        yield opened


def add_task(store, task_id: str, **fields: Any) -> dict[str, Any]:
    """A task outside any sprint, as the lifecycle stores one (tests give each its own id)."""
    record = {"id": task_id, "title": f"Task {task_id}", "status": "queued", "type": "implementation",
              "sprint": None, "team": "engineering", "assignee": "fullstack-eng", "priority": "normal",
              "dependencies": [], "artifacts": [], "acceptance": {}, **fields}
    with store.transaction() as tx:
        tx.set(f"tasks.{task_id}", record)
    return record


def everything(store) -> dict[str, Any]:
    """The whole document, events included: equal before and after a refused call means nothing was written."""
    return store.export()


def refused(server: Server, store, tool: str, **arguments: Any) -> str:
    """The error text of a refused call, after checking that it changed nothing."""
    before = everything(store)
    message = server.error(tool, **arguments)
    assert everything(store) == before, f"{tool} wrote something although it failed: {message}"
    return message
