"""`orchestra metrics` and `orchestra events tail [-f]` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from orchestra.cli import main

from tests.conftest import REPO
from tests.observability.harness import an_earlier_export, spy_event_reads, started_sprint, work


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_metrics_json_and_text(store, capsys: pytest.CaptureFixture) -> None:
    started_sprint(store)
    code, out, _ = run(capsys, "metrics", "--json")
    data = json.loads(out)
    assert code == 0 and data["sprint"]["sprint"] == "sprint-3" and data["blocker_count"] == 1
    assert set(data) >= {"agent_count", "agent_utilization", "task_throughput", "average_task_time", "cycle_time",
                         "error_rate", "hook_latency", "blockers", "completion_rate", "velocity", "burndown",
                         "test_coverage", "build_success_rate"}
    code, out, _ = run(capsys, "metrics")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "sprint-3 Payments (active): 5 of 21 points done"
    assert "task time     mean 31 h, median 31 h over 1 tasks" in lines
    assert "coverage      —" in lines


def test_metrics_of_a_sprint_that_does_not_exist(store, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, "metrics", "--sprint", "sprint-9")
    assert code == 1 and out == "" and err.startswith("orchestra metrics: sprint 'sprint-9'")


def test_metrics_of_an_empty_or_dotted_sprint_id_is_no_sprint(store, capsys: pytest.CaptureFixture) -> None:
    started_sprint(store)  # a sprint is in progress: `--sprint ""` must not read as "no sprint in state"
    for bad in ("", " ", "sprint-3.name", "sprint-3."):
        code, out, err = run(capsys, "metrics", "--sprint", bad)
        assert code == 1 and out == "" and err.count("\n") == 1, (bad, out, err)
        assert err.startswith(f"orchestra metrics: sprint {bad!r}: no such file"), (bad, err)


def test_events_tail_of_a_type_that_is_not_utf8_names_the_byte(store, capsys: pytest.CaptureFixture) -> None:
    started_sprint(store)
    typed = os.fsdecode(b"task_compl\xe9ted")  # a Latin-1 terminal: how Python reads that argument
    code, out, err = run(capsys, "events", "tail", "--type", "task_completed", "--type", typed)
    assert (code, out) == (1, "")
    assert err == ("orchestra events: --type task_compl\ufffdted: character 11 is the byte 0xe9, which is not "
                   "UTF-8 text; give the type in UTF-8\n")


def test_events_tail(store, capsys: pytest.CaptureFixture) -> None:
    started_sprint(store)
    code, out, _ = run(capsys, "events", "tail", "-n", "3")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[-1].split(None, 3)[2:] == ["task_blocked", "task-fraud-rules blocked"]
    code, out, _ = run(capsys, "events", "tail", "--json", "--type", "task_completed", "--type", "sprint_started")
    events = json.loads(out)
    assert [e["type"] for e in events] == ["sprint_started", "task_completed"]
    assert run(capsys, "events", "tail", "-n", "0")[1] == ""
    code, _, err = run(capsys, "events", "tail", "-n", "-2")
    assert code == 1 and "--lines -2" in err


def test_events_tail_shows_the_end_of_the_log_without_reading_all_of_it(store, capsys: pytest.CaptureFixture,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`-n N` (with or without --type) prints the last N events as before, read back from the newest event:
    the events before them are never read (on a long log, reading them all took seconds)."""
    started_sprint(store)
    with store.transaction() as tx:
        for n in range(80):
            tx.append_event("state_updated" if n % 4 else "tool_failed", {"n": n},
                            ts=f"2026-12-04T12:{n % 60:02d}:00Z")
    every = store.events_after(0, None)
    read = spy_event_reads(monkeypatch)
    for argv, kept in ((["-n", "7"], every[-7:]),
                       (["-n", "3", "--type", "tool_failed", "--type", "task_blocked"],
                        [e for e in every if e["type"] in ("tool_failed", "task_blocked")][-3:]),
                       (["-n", "500", "--type", "task_completed"], [e for e in every if e["type"] == "task_completed"])):
        code, out, err = run(capsys, "events", "tail", "--json", *argv)
        assert code == 0 and err == "" and json.loads(out) == kept, argv
    code, out, _ = run(capsys, "events", "tail", "-n", "2")
    assert [line.split()[0] for line in out.splitlines()] == [str(e["id"]) for e in every[-2:]]
    assert not [e for e in read if e["type"] == "state_updated" and e["id"] < every[-7]["id"]]


