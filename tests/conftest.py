"""Shared fixtures: temp projects, real hook-script runs, fixture payloads."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACK = REPO / ".claude" / "orchestra"
HOOKS = PACK / "hooks"
FIXTURES = REPO / "tests" / "fixtures"
# Hook scripts of this checkout run in their own processes in the tests, even while a test's MCP server
# (which starts a warm server for this checkout's package) is up. tests/warm runs hooks warm on their own
# installed copies, and the e2e sessions run them warm as users' sessions do.
os.environ["ORCHESTRA_WARM_HOOKS"] = "0"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repo used as CLAUDE_PROJECT_DIR; state lands in its .claude/state."""
    root = tmp_path / "proj ect"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    (root / ".claude").mkdir()
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(root))
    monkeypatch.delenv("ORCHESTRA_STATE_URL", raising=False)
    monkeypatch.delenv("ORCHESTRA_STATE_DIR", raising=False)
    from orchestra import paths

    paths.project_root.cache_clear()
    return root


def run_hook(script: str, payload: dict | bytes | str, project: Path, env: dict | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a real hook script the way Claude Code does: exec form through uv, JSON on stdin."""
    data = payload if isinstance(payload, bytes) else (
        payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
    full_env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project), **(env or {})}
    return subprocess.run(
        ["uv", "run", "--quiet", "--script", str(HOOKS / script)],
        input=data, capture_output=True, cwd=cwd or project, env=full_env, timeout=120,
    )


def hook_output(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def load_fixture(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line.strip()]
