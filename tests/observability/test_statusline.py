"""The status line: Claude Code's statusLine JSON in, one line out; wired in settings.json the way the
installer and `wiring --write` keep it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from orchestra import paths, wiring
from orchestra.lifecycle import record_report
from orchestra.metrics.statusline import SQLITE_SCHEMA_VERSION, line, read, render, sqlite_summary, summary

from tests.conftest import PACK, REPO
from tests.observability.harness import report_made_while_running, started_sprint, work

SCRIPT = PACK / "status_line.py"
COMMAND = 'uv run --quiet --script "$CLAUDE_PROJECT_DIR/.claude/orchestra/status_line.py"'


def session_input(project: Path, **extra) -> dict:
    """The statusLine stdin of Claude Code 2.1.328 (reference §2.3), trimmed to what matters here."""
    return {"session_id": "s-1", "transcript_path": str(project / "t.jsonl"), "cwd": str(project),
            "version": "2.1.328", "model": {"id": "claude-opus-4-5", "display_name": "Opus"},
            "workspace": {"current_dir": str(project), "project_dir": str(project), "added_dirs": []},
            "output_style": {"name": "default"}, "cost": {"total_cost_usd": 0.1}, **extra}


def run_status_line(project: Path, stdin: str, **env: str) -> subprocess.CompletedProcess:
    """The command settings.json wires, run through a shell the way Claude Code runs it."""
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}  # the width each test gives
    full.update({"CLAUDE_PROJECT_DIR": str(project), **env})
    return subprocess.run(["sh", "-c", COMMAND.replace("$CLAUDE_PROJECT_DIR/.claude/orchestra", str(PACK))],
                          input=stdin, capture_output=True, text=True, cwd=project, env=full, timeout=120)


def busy(store) -> None:
    started_sprint(store)
    work(store, "task-2fa", "in_progress", "2026-12-03T09:00:00Z")
    with store.transaction() as tx:
        tx.set("agents.r1", {"agent_type": "fullstack-eng", "team": "engineering", "status": "active"})
        tx.set("agents.r2", {"agent_type": "qa-engineer", "team": "qa", "status": "launched"})
        tx.set("agents.r3", {"agent_type": "api-engineer", "team": "engineering", "status": "active"})
        tx.set("agents.r0", {"agent_type": "api-engineer", "team": "engineering", "status": "completed"})
        report_made_while_running(tx, "task-oauth", {"coverage": 80}, by="agent:r0", agent_id="r0")
        record_report(tx, "task-2fa", {"coverage": 82.5}, by="agent:r1", agent_id="r1")


def test_the_real_script_shows_the_sprint(store, sample: Path) -> None:
    busy(store)
    proc = run_status_line(sample, json.dumps(session_input(sample)), NO_COLOR="1")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == ("[Opus] engineering › payments › sprint-3 · ▶ 1 active · 3 queued · ✓ 1 done · "
                           "✖ 1 blocked · cov 82.5% · ●●●\n")


def test_the_line_reaches_claude_code_as_utf8_whatever_the_locale(store, sample: Path) -> None:
    # Python writes stdout in the locale's charset (here as under LANG=en_US.ISO-8859-1); Claude Code reads UTF-8
    busy(store)
    proc = run_status_line(sample, json.dumps(session_input(sample)), NO_COLOR="1", PYTHONIOENCODING="latin-1")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("[Opus] engineering › payments › sprint-3 · ▶ 1 active")


def test_without_state_a_short_line_and_nothing_created(sample: Path) -> None:
    shutil.rmtree(paths.state_dir(sample))
    proc = run_status_line(sample, json.dumps(session_input(sample)), NO_COLOR="1")
    assert proc.returncode == 0 and proc.stdout == "[Opus] orchestra no state yet\n"
    assert not paths.state_dir(sample).exists()


def test_bad_input_still_prints_a_line(sample: Path) -> None:
    proc = run_status_line(sample, "this is not json", NO_COLOR="1")
    assert proc.returncode == 0 and proc.stdout == "orchestra no state yet\n" and proc.stderr == ""


def test_colours_unless_no_color(store, sample: Path) -> None:
    busy(store)
    with store.snapshot() as tx:
        data = summary(tx)
    coloured = render(data, session_input(sample), color=True)
    assert "\033[32m●●●\033[0m" in coloured and "\033[31m✖ 1 blocked\033[0m" in coloured
    assert "\033[" not in render(data, session_input(sample), color=False)


def test_summary_of_a_loaded_sprint_counts_its_definition(store, sample: Path) -> None:
    from orchestra.workflow import load_sprint_into_state

    load_sprint_into_state(store, "sprint-3")
    with store.snapshot() as tx:
        data = summary(tx)
    assert data["sprint"]["status"] == "ready" and data["counts"]["queued"] == 6
    assert render(data, {}, color=False) == "payments › sprint-3 (ready) · ▶ 0 active · 6 queued · ✓ 0 done · ✖ 0 blocked"


def test_unreadable_state_is_reported_not_raised_nor_moved(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = paths.state_dir(sample) / "state.json"
    broken.write_text("{ not json")
    monkeypatch.setenv("ORCHESTRA_STATE_URL", f"json://{broken}")
    assert line(session_input(sample), color=False) == "[Opus] orchestra state unreadable (not valid JSON)"
    assert broken.read_text() == "{ not json"  # quarantining it is for a command, not for the status line


def test_an_unreadable_store_says_why_in_a_few_words(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reason was the error's class (DatabaseError, OperationalError, StateError), which says nothing."""
    db = paths.state_dir(sample) / "orchestration.db"
    db.write_bytes(b"garbage " * 512)
    assert line(session_input(sample), color=False) == "[Opus] orchestra state unreadable (file is not a database)"
    assert db.read_bytes() == b"garbage " * 512
    monkeypatch.setenv("ORCHESTRA_STATE_URL", "postgresql://bob:s3cret@127.0.0.1:1/orchestra")  # nothing listens
    shown = line(session_input(sample), color=False)
    assert shown.startswith("[Opus] orchestra state unreadable (cannot connect to PostgreSQL") and "s3cret" not in shown


