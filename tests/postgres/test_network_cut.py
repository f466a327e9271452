"""A server that stops answering in the middle of a hook (a network cut, a frozen host): the hook
must give up on it well inside its own timeout, not wait on TCP for many minutes until Claude Code
kills it (a killed PreToolUse guard lets the call through). The cut is real: the whole scene runs in
a network namespace of its own (netcut.py) whose loopback is taken down under the waiting hook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

from .server import bindir


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(bindir() is None, reason="PostgreSQL is not installed")
def test_a_guard_hook_gives_up_on_a_server_that_stopped_answering(tmp_path: Path) -> None:
    if not _namespaces_work():
        pytest.skip("no network namespaces here (unshare -n and ip are needed)")
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("ORCHESTRA_STATE_URL", "CLAUDE_PROJECT_DIR")}
    proc = subprocess.run(["unshare", "-n", sys.executable, "-m", "tests.postgres.netcut", str(project)],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 2, result  # the guard failed closed, with its reason
    assert result["after_cut_s"] < 10, result  # the guards' shortest timeout is 10 s (pre_tool, pre_mcp)
    assert "blocked because the guard failed" in result["stderr"]
    assert "connection to PostgreSQL lost" in result["stderr"] and "timed out" in result["stderr"]
    audit = (project / ".claude/state/audit.jsonl").read_text().splitlines()
    assert json.loads(audit[-1])["decision"] == "error"  # the audit line landed in the local chain