def test_events_tail_of_a_type_the_log_does_not_hold_says_so(store, capsys: pytest.CaptureFixture) -> None:
    """`--type task_complete` (a typo) printed nothing, and with -f waited for ever without a word."""
    started_sprint(store)
    code, out, err = run(capsys, "events", "tail", "--type", "task_complete", "--type", "sprint_started")
    assert code == 0 and "sprint_started" in out and err == ""  # one of them matched
    code, out, err = run(capsys, "events", "tail", "--json", "--type", "task_complete")
    assert code == 0 and json.loads(out) == []
    assert err.startswith("orchestra events: no event of type task_complete in the log; it holds: ")
    assert "task_completed" in err.split("it holds: ")[1].split(", ") and err.count("\n") == 1


def test_events_tail_of_a_type_the_log_does_not_hold_names_the_types_without_reading_the_log(
        store, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The types the log holds are read as such: on a 100,000-event log, reading every event to list them
    made the answer take most of a second."""
    started_sprint(store)
    with store.transaction() as tx:
        for n in range(50):
            tx.append_event("tool_failed" if n % 2 else "message.sent", {"n": n})
    held = sorted({e["type"] for e in store.events_after(0, None)})
    read = spy_event_reads(monkeypatch)
    code, out, err = run(capsys, "events", "tail", "--type", "task_complete")
    assert code == 0 and out == ""
    assert err == f"orchestra events: no event of type task_complete in the log; it holds: {', '.join(held)}\n"
    assert read == []


def test_events_tail_follow_prints_new_events(store, sample: Path) -> None:
    started_sprint(store)
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(sample)}
    proc = subprocess.Popen(["uv", "run", "--quiet", "orchestra", "events", "tail", "-n", "1", "-f", "--json"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["type"] == "task_blocked"
        work(store, "task-2fa", "in_progress", "2026-12-04T10:00:00Z")
        work(store, "task-2fa", "completed", "2026-12-04T11:00:00Z")
        followed = [json.loads(proc.stdout.readline()) for _ in range(2)]
        assert [(e["type"], e["task_id"]) for e in followed] == [("task_started", "task-2fa"),
                                                                ("task_completed", "task-2fa")]
        assert followed[0]["id"] == first["id"] + 1
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_events_tail_follow_goes_on_with_a_store_put_in_place_of_the_one_it_read(sample: Path, backend: str) -> None:
    """A store moved aside (as unreadable) and a new one made at its path: -f went on reading the old,
    unlinked file (or skipped the new store's events, whose ids start again at 1), printing nothing more.
    It says so and follows the new one."""
    import queue
    import threading
    import time

    from orchestra import paths
    from orchestra.store import open_store

    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(sample)}
    env.pop("ORCHESTRA_STATE_URL", None)
    db = paths.state_dir(sample) / ("orchestration.db" if backend == "sqlite" else "state.json")
    if backend == "json":
        env["ORCHESTRA_STATE_URL"] = f"json://{db}"
    with open_store(env.get("ORCHESTRA_STATE_URL"), root=sample) as store:
        started_sprint(store)
    proc = subprocess.Popen(["uv", "run", "--quiet", "orchestra", "events", "tail", "-n", "1", "-f", "--json"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        assert json.loads(lines.get(timeout=60))["type"] == "task_blocked"
        for name in (db.name, f"{db.name}-wal", f"{db.name}-shm"):
            if (db.parent / name).exists():
                (db.parent / name).rename(db.parent / f"{name}.aside")
        time.sleep(1)  # a look while it is gone: a JSON store's only sign of being another one
        with open_store(env.get("ORCHESTRA_STATE_URL"), root=sample) as store, store.transaction() as tx:
            tx.append_event("task_completed", {}, task_id="task-new", ts="2026-12-04T12:00:00Z")
        followed = json.loads(lines.get(timeout=30))
        assert (followed["type"], followed["task_id"]) == ("task_completed", "task-new")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"orchestra events: the state store {backend}://" in err and "following the one made next" in err


@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_events_tail_follow_goes_on_after_the_log_is_replaced_by_an_import(sample: Path, backend: str) -> None:
    """`state import` replaces the log in place (same file): new events then take ids at or below the last
    one -f had read, and it printed nothing more. It says so and follows the imported log."""
    import queue
    import threading

    from orchestra import paths
    from orchestra.store import open_store

    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(sample)}
    env.pop("ORCHESTRA_STATE_URL", None)
    if backend == "json":
        env["ORCHESTRA_STATE_URL"] = f"json://{paths.state_dir(sample) / 'state.json'}"
    with open_store(env.get("ORCHESTRA_STATE_URL"), root=sample) as store:
        older = an_earlier_export(store)
    proc = subprocess.Popen(["uv", "run", "--quiet", "orchestra", "events", "tail", "-n", "1", "-f", "--json"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        assert json.loads(lines.get(timeout=60))["data"] == {"n": 4}
        with open_store(env.get("ORCHESTRA_STATE_URL"), root=sample) as store:
            store.import_document(older)
            with store.transaction() as tx:
                tx.append_event("task_completed", {}, task_id="after-import", ts="2026-12-04T12:00:00Z")
        followed = json.loads(lines.get(timeout=30))
        assert (followed["id"], followed["task_id"]) == (3, "after-import")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "orchestra events: the event log was replaced (state import); following it anew from its last 1" in err


HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[Hfake\r\n  line\x9b31m\u202ereversed\x1bc"


def unprintable(text: str) -> list[str]:
    """The characters of `text` a terminal would act on rather than show (newlines apart)."""
    return [ch for ch in text if (ch < " " and ch != "\n") or "\x7f" <= ch <= "\x9f" or "\u202a" <= ch <= "\u202e"]


def test_text_from_state_cannot_drive_the_terminal(store, capsys: pytest.CaptureFixture) -> None:
    """Titles, blocker reasons, names and messages come from agents: in the text output they cannot clear
    the screen, set the window title, move the cursor, overwrite a line or start a line of their own."""
    from orchestra.bus import send

    started_sprint(store)
    with store.transaction() as tx:
        tx.update("sprints.sprint-3", {"name": f"Pay{HOSTILE}"})
        tx.update("tasks.task-2fa", {"title": f"TOTP{HOSTILE}"})
        send(tx, sender="human", to="tech-lead", type="state_updated", payload={"text": f"hello{HOSTILE}"})
    work(store, "task-payments-api", "blocked", "2026-12-03T12:00:00.000Z", blocker=f"wait{HOSTILE}")
    outputs = {}
    for argv in (["task", "list"], ["task", "show", "task-2fa"], ["task", "show", "task-payments-api"],
                 ["sprint", "status"], ["sprint", "status", "sprint-3"], ["metrics"], ["msg", "inbox", "tech-lead"],
                 ["events", "tail", "-n", "50"]):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert unprintable(out) == [], argv
        outputs[" ".join(argv)] = out.splitlines()
    listed = outputs["task list"]
    assert len(listed) == 1 + 6  # the header and one line per task of sprint-3: the title's newline started none
    assert next(row for row in listed if row.startswith("task-2fa")).endswith("TOTPfake   line31mreversed")
    assert outputs["task show task-2fa"][0] == "task-2fa  queued  TOTPfake   line31mreversed"
    assert "  blocker: waitfake   line31mreversed" in outputs["task show task-payments-api"]
    assert outputs["sprint status sprint-3"][0].startswith("sprint-3 Payfake   line31mreversed (active)")
    assert "hellofake   line31mreversed" in outputs["msg inbox tech-lead"][1]
    # JSON keeps the text as it is: a program reading it gets what was written; what JSON itself leaves raw
    # that a terminal acts on (an 8-bit CSI, a bidi override) is written as a \u escape of the same value
    for argv in (["task", "show", "task-2fa"], ["events", "tail", "-n", "50"], ["msg", "inbox", "tech-lead"]):
        out = run(capsys, *argv, "--json")[1]
        assert unprintable(out) == [] and json.loads(out), argv
    assert json.loads(run(capsys, "task", "show", "task-2fa", "--json")[1])["task"]["title"] == f"TOTP{HOSTILE}"