def test_the_direct_sqlite_read_agrees_with_the_store(store, sample: Path) -> None:
    from orchestra.store.document import SCHEMA_VERSION

    busy(store)
    with store.snapshot() as tx:
        through_store = summary(tx)
    url = paths.state_url(sample)
    assert through_store["counts"] == {"active": 1, "queued": 3, "done": 1, "blocked": 1, "carried_over": 0}
    assert read(url) == through_store
    if url.startswith("sqlite://"):
        assert SQLITE_SCHEMA_VERSION == SCHEMA_VERSION
        assert sqlite_summary(url.split("://", 1)[1]) == through_store


def user_version(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def test_an_empty_store_file_is_no_state_and_stays_empty(sample: Path) -> None:
    db = paths.state_dir(sample) / "orchestration.db"
    db.write_bytes(b"")  # `: > .claude/state/orchestration.db`
    proc = run_status_line(sample, json.dumps(session_input(sample)), NO_COLOR="1")
    assert proc.returncode == 0 and proc.stdout == "[Opus] orchestra no state yet\n" and proc.stderr == ""
    assert db.read_bytes() == b""


@pytest.mark.parametrize("version, says", [(0, "schema version 0, expected 1; any orchestra command upgrades it"),
                                           (7, "schema version 7 is newer than this Orchestra")])
def test_an_sqlite_file_of_another_schema_is_reported_not_migrated(sample: Path, version: int, says: str) -> None:
    import sqlite3

    from orchestra.store import open_store

    open_store(root=sample).close()
    db = paths.state_dir(sample) / "orchestration.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version={version}")
    assert line(session_input(sample), color=False) == f"[Opus] orchestra state unreadable ({says})"
    assert user_version(db) == version


@pytest.mark.parametrize("stdin", ['{"model":"opus"}', '{"workspace":{"project_dir":123}}',
                                   '{"workspace":{"project_dir":["a"]}}', '{"model":{"display_name":["x"]}}'])
def test_input_of_an_unexpected_shape_still_prints_a_line(store, sample: Path, stdin: str) -> None:
    started_sprint(store)
    proc = run_status_line(sample, stdin, NO_COLOR="1", CLAUDE_PROJECT_DIR="")  # the project from the input, then cwd
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.startswith("engineering › payments › sprint-3 · ")


def test_text_from_state_cannot_drive_the_terminal(store, sample: Path) -> None:
    started_sprint(store)
    with store.transaction() as tx:
        tx.update("sprints.sprint-3", {"epic": "pay\nments\x1b]0;pwned\x07\x1b[2J\r", "status": "review\x1b[8m"})
    session = session_input(sample, model={"display_name": "Opus\x1b[31m\n"})
    plain = line(session, color=False)
    assert plain.startswith("[Opus] engineering › pay ments › sprint-3 (review) · ")
    assert not any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in plain)
    coloured = line(session, color=True)
    assert "pwned" not in coloured and "\x1b[2J" not in coloured and "\n" not in coloured


