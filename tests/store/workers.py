"""Code that runs in child processes of the concurrency and crash tests (importable, so spawn can reach it)."""

from __future__ import annotations

from orchestra.store import open_store

PAD = "x" * 200


def increment(url: str, path: str, times: int, event_type: str | None = None, *, start) -> None:
    """Read-modify-write `path` `times` times, each in its own transaction, once `start` is set."""
    start.wait(60)
    with open_store(url) as store:
        for _ in range(times):
            with store.transaction() as tx:
                tx.set(path, tx.get(path, 0) + 1)
                if event_type:
                    tx.append_event(event_type, {"path": path})


def write_forever(url: str, ready) -> None:
    """Commit numbered steps until killed; each step touches a counter, a new task and the event log."""
    with open_store(url) as store:
        while True:
            with store.transaction() as tx:
                step = tx.get("projects.crash.counter", 0) + 1
                tx.set("projects.crash.counter", step)
                tx.set(f"tasks.t-{step}", {"title": f"step {step}", "status": "queued", "pad": PAD})
                tx.update("organization", {"last_step": step})
                tx.append_event("step", {"n": step, "pad": PAD}, task_id=f"t-{step}")
            ready.set()


def open_and_append(url: str, *, start) -> None:
    start.wait(60)
    with open_store(url) as store:
        store.append_event("opened")


def take_turn(url: str, number: int, wait: float | None = None, fork: bool = False) -> None:
    """One writer: append `number` to projects.turns.order; says `gave up` if the lock stayed busy past `wait`
    seconds, then stays alive until stdin closes (its lock queue thread may still be waiting). With `fork`,
    having given up it forks a child that lives as long, and says its pid after `gave up`."""
    import os
    import sys

    from orchestra.store import BusyError

    with open_store(url, wait=wait) as store:
        try:
            with store.transaction() as tx:
                tx.set("projects.turns.order", [*tx.get("projects.turns.order", []), number])
        except BusyError:
            if fork and (child := os.fork()) == 0:
                sys.stdin.read()
                os._exit(0)
            print("gave up", *([child] if fork else []), flush=True)
            sys.stdin.read()


def fork_in_transaction(url: str, leave: bool) -> None:
    """Fork a child from inside a transaction (the child lives until stdin closes) and print its pid; with
    `leave`, then end the transaction and print `left`. Stays alive until stdin closes (or it is killed)."""
    import os
    import sys

    with open_store(url) as store:
        with store.transaction() as tx:
            tx.set("tasks.forked", {"title": "forked", "status": "queued"})
            child = os.fork()
            if child == 0:
                sys.stdin.read()
                os._exit(0)
            print(child, flush=True)
            if not leave:
                sys.stdin.read()
        print("left", flush=True)
        sys.stdin.read()


def hold(url: str) -> None:
    """Open a transaction, say `holding`, and keep it open until stdin closes (or it is killed)."""
    import sys

    with open_store(url) as store, store.transaction() as tx:
        tx.set("tasks.held", {"title": "held", "status": "queued"})
        print("holding", flush=True)
        sys.stdin.read()
