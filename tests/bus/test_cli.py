"""`orchestra msg ...` through the real argument parser, and once as a real process."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from orchestra.cli import main
from orchestra.store import open_store

from tests.bus.conftest import TEAMS_YAML, add_run
from tests.conftest import REPO
from tests.store.conftest import BACKENDS


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["msg", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys, *argv: str):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_send_then_inbox_then_ack(project: Path, project_store, capsys) -> None:
    sent = as_json(capsys, "send", "human", "state_updated", "--text", "sprint-3 planned", "--priority", "high",
                   "--from", "engineering-director")
    assert sent["from"] == "engineering-director" and sent["payload"] == {"text": "sprint-3 planned"}
    code, out, _ = run(capsys, "inbox")
    assert code == 0 and sent["id"] in out and "sprint-3 planned" in out and out.startswith("ID")
    assert [m["id"] for m in as_json(capsys, "inbox")] == [sent["id"]]
    acked = as_json(capsys, "ack", sent["id"])
    assert acked["acknowledged"][0]["status"] == "acknowledged" and acked["acknowledged"][0]["closed_by"] == "human"
    assert as_json(capsys, "inbox") == []
    assert [m["status"] for m in as_json(capsys, "inbox", "--all")] == ["acknowledged"]


def test_ask_and_answer(project: Path, project_store, capsys) -> None:
    question = as_json(capsys, "ask", "tech-lead", "Postgres or MySQL?", "--priority", "critical",
                       "--escalate-after", "5m")
    assert question["escalate_after_s"] == 300 and question["from"] == "human"
    assert [m["id"] for m in as_json(capsys, "inbox", "tech-lead")] == [question["id"]]
    reply = as_json(capsys, "answer", question["id"], "Postgres", "--from", "tech-lead")
    assert reply["to"] == "human" and reply["reply_to"] == question["id"]
    assert project_store.get(f"communication.messages.{question['id']}.status") == "answered"


def test_every_inbox_lists_broadcasts(project: Path, project_store, capsys) -> None:
    """As README says, and as `msg inbox broadcast` answers: a role's or a team's view too."""
    everyone = as_json(capsys, "send", "broadcast", "state_updated", "--text", "freeze at 17:00")
    team = as_json(capsys, "send", "team:qa", "state_updated", "--text", "qa only")
    assert [m["id"] for m in as_json(capsys, "inbox", "tech-lead")] == [everyone["id"]]
    assert sorted(m["id"] for m in as_json(capsys, "inbox", "team:qa")) == sorted([everyone["id"], team["id"]])
    assert [m["id"] for m in as_json(capsys, "inbox")] == [everyone["id"]]


def test_a_role_or_team_view_lists_what_is_addressed_to_it_and_nothing_else(project: Path, project_store,
                                                                           capsys) -> None:
    """`msg inbox tech-lead` / `team:engineering` (and /msg:inbox) are what those runs read: a team message the main
    thread sent or the user acknowledged for themselves is still open for them; a message to an ended run of
    another type, or to the main thread of a session, is not theirs."""
    add_run(project_store, "a-eng", "fullstack-eng", status="completed", outcome="completed", session_id="s1",
            ended_at="2026-01-01T00:00:00.000Z")
    from_main = as_json(capsys, "send", "team:engineering", "state_updated", "--text", "freeze", "--from", "main")
    acked = as_json(capsys, "send", "team:engineering", "state_updated", "--text", "deploy at 5")
    as_json(capsys, "ack", acked["id"])  # the user, for themselves
    as_json(capsys, "send", "agent:a-eng", "task_completed", "--text", "late report", "--from", "tech-lead")
    as_json(capsys, "send", "main", "state_updated", "--text", "for the main thread")
    theirs = sorted([from_main["id"], acked["id"]])
    assert sorted(m["id"] for m in as_json(capsys, "inbox", "tech-lead")) == theirs
    assert sorted(m["id"] for m in as_json(capsys, "inbox", "team:engineering")) == theirs
    as_json(capsys, "ack", acked["id"], "--as", "tech-lead")  # the role's own ack does close it for its view
    assert [m["id"] for m in as_json(capsys, "inbox", "tech-lead")] == [from_main["id"]]


def test_acknowledging_a_broadcast_says_it_stays_open_for_others(project: Path, project_store, capsys) -> None:
    everyone = as_json(capsys, "send", "broadcast", "state_updated", "--text", "freeze at 17:00")
    code, out, _ = run(capsys, "ack", everyone["id"])
    assert code == 0 and out == (f"{everyone['id']}: acknowledged by human; still open for the others it is "
                                 "addressed to (broadcast)\n")
    code, out, err = run(capsys, "ack", everyone["id"], "--as", "agent:nope")
    assert code == 1 and "no agent run with id 'nope' in state" in err
    assert "agent:nope" not in project_store.get(f"communication.messages.{everyone['id']}.acked")


def test_acknowledging_a_team_message_as_an_agent_type_closes_it_for_the_runs_of_that_type(project: Path,
                                                                                             project_store,
                                                                                             capsys) -> None:
    """`--as` takes an agent type: what it acknowledges is no longer shown to, nor listed for, that type's runs,
    and still is for the others' (each acknowledges a team message for itself)."""
    add_run(project_store, "d1", "qa-director")
    add_run(project_store, "q1", "qa-engineer")
    note = as_json(capsys, "send", "team:qa", "state_updated", "--text", "freeze the suite")
    code, out, _ = run(capsys, "ack", note["id"], "--as", "qa-director")
    assert code == 0 and "acknowledged by qa-director; still open for the others" in out
    assert note["id"] not in [m["id"] for m in as_json(capsys, "inbox", "agent:d1", "--peek")]
    assert note["id"] in [m["id"] for m in as_json(capsys, "inbox", "agent:q1", "--peek")]


