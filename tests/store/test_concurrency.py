"""No lost updates: many real processes doing read-modify-write transactions at once end exact."""

from __future__ import annotations

import multiprocessing

import pytest
from orchestra.store import open_store

from .conftest import BACKENDS
from .workers import increment, open_and_append

PROCESSES = 16
INCREMENTS = 200

pytestmark = pytest.mark.slow  # real processes by the dozen; still part of the default run


def _run_all(targets: list[tuple]) -> None:
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=increment, args=args, kwargs={"start": start}) for args in targets]
    for proc in procs:
        proc.start()
    start.set()  # every process is up: let them collide
    for proc in procs:
        proc.join(180)
    codes = [proc.exitcode for proc in procs]
    assert codes == [0] * len(procs), f"worker exit codes {codes}"


def test_one_shared_counter_ends_exact(store_url: str) -> None:
    # The store does not exist yet: the processes also race to create it.
    _run_all([(store_url, "projects.shared.counter", INCREMENTS)] * PROCESSES)
    with open_store(store_url) as store:
        assert store.get("projects.shared.counter") == PROCESSES * INCREMENTS


def test_concurrent_event_appends_get_unique_consecutive_ids(store_url: str) -> None:
    _run_all([(store_url, f"agents.a-{i}.events", 50, f"from-{i}") for i in range(PROCESSES)])
    with open_store(store_url) as store:
        events = store.events_after(0, limit=None)
    assert [e["id"] for e in events] == list(range(1, PROCESSES * 50 + 1))
    assert {e["type"]: sum(1 for x in events if x["type"] == e["type"]) for e in events} == {
        f"from-{i}": 50 for i in range(PROCESSES)}


def test_distinct_tasks_and_a_singleton_end_exact(store_url: str) -> None:
    with open_store(store_url) as store:
        store.set("organization.name", "acme")
    targets = [(store_url, f"tasks.task-{i}.count", INCREMENTS) for i in range(PROCESSES)]
    targets += [(store_url, "organization.counter", INCREMENTS // 4)] * 4
    _run_all(targets)
    with open_store(store_url) as store:
        tasks = store.get("tasks")
        assert store.get("organization") == {"name": "acme", "counter": INCREMENTS}
    assert {task_id: task["count"] for task_id, task in tasks.items()} == {
        f"task-{i}": INCREMENTS for i in range(PROCESSES)}


def test_many_processes_creating_one_store_at_once(backend: str, tmp_path) -> None:
    # Creating a SQLite file races on switching it to WAL, which SQLite refuses at once (no busy wait).
    ctx = multiprocessing.get_context("fork")
    for trial in range(10):
        base = tmp_path / f"trial {trial}"
        base.mkdir()
        url = BACKENDS[backend](base)
        start = ctx.Event()
        procs = [ctx.Process(target=open_and_append, args=(url,), kwargs={"start": start}) for _ in range(PROCESSES)]
        for proc in procs:
            proc.start()
        start.set()
        for proc in procs:
            proc.join(60)
        assert [proc.exitcode for proc in procs] == [0] * PROCESSES, f"trial {trial}"
        with open_store(url) as store:
            assert len(store.events_after(0)) == PROCESSES


def test_a_json_lock_file_deleted_as_stale_mid_write_loses_no_update_silently(tmp_path) -> None:
    """Someone deletes the lock files while a writer holds them: a second writer then gets locks of its
    own. Whichever of the two commits second finds the file replaced under it and fails, writing nothing."""
    import threading
    import time

    from orchestra.store import BusyError

    url = f"json://{tmp_path / 'state.json'}"
    slow_writer, other = open_store(url), open_store(url)
    with slow_writer.transaction() as tx:
        tx.set("tasks.c", {"title": "counter", "status": "queued", "n": 0})
    reading, failed = threading.Event(), []

    def slow_increment() -> None:
        try:
            with slow_writer.transaction() as tx:
                n = tx.get("tasks.c.n")
                reading.set()
                time.sleep(0.5)
                tx.set("tasks.c.n", n + 1)
        except BusyError as exc:
            failed.append(str(exc))

    thread = threading.Thread(target=slow_increment)
    thread.start()
    reading.wait(10)
    for lock in tmp_path.glob("state.json*.lock"):  # the lock, and the queue before it (on Linux)
        lock.unlink()
    with other.transaction() as tx:
        tx.set("tasks.c.n", tx.get("tasks.c.n") + 1)
    thread.join()
    assert len(failed) == 1 and "replaced it during this transaction" in failed[0]
    with open_store(url) as store:
        assert store.get("tasks.c.n") == 1  # the one increment that reported success, and only it


def test_a_json_store_opened_before_a_fork_serves_the_parent_and_its_children(tmp_path) -> None:
    """A process that opens the store, then forks (a server's workers, multiprocessing): parent and
    children go on with the one store object, taking turns, and no update is lost."""
    store = open_store(f"json://{tmp_path / 'state.json'}")
    store.set("projects.shared.counter", 0)
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()

    def add(times: int) -> None:
        start.wait(60)
        for _ in range(times):
            with store.transaction() as tx:
                tx.set("projects.shared.counter", tx.get("projects.shared.counter") + 1)

    procs = [ctx.Process(target=add, args=(INCREMENTS // 2,)) for _ in range(4)]
    for proc in procs:
        proc.start()
    start.set()
    add(INCREMENTS // 2)
    for proc in procs:
        proc.join(180)
    assert [proc.exitcode for proc in procs] == [0] * len(procs)
    assert store.get("projects.shared.counter") == 5 * (INCREMENTS // 2)


def test_threads_of_one_process_each_with_its_store_end_exact(store_url: str) -> None:
    """Each thread opens its own store (a store object is one thread's): they exclude one another as processes do."""
    import threading

    def add(times: int) -> None:
        with open_store(store_url) as store:
            for _ in range(times):
                with store.transaction() as tx:
                    tx.set("projects.shared.counter", tx.get("projects.shared.counter", 0) + 1)

    threads = [threading.Thread(target=add, args=(INCREMENTS // 2,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    with open_store(store_url) as store:
        assert store.get("projects.shared.counter") == 4 * (INCREMENTS // 2)
