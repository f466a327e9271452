"""`orchestra state ...` run for real (`uv run orchestra`, a subprocess) against every backend."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from orchestra.store import open_store

from ..conftest import REPO
from .conftest import BACKENDS, fingerprint, state_file


def cli(url: str, project: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project), "ORCHESTRA_STATE_URL": url}
    return subprocess.run(
        ["uv", "run", "--quiet", "--project", str(REPO), "orchestra", *args],
        input=stdin, capture_output=True, text=True, cwd=project, env=env, timeout=120,
    )


def _seed(url: str) -> None:
    with open_store(url) as store, store.transaction() as tx:
        tx.set("sprints.sprint-3", {"name": "Payments", "status": "active"})
        tx.set("tasks.task-oauth", {"title": "OAuth", "status": "in_progress", "sprint": "sprint-3"})
        tx.append_event("task.assigned", task_id="task-oauth")


def test_init_of_another_url_says_orchestra_uses_it_only_where_orchestra_state_url_names_it(
        project: Path, tmp_path: Path) -> None:
    other = f"json://{tmp_path / 'other.json'}"
    proc = cli(f"sqlite://{tmp_path / 'main.db'}", project, "init", "--url", other)
    assert proc.returncode == 0 and proc.stdout.splitlines()[0] == f"state ready: {other}"
    assert f"Orchestra uses sqlite://{tmp_path / 'main.db'} here: set ORCHESTRA_STATE_URL to this URL" in proc.stdout
    again = cli(other, project, "init", "--url", other)  # already the store in use: nothing to add
    assert (again.returncode, again.stdout) == (0, f"state ready: {other}\n")


def test_set_get_export_import(store_url: str, project: Path, tmp_path: Path) -> None:
    _seed(store_url)
    assert cli(store_url, project, "state", "set", "tasks.task-2fa", '{"title": "2FA", "status": "queued"}').returncode == 0
    assert cli(store_url, project, "state", "set", "tasks.task-2fa.blocker", "null").returncode == 0
    got = cli(store_url, project, "state", "get", "tasks.task-2fa.status")
    assert (got.returncode, got.stdout) == (0, "queued\n")
    assert cli(store_url, project, "state", "get", "tasks.task-2fa.blocker").stdout == "null\n"
    assert json.loads(cli(store_url, project, "state", "get", "tasks.task-2fa.status", "--json").stdout) == "queued"
    assert json.loads(cli(store_url, project, "state", "get", "tasks.task-2fa").stdout) == {
        "id": "task-2fa", "title": "2FA", "status": "queued", "blocker": None}
    exported = cli(store_url, project, "state", "export")
    assert exported.returncode == 0
    with open_store(store_url) as store:
        assert json.loads(exported.stdout) == store.export()
    dump = tmp_path / "export.json"
    dump.write_text(exported.stdout)
    assert cli(store_url, project, "state", "set", "tasks.task-oauth.status", '"completed"').returncode == 0
    assert cli(store_url, project, "state", "import", str(dump)).returncode == 0
    assert cli(store_url, project, "state", "export").stdout == exported.stdout
    assert cli(store_url, project, "state", "import", "-", stdin=exported.stdout).returncode == 0
    assert cli(store_url, project, "state", "export").stdout == exported.stdout


def test_an_export_with_runs_no_delegation_started_imports(store_url: str, project: Path, tmp_path: Path) -> None:
    """A subagent the main thread started without a delegation (Claude Code's Explore, an orchestrator's run
    of a sprint) has no parent run: `state import` of that export refused `parent: None`, so no real
    project's backup could be restored."""
    from ..conftest import run_hook

    payload = {"session_id": "5e551011-0000-4000-8000-000000000001", "transcript_path": str(project / "t.jsonl"),
               "cwd": str(project), "hook_event_name": "SubagentStart", "agent_id": "a0e0e0e0e0e0e0e01",
               "agent_type": "Explore"}
    assert run_hook("subagent_start.py", payload, project, env={"ORCHESTRA_STATE_URL": store_url}).returncode == 0
    exported = cli(store_url, project, "state", "export")
    assert json.loads(exported.stdout)["agents"]["a0e0e0e0e0e0e0e01"]["parent"] is None
    dump = tmp_path / "export.json"
    dump.write_text(exported.stdout)
    imported = cli(store_url, project, "state", "import", str(dump))
    assert imported.returncode == 0, imported.stderr
    assert cli(store_url, project, "state", "export").stdout == exported.stdout


