"""JSON store writers get the lock in the order they asked for it: real processes queue behind a
holder one at a time (each provably blocked in the kernel before the next starts), then go in turn."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from orchestra.store import lock_queue, open_store

pytestmark = pytest.mark.skipif(not lock_queue.AVAILABLE, reason="the lock queue needs Linux OFD locks")
WAITERS = 6


def _waiting(queue: Path) -> int:
    """How many lock requests on `queue` the kernel holds blocked (/proc/locks `->` lines for its inode)."""
    inode = os.stat(queue).st_ino
    lines = Path("/proc/locks").read_text().splitlines()
    return sum(1 for line in lines if "->" in line and line.split("->")[1].split()[4].split(":")[-1] == str(inode))


def _until(condition, what: str, proc: subprocess.Popen | None = None) -> None:
    """Wait for `condition` (a state the kernel or a child reports, not a time), failing if `proc` exits first."""
    import time

    for _ in range(60_000):
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the writer exited first ({proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.001)
    raise AssertionError(f"never happened: {what}")


def _writer(url: str, number: int, wait: float | None = None, fork: bool = False) -> subprocess.Popen:
    code = f"from tests.store.workers import take_turn; take_turn({url!r}, {number}, {wait!r}, {fork!r})"
    return subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[2], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _queue_behind(url: str, queue: Path, numbers: list[int], wait: float | None = None) -> list[subprocess.Popen]:
    writers = []
    for number in numbers:
        writers.append(_writer(url, number, wait))
        _until(lambda: _waiting(queue) == len(writers), f"writer {number} waits in the queue", writers[-1])
    return writers


def _finish(writers: list[subprocess.Popen]) -> None:
    for proc in writers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def test_waiting_writers_get_the_lock_in_the_order_they_came(tmp_path: Path) -> None:
    url, queue = f"json://{tmp_path / 'state.json'}", tmp_path / "state.json.queue.lock"
    for round_ in range(3):
        holder = open_store(url)
        with holder.transaction() as tx:
            tx.set("projects.turns.order", [])
            writers = _queue_behind(url, queue, list(range(WAITERS)))
        _finish(writers)
        with open_store(url) as store:
            assert store.get("projects.turns.order") == list(range(WAITERS)), f"round {round_}"


def test_a_writer_killed_while_waiting_does_not_hold_up_the_ones_behind_it(tmp_path: Path) -> None:
    url, queue = f"json://{tmp_path / 'state.json'}", tmp_path / "state.json.queue.lock"
    holder = open_store(url)
    with holder.transaction() as tx:
        tx.set("projects.turns.order", [])
        killed, behind = _queue_behind(url, queue, [1, 2])
        killed.send_signal(signal.SIGKILL)
        killed.wait(60)
    _finish([behind])
    with open_store(url) as store:
        assert store.get("projects.turns.order") == [2]


def test_a_writer_that_gave_up_waiting_lets_the_ones_behind_it_through(tmp_path: Path) -> None:
    """It raised BusyError and lives on (the MCP server does): its place in the queue must not stay taken."""
    url, queue = f"json://{tmp_path / 'state.json'}", tmp_path / "state.json.queue.lock"
    holder = open_store(url)
    with holder.transaction() as tx:
        tx.set("projects.turns.order", [])
        [impatient] = _queue_behind(url, queue, [1], wait=0.2)
        [patient] = _queue_behind(url, queue, [2])
        assert impatient.stdout.readline() == "gave up\n"
    _finish([patient])
    assert impatient.poll() is None  # still alive: the queue let the patient one in, not its exit
    _finish([impatient])
    with open_store(url) as store:
        assert store.get("projects.turns.order") == [2]


def test_a_busy_error_while_queued_keeps_its_message(tmp_path: Path) -> None:
    from orchestra.store import BusyError

    url = f"json://{tmp_path / 'state.json'}"
    holder, waiter = _holder(url), open_store(url, wait=0.05)
    with pytest.raises(BusyError, match=r"still locked by another writer after 0s$"), waiter.transaction():
        pass
    holder.communicate(timeout=60)
    with waiter.transaction() as tx:  # served: its abandoned place in the queue was let go
        tx.set("tasks.later", {"title": "later", "status": "queued"})
    assert set(open_store(url).get("tasks")) == {"held", "later"}


def _holder(url: str) -> subprocess.Popen:
    """A process holding the write lock until its stdin closes."""
    code = f"from tests.store.workers import hold; hold({url!r})"
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[2], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "holding\n", holder.stderr.read()
    return holder


def test_a_writer_alone_starts_no_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks mostly write alone: that path takes the queue and the lock without a waiting thread."""

    def no_thread(*args, **kwargs):
        raise AssertionError("a thread was started for an uncontended write")

    monkeypatch.setattr(lock_queue.threading, "Thread", no_thread)
    with open_store(f"json://{tmp_path / 'state.json'}") as store:
        for n in range(3):
            with store.transaction() as tx:
                tx.set(f"tasks.t{n}", {"title": "t", "status": "queued"})