def test_a_line_or_paragraph_separator_in_a_name_is_a_space(store, sample: Path) -> None:
    """U+2028, U+2029 and NEL break lines as a newline does (in Claude Code's own text handling and in terminals
    that honour them): the line showed them raw, where the commands' output turns them into spaces."""
    started_sprint(store)
    with store.transaction() as tx:
        tx.update("sprints.sprint-3", {"epic": "pay\u2028ments\u2029now\x85here"})
    plain = line(session_input(sample, model={"display_name": "Opus\u2028X"}), color=False)
    assert plain.startswith("[Opus X] engineering › pay ments now here › sprint-3 · ")


def test_a_long_or_reversing_name_keeps_the_line_one_short_row(store, sample: Path) -> None:
    """A name is cut to 40 characters (Claude Code shows each output line as a row; a long one wraps over
    several), and a right-to-left override cannot show the rest of the line reversed."""
    started_sprint(store)
    with store.transaction() as tx:
        tx.update("sprints.sprint-3", {"epic": "\u202e" + "E" * 5000})
    plain = line(session_input(sample, model={"display_name": "M" * 300}), color=False)
    assert plain.startswith(f"[{'M' * 39}…] engineering › {'E' * 39}… › sprint-3 · ")
    assert len(plain) < 200 and "\u202e" not in plain


@pytest.mark.parametrize("columns, shown", [
    ("120", "[Opus] engineering › payments › sprint-3 · ▶ 1 active · 3 queued · ✓ 1 done · ✖ 1 blocked · cov 82.5% · ●●●"),
    ("80", "[Opus] engineering › payments › sprint-3 ▶1 3 queued ✓1 ✖1 cov 82.5% ●●●"),
    ("50", "[Opus] sprint-3 ▶1 3 queued ✓1 ✖1 cov 82.5% ●●●"),
    ("40", "sprint-3 ▶1 3 queued ✓1 ✖1 cov 82.5% ●●●"),
    ("20", "sprint-3 ▶1 3 queue…"),
    ("0", "[Opus] engineering › payments › sprint-3 · ▶ 1 active · 3 queued · ✓ 1 done · ✖ 1 blocked · cov 82.5% · ●●●"),
])
def test_a_narrow_terminal_gets_a_line_that_fits(store, sample: Path, columns: str, shown: str) -> None:
    """Claude Code gives the command the terminal's width in COLUMNS; a line wider wraps over several rows."""
    busy(store)
    proc = run_status_line(sample, json.dumps(session_input(sample)), NO_COLOR="1", COLUMNS=columns)
    assert proc.returncode == 0 and proc.stdout == shown + "\n"


def test_a_cut_line_counts_wide_characters_and_keeps_its_colours() -> None:
    data = {"sprint": {"id": "スプリント-3", "status": "active", "epic": None}, "team": None, "coverage": None,
            "counts": {"active": 0, "queued": 2, "done": 0, "blocked": 1}, "agents": []}
    assert render(data, {}, color=False, width=20) == "スプリント-3 ▶0 2 q…"  # 5 wide characters: 10 columns
    assert render(data, {}, color=True, width=20) == "\033[1;36mスプリント-3\033[0m \033[2m▶0\033[0m 2 q…"
    assert render(None, {}, color=False, note="state unreadable (" + "x" * 90 + ")", width=30) == (
        "orchestra state unreadable (x…")


def test_many_agents_are_capped() -> None:
    data = {"sprint": {"id": "s", "status": "active", "epic": None}, "team": None, "coverage": None,
            "counts": {"active": 14, "queued": 0, "done": 0, "blocked": 0},
            "agents": [{"id": str(i)} for i in range(14)]}
    assert render(data, {}, color=False).endswith("●●●●●●●●●●+4")


def test_settings_wire_it_and_wiring_write_keeps_it(tmp_path: Path) -> None:
    settings = json.loads((REPO / ".claude/settings.json").read_text())
    assert settings["statusLine"]["type"] == "command" and settings["statusLine"]["command"] == COMMAND
    copy = tmp_path / "settings.json"
    copy.write_text(json.dumps({**settings, "hooks": {}}))
    wiring.write_project_settings(copy)
    rewritten = json.loads(copy.read_text())
    assert rewritten["statusLine"] == settings["statusLine"] and rewritten["hooks"] == wiring.hooks_block()
    head = SCRIPT.read_text()
    assert head.startswith("#!/usr/bin/env -S uv run --quiet --script") and 'path = "."' in head


