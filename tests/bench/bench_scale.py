"""Hook latency with 10,000 tasks and 100,000 events in the store against an empty store (budget 1.2x).

    uv run python tests/bench/bench_scale.py [--runs 30] [--tasks 10000] [--events 100000]

Two projects on the default backend (SQLite): one holding only the sample sprint, one holding the
same sprint plus `--tasks` tasks spread over 50 sprints and `--events` events. Each round restores
both databases and replays the captured session (see hookrun.session) through every wired hook on
one project, then on the other, alternating which goes first. Prints, per hook, the median whole
process and the median time inside the runner (the audit line's `ms`, which is what the store's
size can change) for both stores, and their ratio. A second table times the store operations a
hook performs, in this process, on both stores: free of process start-up noise.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict

from hookrun import (
    HOOKS,
    handler_ms,
    hooks_for,
    machine,
    make_project,
    median,
    restore_state,
    run_process,
    seed_state,
    session,
    table,
    wired_hooks,
    workdir,
)

BUDGET = 1.2
STATUSES = ("queued", "assigned", "in_progress", "completed", "blocked")


def _bulk(tasks: int, events: int):
    def fill(store) -> None:
        rng = random.Random(7)
        with store.transaction() as tx:
            for n in range(50):
                tx.set(f"sprints.sprint-old-{n}", {"name": f"old sprint {n}", "status": "complete"})
            for n in range(tasks):
                tx.set(f"tasks.task-old-{n}", {
                    "title": f"historic task {n}", "status": rng.choice(STATUSES), "sprint": f"sprint-old-{n % 50}",
                    "team": "engineering", "type": "implementation", "dependencies": [f"task-old-{n - 1}"] if n else [],
                    "artifacts": [f"src/module_{n}.py"]})
            for n in range(events):
                tx.append_event(rng.choice(("task.assigned", "task.completed", "tool.used", "message.sent")),
                                {"n": n}, task_id=f"task-old-{n % max(tasks, 1)}", agent_id=f"agent-{n % 97}")
    return fill


def store_operations(projects: dict, saved: dict, repeat: int = 50) -> list[list[str]]:
    """Median ms of each store operation a hook performs, per store, and the large/empty ratio."""
    from hookrun import state_files
    from orchestra.store import open_store

    results: dict[str, dict[str, list[float]]] = {}
    for name, project in projects.items():
        restore_state(project, saved[name])
        url = f"sqlite://{state_files(project)[0]}"
        timings: dict[str, list[float]] = defaultdict(list)
        last = 0
        for _ in range(repeat):
            store, took = _timed(open_store, url)
            timings["open the store"].append(took)
            timings["get one task"].append(_timed(store.get, "tasks.task-3")[1])
            timings["find the sprint's tasks"].append(_timed(_find, store)[1])
            last, took = _timed(_touch, store)
            timings["update a task + append an event (commit)"].append(took)
            timings["read the events after a recent id"].append(_timed(store.events_after, max(0, last - 10))[1])
            timings["close (checkpoints the WAL)"].append(_timed(store.close)[1])
        results[name] = timings
    rows = []
    for label in results["empty"]:
        empty, large = median(results["empty"][label]) * 1000, median(results["large"][label]) * 1000
        rows.append([label, f"{empty:.2f}", f"{large:.2f}", f"{large / empty:.2f}x"])
    return rows


def _timed(call, *args):
    began = time.perf_counter()
    value = call(*args)
    return value, time.perf_counter() - began


def _find(store) -> list:
    with store.snapshot() as tx:
        return tx.find("tasks", sprint="sprint-3")


def _touch(store) -> int:
    with store.transaction() as tx:
        tx.update("tasks.task-3", {"status": "in_progress"})
        return tx.append_event("task.started", task_id="task-3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    work = workdir("orchestra bench scale ")
    projects = {"empty": make_project(work, "empty store"), "large": make_project(work, "large store")}
    saved = {"empty": seed_state(projects["empty"]),
             "large": seed_state(projects["large"], _bulk(args.tasks, args.events))}
    sessions = {name: session(project) for name, project in projects.items()}
    hooks = wired_hooks()
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for round_no in range(args.runs + 1):
        order = ["empty", "large"] if round_no % 2 else ["large", "empty"]
        for name in order:
            restore_state(projects[name], saved[name])
            for payload in sessions[name]:
                for hook in hooks_for(payload, hooks):
                    elapsed, _ = run_process(HOOKS / hook.script, payload, projects[name])
                    if round_no > 0:  # round 0 warms uv's environment and the pack's caches
                        times[(hook.script, name)].append(elapsed)
    inside = {name: handler_ms(project) for name, project in projects.items()}
    print(f"Hook latency, {args.tasks:,} tasks and {args.events:,} events vs the sample sprint only; "
          f"{args.runs} rounds ({machine()})\n")
    rows = []
    for script in dict.fromkeys(script for script, _ in times):
        process = {name: median(times[(script, name)]) for name in projects}
        runner = {name: median(inside[name].get(script, [])) for name in projects}
        ratio, runner_ratio = process["large"] / process["empty"], runner["large"] / runner["empty"]
        rows.append([script, f"{process['empty']:.0f}", f"{process['large']:.0f}", f"{ratio:.2f}x",
                     f"{runner['empty']:.1f}", f"{runner['large']:.1f}", f"{runner_ratio:.2f}x",
                     "ok" if ratio <= BUDGET else "**over**"])
    print(table(["hook", "empty: median ms", "large: median ms", "process ratio", "empty: in runner ms",
                 "large: in runner ms", "in-runner ratio", f"budget {BUDGET}x (process)"], rows))
    print("\nStore operations in one process (median of 50)\n")
    print(table(["operation", "empty ms", "large ms", "ratio"], store_operations(projects, saved)))


if __name__ == "__main__":
    main()
