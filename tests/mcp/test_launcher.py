"""`bin/orchestra-mcp`, the command `.mcp.json` gives Claude Code: the server runs as the very process Claude
Code started (no `uv run` in between, which would hold a SIGINT back 200 ms), and ends on the first signal
Claude Code sends it at the end of a session, SIGINT, taking its warm server with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from orchestra.installer.source import mcp_server_entry
from orchestra.mcp_server.memo import memo_key
from orchestra.warm import client

from tests.conftest import PACK
from tests.mcp.conftest import make_project, server_env
from tests.mcp.test_front import Session, memo_path, opening

pytestmark = pytest.mark.skipif(not Path("/proc/self/exe").exists() or sys.platform == "win32",
                                reason="reads /proc to see which program a process runs")

WAIT_S = 30


class Launched(Session):
    """The server started exactly as `.mcp.json` says, with warm hooks on as in a user's session."""

    def __init__(self, installed: Path, project: Path) -> None:
        entry = mcp_server_entry(str(installed.parents[1]))
        env = {**server_env(project), client.DISABLE_ENV: "1"}
        self.proc = subprocess.Popen([entry["command"], *entry["args"]], cwd=project, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def gone(pid: int) -> bool:
    """No longer running (a zombie its parent has not reaped yet counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def interpreter(installed: Path, project: Path) -> str:
    out = subprocess.run(["uv", "run", "--quiet", "--script", str(installed / "bin" / "orchestra"), "--interpreter"],
                         cwd=project, capture_output=True, text=True, check=True, env=server_env(project))
    return out.stdout.strip()


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    """A copy of the pack in a repo's `.claude/`, where the `.mcp.json` entry looks; its memo is its own."""
    target = tmp_path / "repo" / ".claude" / "orchestra"
    shutil.copytree(PACK, target, ignore=shutil.ignore_patterns("state", "__pycache__", "*.pyc"))
    yield target
    memo_path(target).unlink(missing_ok=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj ect")


def test_the_server_is_the_process_claude_code_starts(installed: Path, project: Path) -> None:
    session = Launched(installed, project)
    answers = session.ask(*opening()[:1])
    assert "result" in answers[0], answers

    runs = os.path.realpath(f"/proc/{session.proc.pid}/exe")
    assert runs == os.path.realpath(interpreter(installed, project)), "uv or sh stands between Claude Code and the server"
    argv = Path(f"/proc/{session.proc.pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    assert argv[-2:] == [str(installed / "bin" / "orchestra"), "mcp"]
    code, _ = session.end()
    assert code == 0


@pytest.mark.parametrize("answered_by", ["the SDK server", "the front"])
@pytest.mark.parametrize("ending", [signal.SIGINT, signal.SIGTERM])
def test_it_ends_at_claude_codes_first_signal_and_its_warm_server_with_it(
        installed: Path, project: Path, ending: signal.Signals, answered_by: str) -> None:
    if answered_by == "the front":  # an earlier session leaves the memo the front answers from
        earlier = Launched(installed, project)
        earlier.ask(*opening())
        assert earlier.end()[0] == 0
    session = Launched(installed, project)
    session.ask(*opening())
    deadline = time.monotonic() + WAIT_S
    while not (warm := children(session.proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert warm, "the MCP server started no warm server"

    session.proc.send_signal(ending)

    assert session.proc.wait(timeout=WAIT_S) == 0, session.stderr()
    deadline = time.monotonic() + WAIT_S
    while not all(gone(pid) for pid in warm) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(gone(pid) for pid in warm), "the warm server outlived its MCP server"


def test_an_answer_the_client_has_is_in_the_memo_however_soon_the_server_is_ended(
        installed: Path, project: Path) -> None:
    session = Launched(installed, project)
    session.ask(*opening())  # the first session: the SDK server answers, the front records
    session.proc.kill()  # at once, and harder than Claude Code does
    session.proc.wait(timeout=WAIT_S)

    recorded = json.loads(memo_path(installed).read_bytes())["answers"]
    assert set(recorded) == {memo_key(request) for request in opening()}