def test_a_queue_file_that_cannot_be_opened_costs_only_the_order(tmp_path: Path) -> None:
    """Another user's queue file, say: the flock alone still excludes writers, and writes go on."""
    url, queue = f"json://{tmp_path / 'state.json'}", tmp_path / "state.json.queue.lock"
    queue.mkdir()  # opening it for writing fails (EISDIR), whoever runs the test
    with open_store(url) as store, store.transaction() as tx:
        tx.set("tasks.one", {"title": "one", "status": "queued"})
    assert set(open_store(url).get("tasks")) == {"one"}


def test_a_waiting_writer_sleeps_in_the_kernel_and_tries_the_lock_once(tmp_path: Path) -> None:
    """Dozens of hooks polling the lock take the CPU from the one holding it: a queued writer blocks
    until the writers before it are done, then takes the lock at its first try."""
    url, queue = f"json://{tmp_path / 'state.json'}", tmp_path / "state.json.queue.lock"
    holder, waiter = open_store(url), open_store(url)
    tries = 0
    real_try = waiter._lock._acquire  # filelock's one attempt at the OS lock

    def counted_try() -> None:
        nonlocal tries
        tries += 1
        real_try()

    def wait_and_write() -> None:
        with waiter.transaction() as tx:
            tx.set("tasks.waited", {"title": "waited", "status": "queued"})

    waiter._lock._acquire = counted_try
    thread = threading.Thread(target=wait_and_write)
    with holder.transaction() as tx:
        tx.set("tasks.held", {"title": "held", "status": "queued"})
        thread.start()
        _until(lambda: _waiting(queue) == 1, "the second writer waits in the queue")
    thread.join(60)
    assert tries == 1
    assert set(open_store(url).get("tasks")) == {"held", "waited"}


def _fork_in_transaction(url: str, leave: bool) -> tuple[subprocess.Popen, int]:
    code = f"from tests.store.workers import fork_in_transaction; fork_in_transaction({url!r}, {leave!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[2], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child = proc.stdout.readline()
    assert child.strip().isdigit(), proc.stderr.read()
    return proc, int(child)