def test_a_message_cut_in_an_injection_is_shown_whole_by_the_command_the_cut_names(project: Path, project_store,
                                                                                 capsys) -> None:
    from orchestra import bus
    from orchestra.teams import build

    from tests.bus.conftest import TEAMS

    add_run(project_store, "r1", "tech-lead")
    long = "\n".join(["y"] * 1300) + " and that is the whole story"  # longer than one injection, line breaks marked
    for to, reader in (("agent:r1", bus.recipient(build(TEAMS), "r1", "tech-lead")),
                       ("main", bus.recipient(build(TEAMS), None, None, "s1", human=True))):
        sent = as_json(capsys, "send", to, "state_updated", "--text", long)
        with project_store.transaction() as tx:
            shown = bus.deliver(tx, reader, via="tool_call").text
        assert long not in shown
        named = re.search(rf"`orchestra msg (inbox[^`]*)` shows {sent['id']} whole", shown)
        assert named, shown
        code, out, err = run(capsys, *named.group(1).split())
        assert code == 0 and long in [m["payload"]["text"] for m in json.loads(out)], (named.group(1), out[:300], err)


def test_handoff_names_the_task_whose_brief_lists_the_artifacts(project: Path, project_store, capsys) -> None:
    with project_store.transaction() as tx:
        tx.set("tasks.task-ui", {"status": "assigned", "assignee": "fullstack-eng"})
        tx.set("tasks.task-api", {"status": "completed", "artifacts": ["docs/api.yaml", "src/api.py"]})
    sent = as_json(capsys, "handoff", "fullstack-eng", "docs/api.yaml", "--task", "task-ui", "--note", "v2")
    assert sent["to"] == "fullstack-eng" and sent["payload"] == {"artifacts": ["docs/api.yaml"], "note": "v2"}
    # without paths: the artifacts recorded on the task being handed over
    taken = as_json(capsys, "handoff", "tech-lead", "--task", "task-api")
    assert taken["payload"]["artifacts"] == ["docs/api.yaml", "src/api.py"] and taken["task"] == "task-api"


