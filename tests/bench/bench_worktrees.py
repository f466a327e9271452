"""What worktrees cost: the boundary guard on every tool call, and making one.

    uv run python tests/bench/bench_worktrees.py [--runs 300] [--creations 10] [--parallel 4] [--files 20000]

1. The boundary guard as the hook runs it (`worktrees.worktree_guard`: the store opened, one
   primary-key read of the run's worktree, the path check) for a Write inside the worktree, a Bash
   command with a `cd`, and a run that has no worktree; plus the import of `worktrees.boundary`.
2. Making a task worktree (`git worktree add` of a small repository, record and lock) the way a
   delegation does it, and `orchestra worktree list` over 50 worktrees in state.
3. `--parallel` processes each making a worktree of its own at once, as parallel delegations do, in a
   repository of `--files` files: the wall time for all of them, each one's time and its wait for the
   creation lock, and how many waited longer than the 6 s after which a delegation's hook gives up.
Exits 1 when the median of the guard on a Write is over BUDGET_MS.
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

from orchestra import paths, teams  # noqa: E402
from orchestra.hookio import HookContext, parse_event  # noqa: E402
from orchestra.store import open_store  # noqa: E402
from orchestra.worktrees import Owner, assign, listing, worktree_guard  # noqa: E402

BUDGET_MS = 5.0
GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.invalid", "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "b@example.invalid"}


def project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="bench worktrees ")) / "shop"
    root.mkdir()
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    (root / ".claude").mkdir()
    (root / ".claude" / "teams.yaml").write_text(
        "teams:\n  engineering:\n    orchestrator: lead\n    members: [{name: dev}]\n    settings: {worktree_strategy: task}\n")
    for i in range(200):
        (root / "src" / f"m{i // 20}").mkdir(parents=True, exist_ok=True)
        (root / "src" / f"m{i // 20}" / f"f{i}.py").write_text(f"X = {i}\n")
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "init"], check=True, env=env)
    os.environ.update({"CLAUDE_PROJECT_DIR": str(root), **GIT_ENV})
    paths.project_root.cache_clear()
    paths.ensure_state_dir(root)
    return root


def timed(fn, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def guard_call(root: Path, agent: str, tool: str, tool_input: dict, cwd: Path):
    event = parse_event(json.dumps({"session_id": "s", "cwd": str(cwd), "hook_event_name": "PreToolUse",
                                    "agent_id": agent, "agent_type": "dev", "tool_name": tool,
                                    "tool_input": tool_input, "tool_use_id": "toolu_b"}).encode())

    def call():
        ctx = HookContext(event)
        try:
            worktree_guard(event, ctx)
        finally:
            ctx.close()
    return call


def big_project(files: int) -> Path:
    """A repository of `files` small files in directories of 100, one commit."""
    root = Path(tempfile.mkdtemp(prefix="bench worktrees ")) / "monorepo"
    root.mkdir()
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    (root / ".claude").mkdir()
    for i in range(files):
        folder = root / "src" / f"d{i // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.py").write_text(f"X = {i}\n" + "# filler line\n" * 40)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "init"], check=True, env=env)
    paths.ensure_state_dir(root)
    return root


def make_one(root: Path, name: str, go: Path) -> None:
    """One creator (its own process): wait for `go`, make the task worktree `name` as a delegation does,
    print the seconds it took and the seconds it waited for the creation lock (a delegation's hook is
    denied with `try again in a moment` past 6 s of that)."""
    from orchestra.clock import now_iso
    from orchestra.worktrees import Scope, allocation
    from orchestra.worktrees import config as worktree_config
    from orchestra.worktrees.creation import repository

    waited: list[float] = []
    real_lock = allocation.creation_lock

    def timed_lock(project: Path):
        lock = real_lock(project)
        acquire = lock.acquire

        def timed_acquire(*args, **kwargs):
            began = time.perf_counter()
            try:
                return acquire(*args, **kwargs)
            finally:
                waited.append(time.perf_counter() - began)
        lock.acquire = timed_acquire
        return lock

    allocation.creation_lock = timed_lock
    os.environ["CLAUDE_PROJECT_DIR"] = str(root)
    cfg, repo = worktree_config.load(root), repository(root)
    while not go.exists():
        time.sleep(0.005)
    started = time.perf_counter()
    allocation.on_disk(root, repo, Scope("task", name), cfg, wait_for_setup=False, now=now_iso(), created_by="bench",
                       stored=None)
    print(f"{time.perf_counter() - started:.3f} {sum(waited):.3f}")


def parallel_creations(count: int, files: int) -> None:
    root = big_project(files)
    go = root.parent / "go"
    makers = [subprocess.Popen([sys.executable, __file__, "--make-one", str(root), f"p-{i}", str(go)],
                               stdout=subprocess.PIPE, text=True, env={**os.environ, **GIT_ENV}) for i in range(count)]
    time.sleep(2.0)  # every maker imported and waiting
    started = time.perf_counter()
    go.touch()
    each = sorted(tuple(map(float, maker.communicate()[0].split())) for maker in makers)
    wall = time.perf_counter() - started
    print(f"{count} worktrees made at once ({files}-file repo): wall {wall:.2f} s; each (of that, waiting for the "
          f"creation lock) {', '.join(f'{took:.2f} ({lock:.2f})' for took, lock in each)} s; "
          f"{sum(lock > 6 for _, lock in each)} waited over the 6 s after which a delegation is denied")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--creations", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--make-one", nargs=3, metavar=("ROOT", "NAME", "GO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_one:
        make_one(Path(args.make_one[0]), args.make_one[1], Path(args.make_one[2]))
        return 0
    if args.parallel:
        parallel_creations(args.parallel, args.files)
    root = project()
    imported = subprocess.run([sys.executable, "-X", "importtime", "-c", "import orchestra.hookio, orchestra.security; "
                               "import orchestra.worktrees.boundary"], capture_output=True, text=True)
    own = sum(int(line.split("|")[0].split(":")[1]) for line in imported.stderr.splitlines()
              if "orchestra.worktrees" in line)
    print(f"import of orchestra.worktrees(.boundary): {own / 1000:.2f} ms (self time)")

    with open_store(root=root) as store:
        with store.transaction() as tx:
            for i in range(args.creations):
                tx.set(f"tasks.t-{i}", {"id": f"t-{i}", "status": "queued", "team": "engineering", "assignee": "dev"})
                tx.set(f"agents.a-{i}", {"id": f"a-{i}", "status": "active", "session_id": "s"})
            tx.set("agents.free", {"id": "free", "status": "active", "session_id": "s"})
        made, org = [], teams.load(root)
        for i in range(args.creations):
            started = time.perf_counter()
            assign(store, root, org, f"t-{i}", Owner(agent_id=f"a-{i}", session_id="s", task=f"t-{i}", by="cli"))
            made.append((time.perf_counter() - started) * 1000)
        with store.transaction() as tx:
            for i in range(50 - args.creations):
                tx.set(f"worktrees.fake-{i}", {"id": f"fake-{i}", "status": "active", "path": str(root / f"x{i}"),
                                               "branch": f"b{i}", "lock": {"agent_id": "a-0", "session_id": "s",
                                                                          "acquired_at": "2026-01-01T00:00:00Z"}})
        list_ms = timed(lambda: listing(store, root), 20)

    tree = root / ".worktrees" / "task-t-0"
    cases = {
        "Write inside its worktree": guard_call(root, "a-0", "Write", {"file_path": str(tree / "src/a.py")}, tree),
        "Bash with cd and redirection": guard_call(root, "a-0", "Bash", {"command": "cd src && make > build.log"}, tree),
        "Write by a run without worktree": guard_call(root, "free", "Write", {"file_path": str(root / "a.py")}, root),
    }
    results = {name: timed(fn, args.runs) for name, fn in cases.items()}
    for name, (median, p95) in results.items():
        print(f"guard, {name}: median {median:.2f} ms, p95 {p95:.2f} ms")
    print(f"make + lock a task worktree (200-file repo): median {statistics.median(made):.0f} ms, "
          f"max {max(made):.0f} ms over {len(made)}")
    print(f"worktree list, 50 in state: median {list_ms[0]:.1f} ms")
    write_median = results["Write inside its worktree"][0]
    if write_median > BUDGET_MS:
        print(f"over budget: the guard on a Write took {write_median:.2f} ms (budget {BUDGET_MS} ms)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
