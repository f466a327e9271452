"""Run inside a network namespace of its own (`unshare -n`, see test_network_cut.py): a server on
that namespace's loopback, a guard hook waiting for the writer lock, then the loopback taken down
under it, as a network cut or a frozen host would leave it. Prints what the hook did as JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from tests.conftest import HOOKS
from tests.hooks.test_delegation import seed, write_teams
from tests.hooks.test_gates import pre

from .server import Server, bindir


def _lock_waiters(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type='Lock'").fetchone()[0]


def main(project: Path) -> dict:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    server = Server(bindir())
    server.start()
    try:
        url = server.fresh_url()
        write_teams(project)
        seed(project, {"t": {"title": "T"}}, url=url)
        holder = psycopg.connect(url)  # another machine's long write: its transaction holds the table
        holder.execute("LOCK TABLE entities IN ACCESS EXCLUSIVE MODE")
        env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project), "ORCHESTRA_STATE_URL": url, "UV_OFFLINE": "1"}
        event = project / "event.json"
        event.write_text(json.dumps(pre(project, "toolu_1", "fullstack-eng", "[task:t] go")))
        with event.open("rb") as stdin:
            hook = subprocess.Popen(["uv", "run", "--quiet", "--script", str(HOOKS / "pre_agent.py")],
                                    stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                    start_new_session=True)
        deadline = time.monotonic() + 60
        while not _lock_waiters(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        subprocess.run(["ip", "link", "set", "lo", "down"], check=True)
        cut = time.monotonic()
        try:
            out, err = hook.communicate(timeout=30)
            code = hook.returncode
        except subprocess.TimeoutExpired:
            os.killpg(hook.pid, signal.SIGKILL)  # uv and the hook's Python under it, as Claude Code would
            out, err = hook.communicate()
            code = None
        took = time.monotonic() - cut
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    finally:
        server.stop()
    return {"code": code, "after_cut_s": took, "stdout": out.decode(), "stderr": err.decode()}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
