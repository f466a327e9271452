"""State store throughput with concurrent writer processes, per backend.

    uv run python tests/bench/bench_state.py [--writers 16] [--transactions 200] [--backends sqlite,json]

Each writer is its own process (as every hook is) and commits `--transactions` transactions of
the shape a lifecycle hook writes: read a task, update two of its fields, append an event. All
writers start together behind a barrier over a store that already holds 200 tasks. Prints a
Markdown table per backend: transactions per second over the whole run (wall clock, first start
to last commit) and the latency of one transaction (median, p95 and the longest, lock waits
included: the longest says how near a hook came to its timeout), and how many transactions gave
up with BusyError after the store's 30 s lock timeout, for one writer alone and for `--writers` at once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".claude" / "orchestra" / "src"))

from hookrun import machine, median, p95, table, workdir  # noqa: E402
from orchestra.store import BusyError, open_store  # noqa: E402

URLS = {"sqlite": "sqlite://{dir}/orchestration.db", "json": "json://{dir}/state.json"}
TASKS = 200


def writer(url: str, number: int, transactions: int, start, results) -> None:
    latencies, busy = [], 0
    with open_store(url) as store:
        start.wait()
        for i in range(transactions):
            began = time.perf_counter()
            task = f"tasks.task-{(number * 7 + i) % TASKS}"
            try:
                with store.transaction() as tx:
                    current = tx.get(task)
                    tx.update(task, {"status": "in_progress", "touches": current.get("touches", 0) + 1})
                    tx.append_event("task.touched", {"writer": number, "i": i}, task_id=current["id"])
            except BusyError:  # waited past the store's lock timeout (30 s): what a hook would meet
                busy += 1
                continue
            latencies.append((time.perf_counter() - began) * 1000)
    results.put((time.perf_counter(), latencies, busy))


def measure(url: str, writers: int, transactions: int) -> dict:
    with open_store(url) as store, store.transaction() as tx:
        for n in range(TASKS):
            tx.set(f"tasks.task-{n}", {"title": f"task {n}", "status": "queued", "sprint": "sprint-1"})
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=writer, args=(url, n, transactions, start, results)) for n in range(writers)]
    for proc in procs:
        proc.start()
    time.sleep(1.0)  # every writer has opened the store and waits at the barrier
    began = time.perf_counter()
    start.set()
    outcomes = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    wall = max(done for done, _, _ in outcomes) - began
    latencies = [ms for _, values, _ in outcomes for ms in values]
    busy = sum(errors for _, _, errors in outcomes)
    with open_store(url) as store:
        touched = sum(t.get("touches", 0) for t in store.get("tasks").values())
    assert touched == len(latencies), f"lost updates: {touched} != {len(latencies)}"
    return {"tx": len(latencies), "busy": busy, "wall": wall, "median": median(latencies), "p95": p95(latencies),
            "max": max(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--transactions", type=int, default=200, help="per writer")
    parser.add_argument("--backends", default=",".join(URLS), help=f"comma-separated, of {', '.join(URLS)}")
    args = parser.parse_args()
    work = workdir("orchestra bench state ")
    rows = []
    backends = args.backends.split(",")
    if unknown := sorted(set(backends) - set(URLS)):
        parser.error(f"--backends: unknown {', '.join(unknown)} (known: {', '.join(URLS)})")
    for backend in backends:
        pattern = URLS[backend]
        for writers in (1, args.writers):
            directory = work / f"{backend} {writers}"
            directory.mkdir()
            result = measure(pattern.format(dir=directory), writers, args.transactions)
            rows.append([backend, writers, result["tx"], f"{result['wall']:.2f}", f"{result['tx'] / result['wall']:.0f}",
                         f"{result['median']:.2f}", f"{result['p95']:.2f}", f"{result['max']:.0f}", result["busy"]])
    print(f"State throughput, {args.transactions} read-modify-write transactions per writer process ({machine()})\n")
    print(table(["backend", "writers", "transactions", "wall s", "tx/s", "median tx ms", "p95 tx ms", "max tx ms", "BusyError"], rows))


if __name__ == "__main__":
    main()