def test_an_sqlite_store_on_a_read_only_disk_is_still_shown(sample: Path) -> None:
    from orchestra.store import open_store

    from tests.disks import read_only

    with open_store() as store:
        busy(store)
        with store.snapshot() as tx:
            expected = summary(tx)
    db = paths.state_dir(sample) / "orchestration.db"
    assert not Path(f"{db}-shm").exists()  # closed: nothing left for a reader to share
    with read_only(db.parent):
        assert sqlite_summary(str(db)) == expected
        proc = run_status_line(sample, json.dumps(session_input(sample)), NO_COLOR="1")
    assert proc.returncode == 0 and "sprint-3" in proc.stdout and "unreadable" not in proc.stdout, proc.stdout


def counts_everywhere(store, sample: Path) -> list[dict]:
    """The counts of the sprint shown, as the status line, `sprint status`, the dashboard and the report
    each have them (the last three in the status line's terms)."""
    from orchestra.dashboard.snapshot import build as dashboard
    from orchestra.metrics.tally import glance
    from orchestra.report.model import build as report
    from orchestra.workflow import sprint_status

    from tests.observability.harness import NOW

    with store.snapshot() as tx:
        line_counts = summary(tx)["counts"]
    board = dashboard(store, sample, now=NOW)["sprint"]
    sprint = board["sprint"]
    status = sprint_status(store, sprint, sample, now=NOW, trials=10)
    return [line_counts, glance(status["counts"]), glance(board["counts"]),
            glance(report(store, sprint, sample, now=NOW)["counts"])]


def test_work_carried_out_of_a_closed_sprint_is_not_shown_queued_in_it(store, sample: Path) -> None:
    """A closed sprint's unfinished work left it at close: the line said `6 queued` for a sprint closed with
    nothing done. It says carried over, as `sprint status`, the dashboard and the report count it."""
    from orchestra.workflow import close_sprint, start_sprint

    start_sprint(store, "sprint-3", sample)
    work(store, "task-fraud-rules", "blocked", "2026-12-02T11:00:00Z", blocker="risk rules")
    close_sprint(store, "sprint-3", sample)
    proc = run_status_line(sample, json.dumps(session_input(sample)), NO_COLOR="1")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == ("[Opus] payments › sprint-3 (complete) · ▶ 0 active · 0 queued · ✓ 0 done · "
                           "✖ 0 blocked · ↪ 6 carried over\n")
    everywhere = counts_everywhere(store, sample)
    assert everywhere == [{"active": 0, "queued": 0, "done": 0, "blocked": 0, "carried_over": 6}] * 4


def test_carried_over_work_counts_under_the_next_sprint_with_its_status(store, sample: Path) -> None:
    """The next sprint, loaded but not started, lists work carried over blocked: it is counted blocked there,
    as `sprint status` counts it, not queued; what the closed sprint finished stays its own."""
    from orchestra.workflow import close_sprint, load_sprint_into_state

    started_sprint(store)  # task-oauth done, task-fraud-rules blocked
    close_sprint(store, "sprint-3", sample)
    (sample / ".claude/sprints/sprint-4.yaml").write_text(
        "id: sprint-4\nname: Next\nepic: payments\nstart: 2026-12-15\nend: 2026-12-28\ntasks:\n"
        "  - {id: task-fraud-rules, title: Fraud rules, team: engineering, estimate: 3}\n"
        "  - {id: task-2fa, title: 2FA, team: engineering, estimate: 3}\n"
        "  - {id: task-new, title: New, team: engineering, estimate: 1}\n")
    load_sprint_into_state(store, "sprint-4", sample)
    line_counts, *others = counts_everywhere(store, sample)
    assert line_counts == {"active": 0, "queued": 2, "done": 0, "blocked": 1, "carried_over": 0}
    assert others == [line_counts] * 3
    assert line(session_input(sample), color=False) == (
        "[Opus] payments › sprint-4 (ready) · ▶ 0 active · 2 queued · ✓ 0 done · ✖ 1 blocked")
    url = paths.state_url(sample)
    if url.startswith("sqlite://"):  # the direct read finds the work in no sprint as the store does
        with store.snapshot() as tx:
            assert sqlite_summary(url.split("://", 1)[1]) == summary(tx)