def _end(proc: subprocess.Popen, child: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(child, signal.SIGKILL)
    proc.kill()
    proc.communicate(timeout=60)


@pytest.mark.parametrize("writer_ends", ["leaving", "killed"])
def test_a_child_forked_inside_a_transaction_does_not_keep_the_writers_behind_waiting(
        tmp_path: Path, writer_ends: str) -> None:
    """A process that forks while it writes (a server's worker, multiprocessing) gives the child a copy of its
    queue file: the writers after it must still get in once it has left, or been killed, while the child lives."""
    url = f"json://{tmp_path / 'state.json'}"
    proc, child = _fork_in_transaction(url, leave=writer_ends == "leaving")
    try:
        if writer_ends == "leaving":
            assert proc.stdout.readline() == "left\n", proc.stderr.read()
        else:
            proc.send_signal(signal.SIGKILL)
            proc.wait(60)
        after = _writer(url, 1, wait=5)
        out, err = after.communicate(timeout=120)
        assert (out, after.returncode) == ("", 0), err
        os.kill(child, 0)  # the child still lives (and holds its copies of the files)
    finally:
        _end(proc, child)
    assert open_store(url).get("projects.turns.order") == [1]


def test_a_child_forked_by_a_writer_that_gave_up_waiting_does_not_keep_its_place(tmp_path: Path) -> None:
    url = f"json://{tmp_path / 'state.json'}"
    holder = open_store(url)
    with holder.transaction() as tx:
        tx.set("projects.turns.order", [])
        impatient = _writer(url, 1, wait=0.2, fork=True)
        said = impatient.stdout.readline().split()
        assert said[:2] == ["gave", "up"], impatient.stderr.read()
        child = int(said[2])
    try:
        after = _writer(url, 2, wait=5)
        out, err = after.communicate(timeout=120)
        assert (out, after.returncode) == ("", 0), err
        os.kill(child, 0)  # the child still lives
    finally:
        _end(impatient, child)
    assert open_store(url).get("projects.turns.order") == [2]


@pytest.mark.parametrize("failing", ["every lock", "the blocking wait"])
@pytest.mark.parametrize("error", [errno.EINVAL, errno.ENOLCK])
def test_a_file_system_without_byte_range_locks_costs_only_the_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str, error: int) -> None:
    """A file system that refuses OFD locks (EINVAL) or runs out of them (ENOLCK), at once or only for the
    blocking wait: writers fall back to polling the flock, leave no queue file open, and still exclude."""
    real_fcntl, refused = lock_queue.fcntl, threading.Event()

    def refusing(fd: int, cmd: int, arg: bytes) -> bytes:
        if failing == "every lock" or cmd == lock_queue.F_OFD_SETLKW:
            refused.set()
            raise OSError(error, os.strerror(error))
        return real_fcntl(fd, cmd, arg)

    monkeypatch.setattr(lock_queue, "fcntl", refusing)
    url = f"json://{tmp_path / 'state.json'}"
    holder, waiter = open_store(url), open_store(url)

    def wait_and_write() -> None:
        with waiter.transaction() as tx:
            tx.set("tasks.waited", {"title": "waited", "status": "queued", "saw": sorted(tx.get("tasks"))})

    thread = threading.Thread(target=wait_and_write)
    with holder.transaction() as tx:
        tx.set("tasks.held", {"title": "held", "status": "queued"})
        refused.clear()
        thread.start()
        _until(lambda: not thread.is_alive() or refused.is_set() and _polling(waiter),
               "the second writer is refused a lock and polls the flock")
        assert thread.is_alive()  # it waits for the holder: the flock still excludes it
    thread.join(60)
    assert open_store(url).get("tasks.waited.saw") == ["held"]
    assert _open_files(tmp_path / "state.json.queue.lock") == 0


