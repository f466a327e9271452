"""Crash safety: a writer killed with SIGKILL at random points never leaves state that cannot be read,
and never a half-applied transaction."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

from orchestra.store import open_store

from .conftest import state_file
from .workers import write_forever

KILLS = 50


def _check_consistent(url: str) -> int:
    """Every committed step is whole: counter, tasks, organization and events agree. Returns the step."""
    with open_store(url) as store:
        doc = store.export()
    step = doc["projects"].get("crash", {}).get("counter", 0)
    assert sorted(doc["tasks"]) == sorted(f"t-{n}" for n in range(1, step + 1))
    assert doc["organization"].get("last_step", 0) == step
    events = doc["observability"]["events"]
    assert [e["id"] for e in events] == list(range(1, step + 1))
    assert [e["data"]["n"] for e in events] == list(range(1, step + 1))
    return step


def test_sigkilled_writer_never_leaves_unreadable_or_partial_state(store_url: str) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    ctx = multiprocessing.get_context("fork")  # fork: a fresh writer per kill stays cheap
    files = not store_url.startswith("postgresql://")  # a database server keeps no files of ours
    directory = state_file(store_url).parent
    steps = []
    for kill in range(KILLS):
        ready = ctx.Event()
        writer = ctx.Process(target=write_forever, args=(store_url, ready), daemon=True)
        writer.start()
        # Most kills land mid-stream after a first commit; some while the store is being opened.
        if rng.random() < 0.85:
            assert ready.wait(60), f"writer never committed (seed {seed}, kill {kill})"
        time.sleep(rng.uniform(0, 0.03))
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(30)
        assert writer.exitcode == -signal.SIGKILL
        steps.append(_check_consistent(store_url))
        leftovers = [p.name for p in directory.iterdir() if ".corrupt-" in p.name] if files else []
        assert leftovers == [], f"seed {seed}, kill {kill}: {leftovers}"
    assert steps == sorted(steps)
    assert steps[-1] > KILLS, f"seed {seed}: the writers committed too little to test anything ({steps})"
    # Temp files of killed JSON writers are removed by the next writer; at most one may be pending.
    assert not files or len([p for p in directory.iterdir() if p.name.endswith(".tmp")]) <= 1
    with open_store(store_url) as store:
        store.set("tasks.after", {"title": "still writable"})
    assert not files or len([p for p in directory.iterdir() if p.name.endswith(".tmp")]) == 0
    assert not files or _path_is_file(state_file(store_url))


def _path_is_file(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0