def test_an_agent_reading_its_inbox_is_not_injected_the_same_messages(project: Path, project_store, capsys) -> None:
    add_run(project_store, "a1", "fullstack-eng")
    sent = as_json(capsys, "send", "agent:a1", "task_assigned", "--payload", '{"text": "take task-ui"}')
    assert [m["id"] for m in as_json(capsys, "inbox", "agent:a1")] == [sent["id"]]
    assert project_store.get(f"communication.deliveries.{sent['id']}@a1.via") == "cli"


def test_the_user_looking_at_a_runs_inbox_leaves_its_messages_to_be_injected(project: Path, project_store,
                                                                            capsys) -> None:
    """/msg:inbox agent:<id> shows the user a run's messages; they must still reach the run at its next tool call."""
    from orchestra import bus
    from orchestra.teams import build

    from tests.bus.conftest import TEAMS

    add_run(project_store, "a1", "fullstack-eng")
    sent = as_json(capsys, "send", "agent:a1", "state_updated", "--text", "use the v2 API")
    command = (REPO / ".claude/commands/msg/inbox.md").read_text(encoding="utf-8").split("!`", 1)[1].split("`")[0]
    argv = command.replace("$ARGUMENTS", "agent:a1").split()
    assert argv[:3] == [".claude/orchestra/bin/orchestra", "msg", "inbox"]
    code, out, err = run(capsys, *argv[2:])
    assert code == 0 and sent["id"] in out, err
    assert project_store.get(f"communication.deliveries.{sent['id']}@a1", None) is None
    with project_store.transaction() as tx:
        shown = bus.deliver(tx, bus.recipient(build(TEAMS), "a1", "fullstack-eng"), via="tool_call").messages
    assert [m["id"] for m in shown] == [sent["id"]]


@pytest.mark.parametrize(("argv", "error"), [
    (["send", "nobody", "question", "--text", "hi"], "recipient 'nobody': unknown agent type"),
    (["send", "tech-lead", "gossip"], "message type 'gossip' is unknown"),
    (["send", "tech-lead", "state_updated", "--payload", "[1]"], "payload: expected a JSON object"),
    (["send", "tech-lead", "state_updated", "--payload", "{"], "--payload: not JSON"),
    (["send", "tech-lead", "state_updated", "--text", "x" * 5000], "over the 4096-byte limit"),
    (["send", "tech-lead", "state_updated", "--expires-in", "soon"], "--expires-in 'soon': expected a positive"),
    (["send", "tech-lead", "state_updated", "--text", " \n "], "the message is empty: give its text (--text) or its "
                                                            "content (--payload)"),
    (["send", "tech-lead", "state_updated"], "the message is empty: give its text (--text)"),
    (["send", "tech-lead", "task_completed", "--payload", "{}"], "the message is empty: give its text (--text)"),
    (["ack", "msg-404"], "message 'msg-404': no such message"),
    (["answer", "msg-404", "yes"], "question 'msg-404': no such message"),
    (["inbox", "team:nobody"], "unknown team 'nobody'"),
    (["handoff", "tech-lead"], "handoff: name the artifact paths"),
    (["handoff", "tech-lead", "docs/api.yaml", "--from-task", "made-up"], "from_task 'made-up': no such task"),
    (["send", "human", "state_updated", "--text", "x", "--expires-in", "99999999d"],
     "--expires-in '99999999d': too long; at most "),
    (["ask", "tech-lead", "Which IdP?", "--expires-in", "999999999999d"], "--expires-in '999999999999d': too long"),
    (["ask", "tech-lead", "Which IdP?", "--escalate-after", "999999999999d"],
     "--escalate-after '999999999999d': too long; at most 999999998d"),
    (["ask", "tech-lead", "   "], "payload.question: expected non-empty text, got '   '"),
    (["ask", "tech-lead", "why\udc85?"], "payload.question: character 4 is the byte 0x85, which is not UTF-8 text; "
                                          "send UTF-8"),
    (["send", "main", "state_updated", "--payload", '{"text": "ok", "more": ["a", "\\ud800"]}'],
     "payload.more[1]: character 1 is a lone surrogate (\\ud800), which is not UTF-8 text; send UTF-8"),
    (["send", "tech-lead", "question", "--payload", '{"question": ["a"]}'],
     "payload.question: expected non-empty text, got ['a']"),
    (["inbox", "broadcast"], "inbox 'broadcast': broadcast messages reach every reader, so every inbox lists them"),
    (["inbox", "agent:nope"], "recipient 'agent:nope': no agent run with id 'nope' in state"),
    (["handoff", "fullstack-eng", "--task", "nope"], "task 'nope': no such task in state"),
])
def test_bad_input_is_one_line_on_stderr_and_stores_nothing(project: Path, project_store, capsys, argv, error) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert err.startswith("orchestra msg: ") and error in err and err.count("\n") == 1
    assert project_store.get("communication.messages") == {}


