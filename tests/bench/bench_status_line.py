"""What the status line costs each time Claude Code runs it (after every assistant message).

    uv run python tests/bench/bench_status_line.py [--runs 30] [--inproc-runs 200]

On a project with sprint-3 started, runs at work and a coverage report:
1. the work alone, in-process (`statusline.line`: open the store, read, render);
2. a bare Python interpreter start (`python -c pass`), the floor of any process;
3. the script under plain Python (`python status_line.py`): interpreter + imports + work, i.e. the
   Python-level cost the budget is about;
4. the script as settings.json runs it (`uv run --quiet --script status_line.py`);
5. a no-op uv script with the same dependency block, to separate uv's own start-up from ours;
6. (4) while the warm server `orchestra mcp` starts is up (orchestra.warm), as in a session.
Exits 1 when the median of (3) is over BUDGET_MS. (4) - (3) is uv's overhead, reported, not budgeted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hookrun import start_warm_server  # noqa: E402
from orchestra import paths  # noqa: E402
from orchestra.metrics.statusline import line  # noqa: E402
from orchestra.store import open_store  # noqa: E402

from tests.conftest import PACK  # noqa: E402
from tests.observability.harness import report_made_while_running, sample_project, started_sprint  # noqa: E402

BUDGET_MS = 50.0
SCRIPT = PACK / "status_line.py"
NOOP = """#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = {{ path = "{pack}", editable = true }}
# ///
"""


def project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench status line ")) / "shop"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".claude").mkdir()
    sample_project(root)
    with open_store(root=root) as store:
        started_sprint(store, root)
        with store.transaction() as tx:
            for i in range(3):
                tx.set(f"agents.run-{i}", {"agent_type": "fullstack-eng", "team": "engineering", "status": "active"})
            report_made_while_running(tx, "task-oauth", {"coverage": 84.0}, by="agent:run-0", agent_id="run-0")
    return root


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def child_cpu_ms(fn, runs: int) -> float:
    """Median CPU time (user + system) of the child processes `fn` runs: what a loaded machine's
    waiting does not inflate as much as wall time."""
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        fn()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--inproc-runs", type=int, default=200)
    args = parser.parse_args()
    root = project()
    os.environ["CLAUDE_PROJECT_DIR"] = str(root)
    paths.project_root.cache_clear()
    session = {"model": {"display_name": "Opus"}, "workspace": {"project_dir": str(root)}, "cwd": str(root)}
    stdin = json.dumps(session).encode()
    print("status line:", line(session, color=False))

    work = median_ms(lambda: line(session, color=False), args.inproc_runs)
    print(f"1. work in-process (open store, read, render):        {work:6.1f} ms (median of {args.inproc_runs})")

    python = sys.executable

    def process(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
        def once() -> None:
            subprocess.run(command, input=stdin, capture_output=True, check=True, env=env)

        once()  # warm caches and uv's script environment
        return median_ms(once, args.runs), child_cpu_ms(once, args.runs)

    def show(label: str, result: tuple[float, float], note: str = "") -> None:
        print(f"{label:<55} {result[0]:6.1f} ms wall, {result[1]:6.1f} ms CPU{note}")

    bare = process([python, "-c", "pass"])
    show("2. bare interpreter start (python -c pass):", bare)
    plain = process([python, str(SCRIPT)])
    show("3. python status_line.py (interpreter+imports+work):", plain, f"  <- budget {BUDGET_MS:g} ms wall")
    via_uv = process(["uv", "run", "--quiet", "--script", str(SCRIPT)])
    show("4. uv run --quiet --script status_line.py:", via_uv, "  (what Claude Code runs)")
    noop = root.parent / "noop.py"
    noop.write_text(NOOP.format(pack=PACK))
    uv_floor = process(["uv", "run", "--quiet", "--script", str(noop)])
    show("5. uv run --script, no-op with the same dependencies:", uv_floor, "  (uv's own start-up)")
    warm_server = start_warm_server()
    try:
        warm_env = {k: v for k, v in os.environ.items() if k != "ORCHESTRA_WARM_HOOKS"}
        warm = process(["uv", "run", "--quiet", "--script", str(SCRIPT)], warm_env)
    finally:
        warm_server.stdin.close()
    show("6. the same, answered by the warm server:", warm, "  (with the MCP server up)")
    print(f"   uv adds {via_uv[0] - plain[0]:.1f} ms wall over plain Python; imports and work add "
          f"{plain[0] - bare[0]:.1f} ms wall ({plain[1] - bare[1]:.1f} ms CPU) to the bare interpreter")
    print(f"   load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    shutil.rmtree(root.parent, ignore_errors=True)
    ok = plain[0] <= BUDGET_MS
    print(f"budget: python status_line.py {plain[0]:.1f} ms <= {BUDGET_MS:g} ms:", "ok" if ok else "OVER")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