def test_export_is_byte_identical_on_every_backend(project: Path, tmp_path: Path) -> None:
    outputs = {}
    for name, make_url in BACKENDS.items():
        base = tmp_path / name
        base.mkdir()
        url = make_url(base)
        for path, value in (("tasks.b", '{"title": "B"}'), ("tasks.a", '{"title": "A"}'),
                            ("communication.messages.m-1", '{"type": "note", "to": "human"}'), ("organization.name", '"acme"')):
            assert cli(url, project, "state", "set", path, value).returncode == 0
        outputs[name] = cli(url, project, "state", "export").stdout
    assert len(set(outputs.values())) == 1, outputs
    assert list(json.loads(outputs["sqlite"])["tasks"]) == ["a", "b"]


def test_v0_document_imports_through_the_cli(store_url: str, project: Path, tmp_path: Path) -> None:
    v0 = tmp_path / "seed state.json"
    v0.write_text(json.dumps({"tasks": [{"id": "task-oauth", "title": "OAuth", "status": "completed"}],
                              "communication": {"messages": [{"id": "m-1", "type": "note", "to": "human"}]}}))
    proc = cli(store_url, project, "state", "import", str(v0))
    assert proc.returncode == 0, proc.stderr
    with open_store(store_url) as store:
        assert store.get("tasks.task-oauth.status") == "completed"
        assert store.get("communication.messages.m-1.to") == "human"
        assert store.get("schema_version") == 1


def _file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


