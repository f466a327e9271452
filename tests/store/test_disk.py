"""A disk that refuses writes (read-only, or out of room) gives one line naming the store, and no damage."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from orchestra.store import open_store

from ..conftest import REPO, load_fixture, run_hook
from ..disks import Unprivileged, fill, full, read_only
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


def test_a_json_writer_removes_only_its_own_leftover_temp_files(tmp_path: Path) -> None:
    """Temp files of a killed writer are removed by the next one; those of another JSON store in the same
    directory whose name starts with this one's (`s.x` beside `s`) were removed too, mid-write."""
    theirs = tmp_path / ".s.x.abcd_123.tmp"  # as atomic.write_bytes names the one `s.x` is writing now
    ours = tmp_path / ".s.k1lled_w.tmp"
    for leftover in (theirs, ours):
        leftover.write_bytes(b"{}")
    with open_store(f"json://{tmp_path / 's'}") as store:
        store.set("tasks.t", {"title": "T"})
    assert theirs.exists() and not ours.exists()


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


def _bash_call(project: Path, **fields: object) -> dict:
    """The captured PreToolUse of a Bash call, in `project`, as the main thread makes it unless `fields` say."""
    event = next(e for e in load_fixture("claude-code-2.1.328/nested-delegation.jsonl")
                 if e["hook_event_name"] == "PreToolUse" and e["tool_name"] == "Bash")
    event = {key: value for key, value in event.items() if key not in ("agent_id", "agent_type")}
    return {**event, "cwd": str(project), **fields}


def test_a_guard_on_a_full_disk_answers_when_teams_yaml_and_policy_changed(project: Path, tmp_path: Path) -> None:
    """The guard's caches of teams.yaml and policy.yaml are only caches: when the disk cannot take a new
    copy, the tool call is still judged (it was blocked: 'No space left on device' on every tool call)."""
    shutil.copy(REPO / ".claude" / "teams.yaml", project / ".claude" / "teams.yaml")
    policy = project / ".claude" / "policy.yaml"
    policy.write_text("protected_paths: []\n")
    with full(tmp_path / "disk") as disk:
        env = {"ORCHESTRA_STATE_DIR": str(disk / "state")}
        assert run_hook("pre_tool.py", _bash_call(project), project, env=env).returncode == 0
        fill(disk)
        for edited in (project / ".claude" / "teams.yaml", policy):  # the caches of both are stale now
            edited.write_text(edited.read_text() + "\n")
        proc = run_hook("pre_tool.py", _bash_call(project), project, env=env)
    assert proc.returncode == 0, proc.stderr
    assert b"blocked" not in proc.stderr and b"Traceback" not in proc.stderr


def test_an_sqlite_store_on_a_full_disk_can_still_be_read(project: Path, tmp_path: Path) -> None:
    """With no room for SQLite's WAL index file, reads open the database as it stands: commands read it,
    a subagent's tool calls are judged (they were all blocked: 'disk I/O error'), writes fail in one line."""
    with full(tmp_path / "disk") as disk:
        url = f"sqlite://{disk / 'state' / 'orchestration.db'}"
        (disk / "state").mkdir()
        path = _seeded(url)
        fill(disk)
        got = cli(url, project, "state", "get", "tasks.t1.status")
        listed = cli(url, project, "task", "list")
        refused = cli(url, project, "task", "set-status", "t1", "blocked", "--reason", "r")
        call = run_hook("pre_tool.py", _bash_call(project, agent_id="a1", agent_type="general-purpose"), project,
                        env={"ORCHESTRA_STATE_URL": url})
    assert (got.returncode, got.stdout, got.stderr) == (0, "queued\n", "")
    assert listed.returncode == 0 and "t1" in listed.stdout, listed.stderr
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert str(path) in refused.stderr and "the disk is full" in refused.stderr
    assert call.returncode == 0, call.stderr


def test_a_hook_whose_audit_line_fits_on_a_full_disk_but_not_its_head_says_the_line_is_written(
        project: Path, tmp_path: Path) -> None:
    """The line lands in the log's last, part-filled block; the head's new copy needs a block of its own. The
    hook said 'audit log not written' although the line is there (and `audit verify` counts it)."""
    from orchestra import audit

    with full(tmp_path / "disk") as disk:
        env = {"ORCHESTRA_STATE_DIR": str(disk / "state")}
        assert run_hook("pre_tool.py", _bash_call(project), project, env=env).returncode == 0
        fill(disk)
        proc = run_hook("pre_tool.py", _bash_call(project), project, env=env)
        report = audit.check(disk / "state" / "audit.jsonl")
    assert proc.returncode == 0, proc.stderr
    log = disk / "state" / "audit.jsonl"
    assert proc.stderr.decode() == f"orchestra: audit line written to {log}, but audit.head.json was not updated " \
                                   "(No space left on device)\n"
    assert report.ok and report.lines == 2, report.to_dict()
    assert report.warnings == ["1 line(s) after the head anchor (an append interrupted before its head update)"]


