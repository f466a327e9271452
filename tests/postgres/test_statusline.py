"""The status line with the state in PostgreSQL: it reads the server's state, and a server that does
not answer is reported before the next refresh overtakes the run (Claude Code cancels the older
one, which would leave the last good line up with nothing said)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from orchestra.store import open_store

from tests.observability.test_statusline import run_status_line, session_input

REFRESH_S = 5  # the refreshInterval the installer wires


def test_the_status_line_reads_the_servers_state(project: Path, pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.set("sprints.sprint-1", {"name": "S", "status": "active", "tasks": ["t"]})
        store.set("tasks.t", {"status": "in_progress", "sprint": "sprint-1", "estimate": 3})
    proc = run_status_line(project, json.dumps(session_input(project)), ORCHESTRA_STATE_URL=pg_url, NO_COLOR="1")
    assert proc.returncode == 0, proc.stderr
    assert "sprint-1" in proc.stdout and "unreadable" not in proc.stdout


def test_a_server_that_does_not_answer_is_reported_within_one_refresh(project: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"postgresql://orchestra:s3cret-pw@127.0.0.1:{silent.getsockname()[1]}/orchestra"
        started = time.monotonic()
        proc = run_status_line(project, json.dumps(session_input(project)), ORCHESTRA_STATE_URL=url, NO_COLOR="1")
        took = time.monotonic() - started
    assert proc.returncode == 0 and "state unreadable" in proc.stdout, proc.stdout + proc.stderr
    assert took < REFRESH_S - 1, took
