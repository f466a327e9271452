"""What the orchestra MCP server costs: start-up, and one tool call through the official client over stdio.

    uv run python tests/bench/bench_mcp.py [--calls 50] [--starts 3]

1. Start-up: spawn the .mcp.json command (`sh .claude/orchestra/bin/orchestra-mcp`) until `initialize`
   has answered (the official client: the SDK server answers); and until the opening requests Claude
   Code 2.1.328 sends have all been answered, from the memo the first session leaves (the front) and
   with the memo removed (the SDK server); then the end, as Claude Code ends it: SIGINT until the
   process has exited; medians of --starts.
2. One call each of get_state (overview), list_tasks (a started sprint), send_message and report_status
   (each its own transaction, validated against the state schema), median of --calls.
Exits 1 when a write call's median is over BUDGET_MS.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mcp import StdioServerParameters  # noqa: E402
from orchestra.installer.source import mcp_server_entry  # noqa: E402
from orchestra.store import open_store  # noqa: E402

from tests.conftest import REPO  # noqa: E402
from tests.mcp.conftest import Server, add_task, make_project, member, server_env, state_url  # noqa: E402
from tests.mcp.test_front import memo_path, opening  # noqa: E402
from tests.mcp.test_launcher import Launched  # noqa: E402

BUDGET_MS = 100.0
BIN = REPO / ".claude" / "orchestra" / "bin" / "orchestra"


def start(project: Path) -> tuple[Server, float]:
    began = time.perf_counter()
    entry = mcp_server_entry(str(REPO))
    server = Server(StdioServerParameters(command=entry["command"], args=entry["args"], cwd=str(project),
                                          env=server_env(project)))
    return server, (time.perf_counter() - began) * 1000


def opened(project: Path, memo: bool) -> tuple[float, float]:
    """Milliseconds from spawning the server until Claude Code's opening requests are all answered; and
    from the SIGINT Claude Code ends a session with until the process has exited."""
    if not memo:
        memo_path(BIN.parents[1]).unlink(missing_ok=True)
    began = time.perf_counter()
    session = Launched(BIN.parents[1], project)
    session.ask(*opening())
    ms = (time.perf_counter() - began) * 1000
    began = time.perf_counter()
    session.proc.send_signal(signal.SIGINT)
    session.proc.wait()
    return ms, (time.perf_counter() - began) * 1000


def timed(server: Server, calls: int, tool: str, **arguments) -> float:
    samples = []
    for _ in range(calls):
        began = time.perf_counter()
        server.ok(tool, **arguments)
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "proj ect")
        with open_store(state_url(project)) as store:
            add_task(store, "bench-1", status="in_progress")
        starts = []
        for _ in range(args.starts):
            server, ms = start(project)
            starts.append(ms)
            server.close()
        openings = {memo: [opened(project, memo) for _ in range(args.starts)] for memo in (False, True)}
        server, _ = start(project)
        try:
            medians = {
                "get_state": timed(server, args.calls, "get_state"),
                "list_tasks": timed(server, args.calls, "list_tasks", sprint="sprint-3"),
                "send_message": timed(server, args.calls, "send_message", to="tech-lead", text="bench",
                                      caller=member()),
                "report_status": timed(server, args.calls, "report_status", task_id="bench-1", progress=50,
                                       caller=member()),
            }
        finally:
            server.close()
    print(f"start-up to initialize: {statistics.median(starts):.0f} ms (median of {args.starts})")
    answered = {memo: statistics.median(ms for ms, _ in runs) for memo, runs in openings.items()}
    ended = statistics.median(end for runs in openings.values() for _, end in runs)
    print(f"start-up to Claude Code's opening answered: {answered[True]:.0f} ms from the memo, "
          f"{answered[False]:.0f} ms by the SDK server (medians of {args.starts})")
    print(f"end: {ended:.1f} ms from SIGINT until the process has exited (median of {2 * args.starts})")
    for tool, ms in medians.items():
        print(f"{tool}: {ms:.1f} ms per call (median of {args.calls})")
    worst = max(medians["send_message"], medians["report_status"])
    if worst > BUDGET_MS:
        print(f"over budget: a write call takes {worst:.1f} ms (budget {BUDGET_MS:g} ms)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