BAD_INPUT = [
    # (argv, text the one-line error must contain)
    (["state", "set", "bogus.x", "1"], "invalid path 'bogus.x': unknown key 'bogus'"),
    (["state", "set", "tasks..x", "1"], "invalid path 'tasks..x'"),
    (["state", "set", "tasks.task-oauth", '"a string"'], "tasks.task-oauth: expected an object, got str"),
    (["state", "set", "tasks", "[]"], "tasks: expected an object mapping ids to objects"),
    (["state", "set", "tasks.task-oauth.status", "5"], "tasks.task-oauth.status: rejected"),
    (["state", "set", "tasks.task-oauth.status", "done"], "tasks.task-oauth.status: not a JSON value"),
    (["state", "set", "tasks.task-oauth.note", "NaN"], "tasks.task-oauth.note: value is not plain JSON"),
    (["state", "set", "schema_version", "2"], "schema_version"),
    (["state", "set", "observability.events", "[]"], "observability.events: events are append-only"),
    (["state", "get", "bogus"], "invalid path 'bogus'"),
    (["state", "get", "tasks.nope"], "nothing stored at 'tasks.nope'"),
    (["state", "import", "{dir}/missing.json"], "missing.json: cannot read"),
    (["state", "import", ("not json.json", b"{tasks:")], "not json.json: not a JSON value"),
    (["state", "import", ("latin1.json", b'{"organization": {"name": "\xe9"}}')], "latin1.json: not UTF-8"),
    (["state", "import", ("unknown.json", b'{"schema_version": 1, "bogus": {}}')], "unknown top-level key(s) bogus"),
    (["state", "import", ("wrong.json", b'{"schema_version": 1, "tasks": []}')], "wrong.json: import: tasks"),
    (["state", "import", ("status.json", b'{"schema_version": 1, "tasks": {"t": {"status": "done"}}}')],
     "status.json: tasks.t.status"),
    # shapes other commands read are checked too (each of these made `sprint status`, `worktree list` or
    # `msg inbox --all` end in a traceback)
    (["state", "set", "sprints.sprint-3.capacity", "[1]"],
     "sprints.sprint-3.capacity: rejected, sprints.sprint-3 would be invalid: capacity: [1] is not of type 'object'"),
    (["state", "set", "worktrees.w-1", '{{"path": 5}}'], "worktrees.w-1 would be invalid: path: 5 is not of type 'string'"),
    (["state", "set", "communication.messages.m-1", '{{"type": "note", "to": "human", "seq": "7"}}'],
     "communication.messages.m-1 would be invalid: seq: '7' is not of type 'integer'"),
    (["state", "set", "delegations.toolu_1", '{{"seq": 1.5, "status": "pending"}}'],
     "delegations.toolu_1 would be invalid: seq: 1.5 is not of type 'integer'"),
    # an agent run's session, team and times (the dashboard and `orchestra agents` sort and group by them)
    (["state", "set", "agents.r-1", '{{"agent_type": "x", "status": "active", "session_id": 12345}}'],
     "agents.r-1 would be invalid: session_id: 12345 is not of type 'string', 'null'"),
    (["state", "set", "agents.r-1", '{{"agent_type": "x", "status": "completed", "started_at": 5}}'],
     "agents.r-1 would be invalid: started_at: 5 is not of type 'string', 'null'"),
    # the part of a value that is not plain JSON is named, however deep; nothing is half read
    (["state", "set", "tasks.task-oauth.note", '{{"a": [1, {{"b": NaN}}]}}'],  # {{ }}: argv is format()ted
     "tasks.task-oauth.note.a.1.b: value is not plain JSON (NaN is not a JSON number)"),
    (["state", "set", "tasks.task-oauth.note", '["\\ud800"]'],
     "tasks.task-oauth.note.0: value is not plain JSON (text with a lone surrogate"),
    (["state", "set", "tasks.task-oauth.note", "[" * 150 + "]" * 150],
     "tasks.task-oauth.note.0.0.0.0.0.0.0.0.0.0.0.0...: value is not plain JSON (more than 100 levels deep"),
    (["state", "set", "tasks.task-oauth.note", "[" * 5000 + "]" * 5000],
     "tasks.task-oauth.note: nested deeper than 100 levels"),
    (["state", "set", "tasks.task-oauth", '{{"title": "a", "title": "b"}}'],
     "tasks.task-oauth: the key 'title' appears twice in one object"),
    (["state", "import", ("nan.json", b'{"schema_version": 1, "tasks": {"t": {"id": "t", "v": [1, NaN]}}}')],
     "nan.json: tasks.t.v.1: value is not plain JSON (NaN is not a JSON number)"),
    (["state", "import", ("twice.json", b'{"tasks": {"t": {"id": "t", "title": "T"}, "t": {"id": "t"}}}')],
     "twice.json: the key 't' appears twice in one object"),
    (["state", "import", ("deep.json", b'{"tasks": {"t": {"v": ' + b"[" * 5000 + b"]" * 5000 + b"}}}")],
     "deep.json: nested deeper than 100 levels"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_INPUT, ids=[" ".join(map(str, a[:3]))[:60] for a, _ in BAD_INPUT])
def test_bad_input_is_one_clear_line_and_writes_nothing(store_url: str, project: Path, tmp_path: Path,
                                                        argv: list, expected: str) -> None:
    _seed(store_url)
    before = fingerprint(store_url)
    args = [_file(tmp_path, *a) if isinstance(a, tuple) else a.format(dir=tmp_path) for a in argv]
    proc = cli(store_url, project, *args)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("orchestra state: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert fingerprint(store_url) == before


def test_corrupt_state_is_reported_by_the_cli(store_url: str, project: Path) -> None:
    if store_url.startswith("postgresql://"):
        pytest.skip("postgres: the database server owns its files")
    _seed(store_url)
    path = state_file(store_url)
    path.write_bytes(b"\x00garbage\xff" * 100)
    proc = cli(store_url, project, "state", "get", "tasks")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "moved aside to " in proc.stderr and "Traceback" not in proc.stderr
    assert len(list(path.parent.glob(f"{path.name}.corrupt-*"))) == 1


@pytest.mark.parametrize(("document", "entry", "commands"), [
    ({"tasks": {"a": {"title": "x"}}}, "tasks.a: no id field (it must repeat the key 'a')",
     [("task", "list"), ("task", "show", "a"), ("task", "set-status", "a", "queued")]),
    ({"tasks": {"a": {"id": "b", "title": "x"}}}, "tasks.a: id 'b' does not match the key", [("task", "list")]),
    ({"observability": {"events": [{"id": 1, "ts": "2025-01-01T00:00:00Z", "data": {}}]}},
     "observability.events[0]: type must be a non-empty string, got None", [("events", "tail"), ("metrics",)]),
    ({"observability": {"events": [{"id": 2, "type": "x"}, {"id": 2, "type": "y"}]}},
     "observability.events[1]: id 2 does not follow 2", [("events", "tail")]),
    ({"tasks": {"a": {"id": "a", "estimate": float("nan")}}},
     "tasks.a.estimate: value is not plain JSON (NaN is not a JSON number)",
     [("task", "list"), ("state", "export"), ("state", "set", "tasks.a.title", '"x"')]),
    ({"tasks": {"a": {"id": "a", "title": "half an emoji \ud83d"}}},
     "tasks.a.title: value is not plain JSON (text with a lone surrogate",
     [("state", "export"), ("task", "set-status", "a", "queued")]),
    # a key no path can name: the file read as state, and `state migrate` from it failed on an "invalid path"
    ({"tasks": {"a b": {"id": "a b", "title": "x"}}}, "tasks: key 'a b' is not an id",
     [("task", "list"), ("state", "export"), ("state", "set", "tasks.c", '{"title": "y"}')]),
    ({"communication": {"messages": {"m.1": {"id": "m.1", "to": "human", "type": "question"}}}},
     "communication.messages: key 'm.1' is not an id", [("msg", "inbox")]),
], ids=["entity-without-id", "entity-with-another-id", "event-without-type", "event-id-twice", "nan",
        "lone-surrogate", "key-with-a-space", "key-with-a-dot"])
def test_a_hand_edited_json_file_is_reported_naming_file_and_entry(
        project: Path, tmp_path: Path, document: dict, entry: str, commands: list[tuple[str, ...]]) -> None:
    path = tmp_path / "hand edited.json"
    text = json.dumps({"schema_version": 1, **document})
    path.write_text(text)
    for command in commands:
        proc = cli(f"json://{path}", project, *command)
        assert proc.returncode == 1 and proc.stdout == "", (command, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert f"{path}: state file has a bad entry at {entry}" in proc.stderr, proc.stderr
    assert path.read_text() == text and list(tmp_path.glob("*.corrupt-*")) == []


def test_a_key_written_twice_in_a_hand_edited_json_file_is_reported_not_dropped(project: Path, tmp_path: Path) -> None:
    path = tmp_path / "state.json"  # a task block copied to make a new one, its key left unchanged
    text = ('{"schema_version": 1, "tasks": {"t-1": {"id": "t-1", "title": "Keep me"},\n'
            '"t-1": {"id": "t-1", "title": "The copy"}}}')
    path.write_text(text)
    for command in (("task", "list"), ("state", "set", "tasks.t-2", '{"title": "New"}')):
        proc = cli(f"json://{path}", project, *command)
        assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
        assert (f"{path}: state file has a bad entry: the key 't-1' appears twice in one object (the second would "
                "replace the first); fix it by hand") in proc.stderr
    assert path.read_text() == text and list(tmp_path.glob("*.corrupt-*")) == []


def test_the_fix_a_bad_hand_edited_json_file_names_works(project: Path, tmp_path: Path) -> None:
    """`state import` of a good export, and `state migrate --force` into it, replace a file whose error says so."""
    good = tmp_path / "good.db"
    _seed(f"sqlite://{good}")
    export = tmp_path / "export.json"
    export.write_text(cli(f"sqlite://{good}", project, "state", "export").stdout)
    path = tmp_path / "state.json"
    for fix in (("state", "import", str(export)),
                ("state", "migrate", "--from", f"sqlite://{good}", "--to", f"json://{path}", "--force")):
        path.write_text(json.dumps({"schema_version": 1, "tasks": {"a": {"title": "no id"}}}))
        assert "replace the file with `orchestra state import` of a good export" in cli(
            f"json://{path}", project, "task", "list").stderr
        proc = cli(f"json://{path}", project, *fix)
        assert proc.returncode == 0, proc.stderr
        assert cli(f"json://{path}", project, "state", "export").stdout == export.read_text()
    path.write_text("{not json")  # a file that does not parse is still moved aside, not overwritten
    assert cli(f"json://{path}", project, "state", "import", str(export)).returncode == 0
    assert [p.read_text() for p in tmp_path.glob("state.json.corrupt-*")] == ["{not json"]


def test_migrate_to_a_file_that_is_no_store_of_that_kind_leaves_it_where_it_is(project: Path, tmp_path: Path) -> None:
    source = f"sqlite://{tmp_path / 'state.db'}"
    _seed(source)
    export = tmp_path / "export.json"
    export.write_text(cli(source, project, "state", "export").stdout)
    notes = tmp_path / "notes.txt"
    notes.write_text("not state\n")
    for target, kind in ((export, "an SQLite database"), (notes, "a JSON state file")):
        before = target.read_bytes()
        url = f"{'sqlite' if kind.startswith('an SQLite') else 'json'}://{target}"
        proc = cli(source, project, "state", "migrate", "--to", url, "--force")
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr == (f"orchestra state: --to names {target}, which is not {kind}; nothing was written or "
                               "moved. Name a new file or an existing store\n")
        assert target.read_bytes() == before
    assert list(tmp_path.glob("*.corrupt-*")) == []
    assert cli(source, project, "state", "migrate", "--to", f"json://{tmp_path / 'new.json'}").returncode == 0


def test_migrate_names_the_source_of_a_key_an_earlier_import_took_that_is_no_id(project: Path, tmp_path: Path) -> None:
    """`state import` once stored `tasks.a.b` as task 'a.b': migrate refuses it naming the source store, and
    leaves the target unmade."""
    import sqlite3

    source = f"sqlite://{tmp_path / 'state.db'}"
    _seed(source)
    conn = sqlite3.connect(tmp_path / "state.db")
    with conn:
        conn.execute("""INSERT INTO entities (collection, id, data) VALUES ('tasks', 'a.b', '{"id": "a.b"}')""")
    conn.close()
    target = tmp_path / "new.json"
    proc = cli(source, project, "state", "migrate", "--to", f"json://{target}")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"orchestra state: {source}: tasks: key 'a.b' is not an id (letters, digits, "
                                  "_ - : @ / +), so nothing was copied; give it another id in an export")
    assert not target.exists()


def test_event_fields_left_out_of_a_json_file_are_filled_in_as_state_import_fills_them(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"schema_version": 1, "observability": {"events": [{"id": 1, "type": "x"}]}}))
    with open_store(f"json://{path}") as store:
        assert store.events_after(0) == [{"id": 1, "ts": "", "type": "x", "session_id": None, "agent_id": None,
                                          "task_id": None, "data": {}}]
        assert store.append_event("y") == 2