@pytest.mark.parametrize(("argv", "hint"), [
    (["send", "tech-lead", "question", "--text", "Which IdP?"],
     """--payload '{"question": "..."}', or `orchestra msg ask TO QUESTION`"""),
    (["send", "tech-lead", "artifact_ready", "--text", "docs/api.yaml"],
     """--payload '{"artifacts": [...]}', or `orchestra msg handoff TO PATH...`"""),
    (["send", "tech-lead", "artifact_ready"], """'artifacts': send it with --payload '{"artifacts": [...]}'"""),
])
def test_a_send_without_the_payload_its_type_needs_says_how_to_give_it(project: Path, project_store, capsys, argv,
                                                                        hint) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "message needs a non-empty" in err and hint in err
    assert ("--text gives only" in err) == ("--text" in argv)
    assert project_store.get("communication.messages") == {}


def test_a_message_may_be_about_any_task_id_the_store_holds(project_store, capsys) -> None:
    """Task ids may hold `/ @ +` and have up to 255 characters; messages took only those of `msg-1`'s
    shape up to 120, and said of `feat/login` that there was no such task."""
    ids = ("feat/login", "t@2", "a+b", "t-" + "x" * 253)
    for task_id in ids:
        project_store.set(f"tasks.{task_id}", {"title": "T", "status": "queued", "artifacts": ["docs/api.yaml"]})
    for task_id in ids:
        sent = as_json(capsys, "send", "human", "state_updated", "--text", "hi", "--task", task_id)
        handed = as_json(capsys, "handoff", "tech-lead", "--task", task_id, "--from-task", task_id)
        assert (sent["task"], handed["task"]) == (task_id, task_id)
    code, _, err = run(capsys, "send", "human", "state_updated", "--text", "hi", "--task", "t-" + "x" * 254)
    assert code == 1 and "task: task id 't-xxx" in err and "256 characters long; an id has at most 255" in err


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_an_id_naming_a_part_of_a_message_or_task_is_none_and_nothing_is_written(
        project: Path, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("ORCHESTRA_STATE_URL", BACKENDS[backend](tmp_path))
    (project / ".claude" / "teams.yaml").write_text(TEAMS_YAML, encoding="utf-8")
    sent = as_json(capsys, "send", "tech-lead", "state_updated", "--text", "hi", "--id", "m-1")
    question = as_json(capsys, "ask", "tech-lead", "Which IdP?")
    with open_store() as store:
        store.set("tasks.t-1", {"title": "OAuth", "status": "queued", "assignee": "tech-lead"})
        before = store.export()
    for bad in (f"{sent['id']}.payload", f"{question['id']}.payload", f"{sent['id']}.acked", f"{sent['id']}.", " ",
                "m 1", "ünï"):
        for argv, what in ((("ack", bad), "message"), (("answer", bad, "Okta"), "question")):
            code, out, err = run(capsys, *argv)
            assert code == 1 and out == "" and err.count("\n") == 1, (argv, err)
            assert err.startswith(f"orchestra msg: {what} {bad!r}: no such message"), (argv, err)
    for bad in ("t-1.title", "t-1.", " ", "t 1", "ünï"):
        code, out, err = run(capsys, "handoff", "tech-lead", "--task", bad)
        assert code == 1 and out == "" and err.count("\n") == 1, (bad, err)
        assert f"task {bad!r}: no such task in state" in err, (bad, err)  # not: name the artifact paths
        code, out, err = run(capsys, "handoff", "tech-lead", "docs/api.yaml", "--task", bad)
        assert code == 1 and out == "" and f"task {bad!r}: no such task in state" in err, (bad, err)
    code, out, err = run(capsys, "send", "tech-lead", "state_updated", "--text", "x", "--task", "t-1\n")
    assert code == 1 and "task 't-1\\n': no such task in state" in err, err
    code, out, err = run(capsys, "send", "tech-lead", "answer", "--text", "x", "--reply-to", f"{question['id']}\n")
    assert code == 1 and f"reply_to '{question['id']}\\n': no such message" in err, err
    for bad in ("agent:", "agent: "):
        code, out, err = run(capsys, "send", "tech-lead", "state_updated", "--text", "x", "--from", bad)
        assert code == 1 and out == "" and "sender 'agent:': not an identity" in err, (bad, err)
    with open_store() as store:
        assert store.export() == before


def test_acknowledging_as_nobody_is_refused_and_the_message_stays_open(project: Path, project_store, capsys) -> None:
    sent = as_json(capsys, "send", "tech-lead", "state_updated", "--text", "hi")
    for nobody in ("a b", "ünï", "tech-lead.x", "sprint-3.name", "nobody-here"):
        code, out, err = run(capsys, "ack", sent["id"], "--as", nobody)
        assert code == 1 and out == "" and err.count("\n") == 1, (nobody, err)
        assert err.startswith(f"orchestra msg: recipient {nobody!r}: "), (nobody, err)
    code, out, err = run(capsys, "ack", sent["id"], "--as", " ")
    assert code == 1 and err == "orchestra msg: ack: say who acknowledges (by=main, human or agent:<id>)\n", err
    assert project_store.get(f"communication.messages.{sent['id']}.status") == "pending"
    assert as_json(capsys, "ack", sent["id"], "--as", "tech-lead")["acknowledged"][0]["closed_by"] == "tech-lead"


def test_acknowledging_as_a_team_broadcast_or_unknown_session_is_refused(project: Path, project_store, capsys) -> None:
    """A team or broadcast reads nothing itself, so an ack in its name closed the message for nobody while saying it
    was acknowledged; a session not in state is nobody too."""
    sent = as_json(capsys, "send", "team:qa", "state_updated", "--text", "hi")
    for nobody, error in (("team:qa", "a team reads no messages itself"),
                          ("broadcast", "broadcast reads no messages itself"),
                          ("main:nope", "no session with id 'nope' in state")):
        code, out, err = run(capsys, "ack", sent["id"], "--as", nobody)
        assert code == 1 and out == "" and err.count("\n") == 1 and error in err, (nobody, err)
    assert project_store.get(f"communication.messages.{sent['id']}.acked") == {}
    assert "acknowledge as one who reads it: human, main, main:<session_id>, agent:<id> or an agent type" in run(
        capsys, "ack", sent["id"], "--as", "team:qa")[2]
    code, out, _ = run(capsys, "ack", sent["id"], "--as", " orchestra:qa-engineer")  # as the plugin names it
    assert code == 0 and "acknowledged by qa-engineer;" in out
    assert as_json(capsys, "inbox", "qa-engineer") == []


def test_an_unknown_run_has_no_inbox_and_nothing_is_marked_delivered_to_it(project: Path, project_store,
                                                                            capsys) -> None:
    sent = as_json(capsys, "send", "broadcast", "state_updated", "--text", "freeze at 17:00")
    code, out, err = run(capsys, "inbox", "agent:nope")
    assert code == 1 and out == "" and "no agent run with id 'nope'" in err
    assert project_store.get("communication.deliveries") == {}
    assert project_store.get(f"communication.messages.{sent['id']}.delivered") == {}


def test_sending_to_a_run_that_has_ended_says_who_reads_it_instead(project: Path, project_store, capsys) -> None:
    add_run(project_store, "a-done", "fullstack-eng", status="stopped", ended_at="2026-01-01T00:00:00.000Z")
    code, out, _ = run(capsys, "handoff", "agent:a-done", "docs/api.yaml")
    assert code == 0 and out.endswith(": normal artifact_ready to agent:a-done (agent:a-done has ended (stopped) and "
                                      "will not read this; the main thread of its session is shown it instead)\n")


def test_an_unknown_session_has_no_main_thread_inbox(project: Path, project_store, capsys) -> None:
    """As `msg send main:<id>` refuses it: a mistyped session id does not list every session's messages."""
    with project_store.transaction() as tx:
        tx.set("sessions.s-real", {"id": "s-real", "child_agents": []})
    sent = as_json(capsys, "send", "main:s-real", "state_updated", "--text", "for s-real")
    assert [m["id"] for m in as_json(capsys, "inbox", "main:s-real")] == [sent["id"]]
    code, out, err = run(capsys, "inbox", "main:s-typo")
    assert code == 1 and out == "" and "no session with id 's-typo' in state" in err


def test_an_answer_of_only_whitespace_is_refused(project: Path, project_store, capsys) -> None:
    question = as_json(capsys, "ask", "tech-lead", "Which IdP?")
    code, _, err = run(capsys, "answer", question["id"], " \n ", "--from", "tech-lead")
    assert code == 1 and "payload.answer: expected non-empty text" in err
    assert project_store.get(f"communication.messages.{question['id']}.status") == "pending"


def test_the_real_command(project: Path, project_store) -> None:
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project)}
    proc = subprocess.run(["uv", "run", "--quiet", "orchestra", "msg", "send", "broadcast", "state_updated",
                           "--text", "freeze at 17:00", "--json"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    sent = json.loads(proc.stdout)
    assert project_store.get(f"communication.messages.{sent['id']}.payload") == {"text": "freeze at 17:00"}


def test_every_msg_command_in_the_readme_parses() -> None:
    """The README's bus examples must stay valid commands (parsed by the real parser, not run)."""
    import shlex

    from orchestra.cli import build_parser

    section = (REPO / "README.md").read_text().split("## Message bus", 1)[1].split("\n## ", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in section.splitlines() if line.startswith("orchestra msg ")]
    assert len(lines) >= 6
    parser = build_parser()
    for line in lines:
        args = parser.parse_args(shlex.split(line)[1:])
        assert args.command == "msg" and callable(args.func), line


@pytest.mark.parametrize("argv", [
    ["msg", "send", "main", "state_updated", "--text", "hi"],
    ["msg", "ask", "main", "Which IdP?"],
    ["state", "set", "tasks.t1", '{"title": "one", "status": "queued"}'],
])
def test_a_validating_cli_write_imports_jsonschema_before_it_takes_the_write_lock(project: Path, argv) -> None:
    # jsonschema's import (~100 ms, far more on a loaded machine) inside the transaction would keep every
    # hook waiting on the store that long; twenty such commands at once made hooks time out.
    code = ("import sys\n"
            "from orchestra.store.sqlite import SqliteStore\n"
            "from orchestra.cli import main\n"
            "real = SqliteStore.transaction\n"
            "def transaction(self):\n"
            "    print('jsonschema loaded at the lock:', 'jsonschema' in sys.modules, file=sys.stderr)\n"
            "    return real(self)\n"
            "SqliteStore.transaction = transaction\n"
            "sys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.run(["uv", "run", "--quiet", "--project", str(REPO), "python", "-c", code, *argv],
                          capture_output=True, text=True, cwd=project, timeout=120,
                          env={**os.environ, "CLAUDE_PROJECT_DIR": str(project)})
    assert proc.returncode == 0, proc.stderr
    assert "jsonschema loaded at the lock: True" in proc.stderr
    assert "jsonschema loaded at the lock: False" not in proc.stderr
