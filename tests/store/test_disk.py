"""A disk that refuses writes (read-only, or out of room) gives one line naming the store, and no damage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from orchestra.store import open_store

from ..disks import read_only
from .test_cli_state import cli

FILE_BACKENDS = ("sqlite", "json")


def _url(backend: str, tmp_path: Path) -> str:
    state = tmp_path / "state"
    state.mkdir()
    return f"sqlite://{state / 'orchestration.db'}" if backend == "sqlite" else f"json://{state / 'state.json'}"


def _seeded(url: str) -> Path:
    with open_store(url) as store, store.transaction() as tx:
        tx.set("tasks.t1", {"title": "one", "status": "queued"})
    return Path(url.partition("://")[2])


@pytest.mark.parametrize("backend", FILE_BACKENDS)
def test_a_write_to_a_read_only_disk_is_one_line_and_changes_nothing(backend: str, project: Path,
                                                                     tmp_path: Path) -> None:
    url = _url(backend, tmp_path)
    path = _seeded(url)
    before = path.read_bytes()
    with read_only(path.parent):
        proc = cli(url, project, "task", "set-status", "t1", "blocked", "--reason", "r")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert str(path) in proc.stderr
    if os.geteuid() == 0:  # a read-only mount (file modes do not stop root): the disk says why
        assert "the disk is mounted read-only" in proc.stderr
    assert path.read_bytes() == before
    with open_store(url) as store:
        assert store.get("tasks.t1.status") == "queued"


def test_a_json_state_file_the_disk_cannot_hold_is_left_as_it_was(project: Path, tmp_path: Path) -> None:
    # A file size limit refuses the new file partway through, as a full disk does.
    url = _url("json", tmp_path)
    path = _seeded(url)
    before = path.read_bytes()
    code = ("import resource, signal, sys\n"
            "from orchestra.store import open_store, StateError\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (len(open(sys.argv[2], 'rb').read()) + 50, "
            "resource.RLIM_INFINITY))\n"
            "try:\n"
            "    with open_store(sys.argv[1]) as store, store.transaction() as tx:\n"
            "        tx.set('tasks.t2', {'title': 'x' * 2000, 'status': 'queued'})\n"
            "except StateError as exc:\n"
            "    print(exc); sys.exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", code, url, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.startswith(f"{path}: state file not written (") and "left as it was" in proc.stdout
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_an_sqlite_store_on_a_read_only_mount_can_still_be_read(project: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("a read-only mount needs root; file modes alone do not make the disk read-only")
    url = _url("sqlite", tmp_path)
    path = _seeded(url)
    with read_only(path.parent):
        got = cli(url, project, "state", "get", "tasks.t1.status")
        listed = cli(url, project, "task", "list")
        refused = cli(url, project, "task", "set-status", "t1", "blocked", "--reason", "r")
    assert (got.returncode, got.stdout, got.stderr) == (0, "queued\n", "")
    assert listed.returncode == 0 and "t1" in listed.stdout, listed.stderr
    assert refused.returncode == 1 and "the disk is mounted read-only" in refused.stderr
    assert refused.stderr.count("\n") == 1