def test_a_command_run_outside_any_project_makes_no_store_there(tmp_path: Path) -> None:
    nowhere = tmp_path / "not a project"
    nowhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLAUDE_PROJECT_DIR", "ORCHESTRA_STATE_URL", "ORCHESTRA_STATE_DIR")}
    bin_orchestra = REPO / ".claude/orchestra/bin/orchestra"
    for argv in (["task", "list"], ["state", "export"], ["msg", "inbox"]):
        run = subprocess.run([str(bin_orchestra), *argv], capture_output=True, text=True, cwd=nowhere, env=env,
                             timeout=120)
        assert run.returncode == 1, run.stdout
        assert run.stderr.splitlines() == [f"orchestra {argv[0]}: {nowhere}: not an Orchestra project (no .claude/ "
                                           "there); run it in the project, set CLAUDE_PROJECT_DIR to it, or install "
                                           f"the pack first (`orchestra install '{nowhere}'`)"]  # quoted: it holds a space
    assert list(nowhere.iterdir()) == []
    named = subprocess.run([str(bin_orchestra), "task", "list", "--json"], capture_output=True, text=True,
                           cwd=nowhere, env={**env, "CLAUDE_PROJECT_DIR": str(nowhere)}, timeout=120)
    assert (named.returncode, json.loads(named.stdout)) == (0, [])  # a project named outright is one