def _open_files(path: Path) -> int:
    """How many file descriptors of this process have `path` open."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path))


def _polling(store) -> bool:
    """Whether `store` is past the queue, trying the flock (its queue holds no file)."""
    return store._queue._fd is None and store._open_tx


def _ticket(queue: Path) -> int:
    """The last ticket drawn from `queue`."""
    return int.from_bytes(queue.read_bytes()[:8], "little")


def test_a_writer_killed_while_it_writes_lets_the_queue_behind_it_through_in_order(tmp_path: Path) -> None:
    url, queue = f"json://{tmp_path / 'state.json'}", tmp_path / "state.json.queue.lock"
    holder = _holder(url)
    writers = _queue_behind(url, queue, [1, 2, 3])
    holder.send_signal(signal.SIGKILL)
    holder.wait(60)
    _finish(writers)
    assert open_store(url).get("projects.turns.order") == [1, 2, 3]
    assert queue.stat().st_size == 8  # the counter alone, however many writers came


def test_queued_writers_and_one_outside_the_queue_exclude_each_other(tmp_path: Path) -> None:
    """An older Orchestra takes only the flock. While it holds it, the writer at the head of the queue polls
    the flock and the others wait behind it in the kernel; killing that head passes its place on."""
    import fcntl

    url, queue = f"json://{tmp_path / 'state.json'}", tmp_path / "state.json.queue.lock"
    open_store(url).set("projects.turns.order", [])
    outside = os.open(tmp_path / "state.json.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(outside, fcntl.LOCK_EX)
    try:
        drawn = _ticket(queue)
        head = _writer(url, 1)
        _until(lambda: _ticket(queue) == drawn + 1 and _waiting(queue) == 0, "the head polls", head)
        [second, third] = _queue_behind(url, queue, [2, 3])
        head.send_signal(signal.SIGKILL)
        head.wait(60)
        _until(lambda: _waiting(queue) == 1, "the second writer is the head now and polls", second)
        assert open_store(url).get("projects.turns.order") == []  # no one wrote past the outside writer
    finally:
        fcntl.flock(outside, fcntl.LOCK_UN)
        os.close(outside)
    _finish([second, third])
    assert open_store(url).get("projects.turns.order") == [2, 3]


def test_a_transaction_inside_another_on_the_same_file_is_refused_at_once(tmp_path: Path) -> None:
    """Two store objects for one file in one thread: the inner one would wait for the outer one, which waits
    for it, until the lock timeout. It is refused at once with what to do, and the outer one still commits."""
    from orchestra.store import StateError

    url = f"json://{tmp_path / 'state.json'}"
    outer, inner = open_store(url), open_store(url, wait=3)
    document = outer.export()
    with outer.transaction() as tx:
        tx.set("tasks.outer", {"title": "outer", "status": "queued"})
        with pytest.raises(StateError, match="already has a transaction open on this state file"), \
                inner.transaction():
            pass
        with pytest.raises(StateError, match="already has a transaction open on this state file"):
            inner.import_document(document)
    assert set(open_store(url).get("tasks")) == {"outer"}
    with inner.transaction() as tx:  # nothing of the refused ones is left held
        tx.set("tasks.inner", {"title": "inner", "status": "queued"})
    assert set(open_store(url).get("tasks")) == {"outer", "inner"}


def test_a_process_that_cannot_start_a_thread_polls_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of threads (a process limit): waiting in the queue needs one, so the writer polls the flock instead."""
    url = f"json://{tmp_path / 'state.json'}"
    holder, waiter = _holder(url), open_store(url)

    def no_thread(self) -> None:
        holder.stdin.close()  # the holder may go now: the writer has reached its wait
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(lock_queue.threading.Thread, "start", no_thread)
    with waiter.transaction() as tx:
        tx.set("tasks.waited", {"title": "waited", "status": "queued", "saw": sorted(tx.get("tasks"))})
    assert holder.wait(60) == 0, holder.stderr.read()
    assert open_store(url).get("tasks.waited.saw") == ["held"]


@pytest.mark.parametrize(("counter", "last"), [
    ((lock_queue.TICKETS_END - 2).to_bytes(8, "little"), 2),  # tickets END-1, then 1 and 2
    (b"\xff" * 8, 3),  # past the end: not a queue's counter
    (b"garbage!", int.from_bytes(b"garbage!", "little") + 3),  # below it: counted on from there
])
def test_a_counter_at_its_end_or_not_written_by_a_queue_goes_on(tmp_path: Path, counter: bytes, last: int) -> None:
    url, queue = f"json://{tmp_path / 'state.json'}", tmp_path / "state.json.queue.lock"
    queue.write_bytes(counter)
    store = open_store(url)
    for n in range(3):
        with store.transaction() as tx:
            tx.set(f"tasks.t{n}", {"title": "t", "status": "queued"})
    assert _ticket(queue) == last and queue.stat().st_size == 8
    assert sorted(open_store(url).get("tasks")) == ["t0", "t1", "t2"]
