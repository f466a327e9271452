"""What the security guards cost on every tool call.

    uv run python tests/bench/bench_security.py [--runs 200] [--hook-runs 15]

1. The decision alone (`security.tools.decide`: Bash parsing, path resolution, rule matching) for
   a Read, a Write and three Bash commands of growing size, policy and organisation in memory.
2. The whole guard step as the hook runs it (`security.tool_guard`: policy and teams.yaml read
   from their JSON caches, caller resolved, decision, audit fields) on an allowed call.
3. The real `pre_tool.py` hook process through `uv run` (guard + bus delivery + audit line), allowed.
Exits 1 when the median of (2) for the long Bash command is over BUDGET_MS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from orchestra import paths, teams  # noqa: E402
from orchestra.hookio import HookContext, parse_event  # noqa: E402
from orchestra.security import policy as policies  # noqa: E402
from orchestra.security import tool_guard, tools  # noqa: E402

from tests.conftest import HOOKS, REPO  # noqa: E402

BUDGET_MS = 5.0
CALLS = {
    "Read src/app.py": ("Read", {"file_path": "{root}/src/app.py"}),
    "Write src/app.py": ("Write", {"file_path": "{root}/src/app.py", "content": "x"}),
    "Bash short": ("Bash", {"command": "git status"}),
    "Bash pipeline": ("Bash", {"command": "cd src && grep -rn TODO . | sort | head -20 > /tmp/todo.txt"}),
    "Bash long": ("Bash", {"command": "set -e; for f in src/*.py; do python -m py_compile \"$f\"; done && "
                                      "uv run pytest -q tests/unit -k 'auth and not slow' 2>&1 | tee /tmp/log.txt "
                                      "&& sh -c 'echo $(git rev-parse HEAD) > build/VERSION' && "
                                      "find . -name '*.pyc' -delete"}),
}


def project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench security "))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".claude").mkdir()
    shutil.copy(REPO / ".claude" / "teams.yaml", root / ".claude" / "teams.yaml")
    for name in ("src/app.py", ".env", "build/.keep"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n")
    return root


def filled(value, root: Path):
    if isinstance(value, dict):
        return {k: filled(v, root) for k, v in value.items()}
    return value.replace("{root}", str(root)) if isinstance(value, str) else value


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--hook-runs", type=int, default=15)
    args = parser.parse_args()
    root = project()
    os.environ["CLAUDE_PROJECT_DIR"] = str(root)
    paths.project_root.cache_clear()
    paths.ensure_state_dir(root)
    org, policy = teams.load(root), policies.load(root)
    caller = policy.caller(org, "fullstack-eng")

    print("1. decision only (tools.decide), median of", args.runs)
    for label, (tool, tool_input) in CALLS.items():
        concrete = filled(tool_input, root)
        ms = median_ms(lambda t=tool, i=concrete: tools.decide(policy, caller, root, t, i, str(root)), args.runs)
        print(f"   {label:<18} {ms * 1000:8.0f} us")

    print("2. guard step (security.tool_guard, caches read from disk), median of", args.runs)
    results = {}
    for label, (tool, tool_input) in CALLS.items():
        event = parse_event(json.dumps({"session_id": "s", "cwd": str(root), "hook_event_name": "PreToolUse",
                                        "agent_id": "a1", "agent_type": "fullstack-eng", "tool_name": tool,
                                        "tool_input": filled(tool_input, root)}).encode())

        def guard(event=event):
            ctx = HookContext(event)
            assert tool_guard(event, ctx) is None
            ctx.close()

        results[label] = median_ms(guard, args.runs)
        print(f"   {label:<18} {results[label]:8.2f} ms")

    payload = json.dumps({"session_id": "s", "cwd": str(root), "hook_event_name": "PreToolUse",
                          "agent_id": "a1", "agent_type": "fullstack-eng", "tool_name": "Bash",
                          "tool_input": {"command": "git status"}}).encode()
    command = ["uv", "run", "--quiet", "--script", str(HOOKS / "pre_tool.py")]
    subprocess.run(command, input=payload, capture_output=True, check=True)  # warm the script environment
    wall = median_ms(lambda: subprocess.run(command, input=payload, capture_output=True, check=True),
                     args.hook_runs)
    print(f"3. pre_tool.py hook process, allowed Bash call: {wall:.0f} ms wall (median of {args.hook_runs})")
    shutil.rmtree(root, ignore_errors=True)
    worst = results["Bash long"]
    print(f"budget: guard step on the long Bash command {worst:.2f} ms <= {BUDGET_MS} ms:",
          "ok" if worst <= BUDGET_MS else "OVER")
    return 0 if worst <= BUDGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