def test_a_state_directory_the_cli_cannot_make_is_named_in_one_line(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "state").write_text("a file where the state directory belongs\n")
    env = {k: v for k, v in os.environ.items() if k not in ("ORCHESTRA_STATE_URL", "ORCHESTRA_STATE_DIR")}
    bin_orchestra = REPO / ".claude/orchestra/bin/orchestra"
    for argv in (["state", "get", "tasks"], ["msg", "send", "main", "question", "--payload", '{"question": "x"}']):
        run = subprocess.run([str(bin_orchestra), *argv], capture_output=True, text=True, cwd=project,
                             env={**env, "CLAUDE_PROJECT_DIR": str(project)}, timeout=120)
        assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr.splitlines() == [f"orchestra {argv[0]}: cannot make the directory {project / '.claude/state'}: "
                                           "a file of that name is in the way"]
    assert (project / ".claude" / "state").read_text() == "a file where the state directory belongs\n"


def test_get_of_text_prints_it_without_escape_sequences_and_json_keeps_it(store_url: str, project: Path) -> None:
    """Text an agent wrote, printed by `state get` as it was stored, could set the terminal's title, clear the
    screen or overwrite the line, as no other command's text output can; its lines and tabs stay."""
    title = "Fix\x1b]0;owned\x07 login\x1b[2J\r\nstep 2\tdone\x9b31m\u202e"
    with open_store(store_url) as store:
        store.set("tasks.t1", {"title": title, "status": "queued"})
    got = cli(store_url, project, "state", "get", "tasks.t1.title")
    assert (got.returncode, got.stdout) == (0, "Fix login\nstep 2\tdone31m\n")  # an 8-bit CSI loses its introducer
    assert json.loads(cli(store_url, project, "state", "get", "tasks.t1.title", "--json").stdout) == title


