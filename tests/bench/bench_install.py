"""What installing costs, and what warming the script environments buys the first hook.

    uv run python tests/bench/bench_install.py [--runs 5]

1. `plan_install` + `apply` into an empty git repo (no warming), and a second install (the no-op).
2. `warm`: `uv sync --script` for every installed script.
3. The first SessionStart hook process in a fresh install, with and without warming first: without,
   that hook pays for building its uv environment; with, it starts like any later hook.
Prints medians in seconds; asserts nothing (numbers go in README's Install section).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from orchestra import wiring  # noqa: E402
from orchestra.installer import apply, plan_install  # noqa: E402
from orchestra.installer.warm import warm  # noqa: E402

from tests.conftest import load_fixture  # noqa: E402


def fresh_repo(base: Path, n: int) -> Path:
    root = base / f"repo {n}"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def first_session_start(root: Path) -> float:
    script = next(root / ".claude/orchestra/hooks" / s for s, d in wiring.declarations(root / ".claude/orchestra/hooks")
                  if d["event"] == "SessionStart")
    event = {**load_fixture("claude-code-2.1.328/nested-delegation.jsonl")[0], "cwd": str(root)}
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORCHESTRA_", "CLAUDE_", "VIRTUAL_ENV"))}
    proc = subprocess.run(["uv", "run", "--quiet", "--script", str(script)], input=json.dumps(event).encode(),
                          capture_output=True, env={**env, "CLAUDE_PROJECT_DIR": str(root)}, timeout=600)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"SessionStart failed: {proc.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {k: [] for k in ("install", "second install", "warm", "first hook, cold",
                                                      "first hook, warmed")}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for n in range(args.runs):
            cold = fresh_repo(base, 2 * n)
            rows["install"].append(timed(lambda r=cold: apply(plan_install(r)))[0])
            rows["second install"].append(timed(lambda r=cold: plan_install(r).noop)[0])
            rows["first hook, cold"].append(first_session_start(cold))
            warmed = fresh_repo(base, 2 * n + 1)
            plan = plan_install(warmed)
            apply(plan)
            rows["warm"].append(timed(lambda r=warmed, s=plan.scripts: warm(r, s))[0])
            rows["first hook, warmed"].append(first_session_start(warmed))
    scripts = len(plan.scripts)
    for name, values in rows.items():
        print(f"{name:<20} median {statistics.median(values):6.2f} s   (min {min(values):.2f}, max {max(values):.2f}, "
              f"{len(values)} runs{f', {scripts} scripts' if name == 'warm' else ''})")


if __name__ == "__main__":
    main()
