"""State store throughput with concurrent writer processes, per backend.

    uv run python tests/bench/bench_state.py [--writers 16] [--transactions 200]

Each writer is its own process (as every hook is) and commits `--transactions` transactions of
the shape a lifecycle hook writes: read a task, update two of its fields, append an event. All
writers start together behind a barrier over a store that already holds 200 tasks. Prints a
Markdown table per backend: transactions per second over the whole run (wall clock, first start
to last commit) and the latency of one transaction (median and p95, lock waits included),
for one writer alone and for `--writers` at once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".claude" / "orchestra" / "src"))

from hookrun import machine, median, p95, table, workdir  # noqa: E402
from orchestra.store import open_store  # noqa: E402

URLS = {"sqlite": "sqlite://{dir}/orchestration.db", "json": "json://{dir}/state.json"}
TASKS = 200


def writer(url: str, number: int, transactions: int, start, results) -> None:
    latencies = []
    with open_store(url) as store:
        start.wait()
        for i in range(transactions):
            began = time.perf_counter()
            task = f"tasks.task-{(number * 7 + i) % TASKS}"
            with store.transaction() as tx:
                current = tx.get(task)
                tx.update(task, {"status": "in_progress", "touches": current.get("touches", 0) + 1})
                tx.append_event("task.touched", {"writer": number, "i": i}, task_id=current["id"])
            latencies.append((time.perf_counter() - began) * 1000)
    results.put((time.perf_counter(), latencies))


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
    wall = max(done for done, _ in outcomes) - began
    latencies = [ms for _, values in outcomes for ms in values]
    with open_store(url) as store:
        touched = sum(t.get("touches", 0) for t in store.get("tasks").values())
    assert touched == writers * transactions, f"lost updates: {touched} != {writers * transactions}"
    return {"tx": len(latencies), "wall": wall, "median": median(latencies), "p95": p95(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--transactions", type=int, default=200, help="per writer")
    args = parser.parse_args()
    work = workdir("orchestra bench state ")
    rows = []
    for backend, pattern in URLS.items():
        for writers in (1, args.writers):
            directory = work / f"{backend} {writers}"
            directory.mkdir()
            result = measure(pattern.format(dir=directory), writers, args.transactions)
            rows.append([backend, writers, result["tx"], f"{result['wall']:.2f}", f"{result['tx'] / result['wall']:.0f}",
                         f"{result['median']:.2f}", f"{result['p95']:.2f}"])
    print(f"State throughput, {args.transactions} read-modify-write transactions per writer process ({machine()})\n")
    print(table(["backend", "writers", "transactions", "wall s", "tx/s", "median tx ms", "p95 tx ms"], rows))


if __name__ == "__main__":
    main()