def test_import_reads_a_file_or_stdin_with_a_byte_order_mark_and_names_bytes_that_are_not_utf8(
        project: Path, tmp_path: Path) -> None:
    """A BOM (what Windows editors put first) was refused as `Unexpected UTF-8 BOM`, though a state file holding
    one is read; bytes from stdin that are not UTF-8 were reported as a lone surrogate in the key."""
    url = f"sqlite://{tmp_path / 'orchestration.db'}"
    doc = '{"tasks": {"t1": {"id": "t1", "title": "Grüße"}}}'
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + doc.encode())
    assert cli(url, project, "state", "import", str(bom)).returncode == 0
    with open_store(url) as store:
        assert store.get("tasks.t1.title") == "Grüße"
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project), "ORCHESTRA_STATE_URL": url}
    for data in (b"\xef\xbb\xbf" + doc.replace("t1", "t2").encode(), b'{"tasks": {"a\xff": {"id": "a"}}}'):
        proc = subprocess.run(["uv", "run", "--quiet", "--project", str(REPO), "orchestra", "state", "import", "-"],
                              input=data, capture_output=True, cwd=project, env=env, timeout=120)
        if b"\xff" in data:
            assert proc.returncode == 1 and proc.stderr.decode() == (
                "orchestra state: -: not UTF-8 text (invalid start byte at byte 13)\n"), proc.stderr
        else:
            assert proc.returncode == 0, proc.stderr
    with open_store(url) as store:
        assert sorted(store.get("tasks")) == ["t2"]


def test_set_names_a_byte_of_its_value_that_is_not_utf8(project: Path, tmp_path: Path) -> None:
    """A value typed in a terminal of another encoding (Latin-1 'é' is the byte 0xe9) was refused as 'text with a
    lone surrogate (e.g. \\ud800)', which says nothing of what was typed."""
    url = f"sqlite://{tmp_path / 'orchestration.db'}"
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project), "ORCHESTRA_STATE_URL": url}
    proc = subprocess.run([b"uv", b"run", b"--quiet", b"--project", str(REPO).encode(), b"orchestra", b"state", b"set",
                           b"tasks.t1", b'{"title": "caf\xe9"}'], capture_output=True, cwd=project, env=env, timeout=120)
    assert proc.returncode == 1 and proc.stderr.decode() == (
        "orchestra state: tasks.t1: character 15 of the value is the byte 0xe9, which is not UTF-8 text; "
        "give the value in UTF-8\n"), proc.stderr
    assert not Path(url.partition("://")[2]).exists() or cli(url, project, "state", "get", "tasks").stdout == "{}\n"