def test_a_state_dir_gitignore_left_empty_by_a_cut_short_write_is_written_again(project: Path, tmp_path: Path) -> None:
    """A kill or a full disk between making `.claude/state/.gitignore` and writing it left it empty for good:
    git then showed the store and the audit log, and `git add -A` took them."""
    state = project / ".claude" / "state"
    state.mkdir()
    (state / ".gitignore").write_text("")
    session_start = load_fixture("claude-code-2.1.328/nested-delegation.jsonl")[0]
    proc = run_hook("session_start.py", {**session_start, "cwd": str(project)}, project)
    assert proc.returncode == 0, proc.stderr
    assert (state / ".gitignore").read_text() == "*\n"
    shown = subprocess.run(["git", "-C", str(project), "status", "--porcelain", "--untracked-files=all"],
                           capture_output=True, text=True, check=True).stdout
    assert ".claude/state" not in shown and "orchestration.db" not in shown, shown


def test_init_on_a_full_disk_says_the_disk_is_full(project: Path, tmp_path: Path) -> None:
    """SQLite makes the new file, empty, before it fails: that is no store to read, nor one of an older schema."""
    with full(tmp_path / "disk") as disk:
        fill(disk)
        refused = cli(f"sqlite://{disk / 'orchestration.db'}", project, "init")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "the disk is full" in refused.stderr and "schema_version" not in refused.stderr


@pytest.fixture
def unprivileged(tmp_path: Path):
    user = Unprivileged(tmp_path)
    yield user
    user.cleanup()


def test_an_sqlite_file_made_read_only_is_read_refuses_writes_and_takes_them_once_writable(
        unprivileged: Unprivileged) -> None:
    """Read while the file was read-only, the store got WAL files read-only like it, and once the file was
    writable again every write still failed ('attempt to write a readonly database', naming the file)."""
    path = unprivileged.dir / "orchestration.db"
    url = f"sqlite://{path}"
    assert unprivileged.cli(url, "state", "set", "tasks.t1", '{"title": "one"}').returncode == 0
    path.chmod(0o444)
    got = unprivileged.cli(url, "state", "get", "tasks.t1.title")
    refused = unprivileged.cli(url, "state", "set", "tasks.t1.title", '"two"')
    assert (got.returncode, got.stdout) == (0, "one\n"), got.stderr
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert f"{path}: " in refused.stderr and "the file is read-only for this user (mode 0444)" in refused.stderr
    path.chmod(0o644)
    written = unprivileged.cli(url, "state", "set", "tasks.t1.title", '"two"')
    assert written.returncode == 0, written.stderr
    assert unprivileged.cli(url, "state", "get", "tasks.t1.title").stdout == "two\n"


def test_an_sqlite_store_in_a_directory_its_user_may_not_write_is_read_and_says_why_it_is_not_written(
        unprivileged: Unprivileged) -> None:
    """Reads failed too, with 'attempt to write a readonly database'."""
    state = unprivileged.dir / "state"
    url = f"sqlite://{state / 'orchestration.db'}"
    assert unprivileged.cli(url, "state", "set", "tasks.t1", '{"title": "one"}').returncode == 0
    state.chmod(0o555)
    try:
        got = unprivileged.cli(url, "state", "get", "tasks.t1.title")
        refused = unprivileged.cli(url, "state", "set", "tasks.t1.title", '"two"')
    finally:
        state.chmod(0o755)
    assert (got.returncode, got.stdout) == (0, "one\n"), got.stderr
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert f"its directory {state} is not writable for this user" in refused.stderr


def test_a_json_state_file_made_read_only_is_not_replaced(unprivileged: Unprivileged) -> None:
    """Every write replaces the file whole, which the directory allowed: a read-only file was replaced
    by a writable one."""
    path = unprivileged.dir / "state.json"
    url = f"json://{path}"
    assert unprivileged.cli(url, "state", "set", "tasks.t1", '{"title": "one"}').returncode == 0
    path.chmod(0o444)
    before = path.read_bytes()
    refused = unprivileged.cli(url, "state", "set", "tasks.t1.title", '"two"')
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr == (f"orchestra state: {path}: state file not written (the file is read-only for this "
                              "user, mode 0444); it is left as it was\n")
    assert path.read_bytes() == before and path.stat().st_mode & 0o777 == 0o444


def test_an_sqlite_store_of_an_earlier_layout_on_a_read_only_disk_is_read_without_its_newer_indexes(
        project: Path, tmp_path: Path) -> None:
    """The indexes a store of an earlier Orchestra lacks are added when it is opened, which a read-only disk
    does not allow: every lookup by status then failed with 'no such index: entities_status'."""
    import sqlite3

    url = _url("sqlite", tmp_path)
    path = _seeded(url)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX entities_status")
    conn.close()
    with read_only(path.parent):
        inbox = cli(url, project, "msg", "inbox")
        queued = cli(url, project, "task", "list", "--status", "queued")
    assert inbox.returncode == 0 and "no open messages" in inbox.stdout, inbox.stderr
    assert queued.returncode == 0 and "t1" in queued.stdout, queued.stderr


def test_a_new_sqlite_store_in_a_directory_its_user_may_not_write_says_so(unprivileged: Unprivileged) -> None:
    """It said only 'unable to open database file'."""
    state = unprivileged.dir / "state"
    state.mkdir(mode=0o555)
    url = f"sqlite://{state / 'orchestration.db'}"
    refused = unprivileged.cli(url, "init")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert f"its directory {state} is not writable for this user" in refused.stderr
