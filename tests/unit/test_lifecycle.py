"""Pure parts of the lifecycle: the text protocols, transcripts, the derivations and the completion judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from orchestra.lifecycle import config, transcript
from orchestra.lifecycle.completion import Evidence, judge
from orchestra.lifecycle.protocol import parse_report, task_tag
from orchestra.lifecycle.transitions import attempt_status, run_status, task_fields
from orchestra.models import OUTCOMES, TASK_TRANSITIONS, check_task_transition
from orchestra.teams import build

from tests.conftest import FIXTURES

CAPTURED = FIXTURES / "claude-code-2.1.328" / "foreground-delegation"


# -- protocol ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("texts, expected", [
    (("[task:task-3] Implement OAuth2 flow.",), "task-3"),
    (("no tag here", "task-3 OAuth [task:task-3]"), "task-3"),  # the description is the fallback
    (("[task: sprint-3 ] Orchestrate",), "sprint-3"),
    (("first [task:a-1] then [task:b-2]",), "a-1"),
    (("[task:] empty", "[task:bad id]"), None),
    (("[task:_draft] go",), "_draft"),  # an id may start with any character an id holds
    (("[task:@ops/deploy+1] go",), "@ops/deploy+1"),
    (("[task: -x ] go",), "-x"),
    ((None, ""), None),
])
def test_task_tag(texts, expected) -> None:
    assert task_tag(*texts) == expected


def test_report_on_one_line_as_captured() -> None:
    report = parse_report("Implemented. STATUS: completed")
    assert (report.status, report.artifacts, report.blocker, report.summary) == ("completed", (), None, "Implemented.")


def test_report_with_every_protocol_line() -> None:
    report = parse_report("Tried.\n\nSTATUS: blocked\nARTIFACTS: `src/a.py`, docs/b.md\nBLOCKER: the API key is missing\n")
    assert report.status == "blocked"
    assert report.artifacts == ("src/a.py", "docs/b.md")
    assert report.blocker == "the API key is missing" and report.summary == "Tried."


def test_report_takes_the_last_status_and_ignores_placeholders() -> None:
    text = "I will end with STATUS: completed.\n...\n**STATUS:** needs review\nARTIFACTS: none\nBLOCKER: n/a"
    report = parse_report(text)
    assert report.status == "needs_review" and report.artifacts == () and report.blocker is None


def test_report_without_status() -> None:
    assert parse_report("I did a thing").status is None
    assert parse_report(None).summary == ""


@pytest.mark.parametrize("text, status, blocker", [
    ("**STATUS:** completed", "completed", None),
    ("Status: Completed", "completed", None),
    ("- **Status**: ✅ Done", "completed", None),
    ("STATUS: `complete`", "completed", None),
    ("All good.\nSTATUS: finished", "completed", None),
    ("STATUS: success", "completed", None),
    ("## Summary\nDid it.\n\n**Final status:** Done", "completed", None),
    ("Done.\n```\nSTATUS: completed\n```", "completed", None),
    ("> STATUS: completed\n\nThe brief asks for that line, but the API is down, so STATUS: blocked", "blocked", None),
    ("> Quoting my report:\n> STATUS: completed", "completed", None),
    ("STATUS: completed\nARTIFACTS: deploy.yaml\n\nThe old job:\n```\nName: migrate\nStatus: Failed\n```", "completed",
     None),
    ("| Field | Value |\n|---|---|\n| **Status** | Blocked |\n| Blocker | no DB credentials |", "blocked",
     "no DB credentials"),
    ("I tried.\n\n## Status\n\nBlocked\n\n## Blocker\n\nThe API key is missing.\nIt expired.", "blocked",
     "The API key is missing. It expired."),
    ("STATUS: blocked\nBLOCKER:\n- no DB credentials\n- CI is down\n\nMore prose.", "blocked",
     "no DB credentials; CI is down"),
    ("**STATUS:** blocked\n**BLOCKER:** upstream returns 500", "blocked", "upstream returns 500"),
    ("STATUS: blocked\nBLOCKER: no DB\n\n(The protocol: STATUS: completed | blocked | needs_review)", "blocked",
     "no DB"),
    ("STATUS: blocked\nBLOCKER: no DB\n\nHad the DB been up I would report `STATUS: completed`.", "blocked", "no DB"),
    ("Tried.\r\nSTATUS: blocked\r\nBLOCKER: no key\r\n", "blocked", "no key"),
    ("STATUS: failed\nThe build does not compile.", "blocked", None),
    ("STATUS: needs-review", "needs_review", None),
    ("Status: ready for review", "needs_review", None),
    ("Build status: done", None, None),  # a status inside a sentence counts only in the protocol's words
])
def test_report_status_as_models_write_it(text, status, blocker) -> None:
    report = parse_report(text)
    assert (report.status, report.blocker) == (status, blocker)


@pytest.mark.parametrize("line, blocker", [
    ("BLOCKER: None (only with STATUS: blocked)", None), ("BLOCKER: No blockers.", None), ("BLOCKER: N/A", None),
    ("**BLOCKER:** none — all green", None), ("BLOCKER: -", None), ("BLOCKER: No API key for the sandbox",
                                                                     "No API key for the sandbox"),
    ("BLOCKER: Nonexistent table users", "Nonexistent table users"),
])
def test_a_blocker_that_says_there_is_none(line, blocker) -> None:
    report = parse_report(f"Implemented.\nSTATUS: completed\nARTIFACTS: none.py, None\n{line}")
    assert report.blocker == blocker and report.artifacts == ("none.py",)


@pytest.mark.parametrize("text, stated, unfinished", [
    ("STATUS: in progress", "in progress", True),
    ("Status: partially completed", "partially completed", True),
    ("STATUS: not completed", "not completed", True),
    ("## Status\npending", "pending", True),
    ("STATUS: ok", "ok", False),
    ("STATUS: notes follow", "notes follow", False),
    ("Tâche faite.\nSTATUS: terminé", "terminé", False),
    ("I will start on this later.", None, False),
])
def test_a_status_that_names_no_outcome_is_kept(text, stated, unfinished) -> None:
    report = parse_report(text)
    assert (report.status, report.stated, report.unfinished) == (None, stated, unfinished)


@pytest.mark.parametrize("text, artifacts", [
    ("STATUS: completed\nARTIFACTS:\n- src/a.py\n- docs/b.md\n\nThanks.", ("src/a.py", "docs/b.md")),
    ("STATUS: completed\n**ARTIFACTS:**\n- `src/a.py` — the module\n- `docs/b.md` (new)", ("src/a.py", "docs/b.md")),
    ("STATUS: completed\nARTIFACTS: [a.py](src/a.py), [b](<docs/my b.md>)", ("src/a.py", "docs/my b.md")),
    ("ARTIFACTS: docs/my file.md, src/a.py (changed)\nSTATUS: completed", ("docs/my file.md", "src/a.py")),
    ("## Artifacts\n1. src/a.py\n2. src/b.py\n\n## Status\ncompleted", ("src/a.py", "src/b.py")),
    ("STATUS: completed\nARTIFACTS:\nBLOCKER: none", ()),
    ("STATUS: completed\r\nARTIFACTS: a.py, b.py\r\n", ("a.py", "b.py")),
])
def test_artifacts_as_models_list_them(text, artifacts) -> None:
    assert parse_report(text).artifacts == artifacts


@pytest.mark.parametrize("text", ["STATUS:" + " " * 100_000 + "x", "STATUS:" + "\n" * 100_000,
                                  "*" * 100_000, "STATUS:" + "*" * 100_000, "| STATUS" + "*" * 100_000,
                                  "## Status" + "\n" * 100_000, "BLOCKER:\n" * 10_000, "ARTIFACTS: " + "[" * 100_000,
                                  "x" * 100_000 + "\nSTATUS: completed"])
def test_a_long_message_is_parsed_well_within_the_hooks_timeout(text) -> None:
    """Patterns that backtracked on long runs of blanks or Markdown marks took minutes on such messages, so
    SubagentStop timed out and the report was lost. Parsing now ends in milliseconds; the bound here is only
    there so that a regression fails instead of hanging the suite."""
    import signal

    def hung(*_) -> None:
        raise TimeoutError("parse_report still running after 30 s: a pattern backtracks")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        parse_report(text).summary  # noqa: B018 - the summary is read on every stop
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- transcripts (a real 2.1.328 capture) ------------------------------------------------------------

def test_captured_transcript_prompt_writes_and_launch_id() -> None:
    seen = transcript.read(next(CAPTURED.glob("agent-*.jsonl")))
    assert seen.found and seen.prompt.startswith("[task:task-3]")
    assert seen.writes == ["{project}/src/a.txt"]  # Write + Edit of one file; the hook-denied Write is left out
    assert seen.tool_use_id == "toolu_m1" and seen.last_text.endswith("ARTIFACTS: src/a.txt")


def test_missing_or_torn_transcripts_are_read_as_far_as_they_go(tmp_path: Path) -> None:
    assert transcript.read(tmp_path / "nope.jsonl").found is False
    assert transcript.read(None).prompt is None
    path = tmp_path / "agent-x.jsonl"
    path.write_text(json.dumps({"type": "user", "message": {"role": "user", "content": [
        {"type": "text", "text": "[task:t1] go"}]}}) + "\n" + '{"type": "assistant", "mess')
    seen = transcript.read(path)
    assert seen.found and seen.prompt == "[task:t1] go" and seen.writes == [] and seen.tool_use_id is None



def test_a_transcript_with_half_an_emoji_is_read_as_text_utf8_can_hold(tmp_path: Path) -> None:
    """Claude Code writes a string cut inside an emoji with a lone `\\ud83d` escape."""
    path = tmp_path / "agent-x.jsonl"
    records = [{"type": "user", "message": {"role": "user", "content": "[task:t1] go \ud83d"}},
               {"type": "assistant", "message": {"role": "assistant", "content": [
                   {"type": "tool_use", "id": "w1", "name": "Write", "input": {"file_path": "/p/\udc00.txt"}},
                   {"type": "text", "text": "done \ud83d\nSTATUS: completed"}]}}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    seen = transcript.read(path)
    assert seen.prompt == "[task:t1] go \ufffd" and seen.writes == ["/p/\ufffd.txt"]
    assert seen.last_text == "done \ufffd\nSTATUS: completed"
    for text in (seen.prompt, *seen.writes, seen.last_text):
        text.encode("utf-8")


@pytest.mark.parametrize("path", [12, ["a"], "/tmp/nul\x00here.jsonl"])
def test_a_transcript_path_that_names_no_file_reads_as_no_transcript(path) -> None:
    seen = transcript.read(path)
    assert not seen.found and seen.prompt is None and seen.tool_use_id is None

# -- derivations -------------------------------------------------------------------------------------

def test_run_status_precedence() -> None:
    assert run_status({}) == "launched"
    assert run_status({"started_at": "t"}) == "active"
    assert run_status({"started_at": "t"}, session_ended=True) == "stopped"
    assert run_status({"response": "completed"}, session_ended=True) == "needs_review"
    assert run_status({"outcome": "blocked", "response": "completed"}, session_ended=True) == "blocked"


def test_attempt_status() -> None:
    delegation = {"id": "toolu_1", "requested_at": "t0"}
    assert attempt_status(None, None, False) == (None, None)
    assert attempt_status(delegation, None, False) == ("assigned", None)
    assert attempt_status(delegation, None, True) == ("queued", None)
    assert attempt_status(delegation, {"id": "a", "started_at": "t"}, False) == ("in_progress", None)
    assert attempt_status(delegation, {"id": "a", "outcome": "completed"}, True) == ("completed", None)
    status, reason = attempt_status(delegation, {"id": "a", "started_at": "t"}, True)
    assert status == "blocked" and "ended with its session" in reason


def test_a_run_taskstop_stopped_is_stopped_until_it_reports_or_is_resumed() -> None:
    killed = {"id": "a", "started_at": "t1", "killed_at": "t2"}
    assert run_status(killed) == "stopped"
    assert run_status({**killed, "outcome": "completed"}) == "completed"  # a report it made stands
    assert run_status({**killed, "resumed_at": "t3"}) == "active"  # SendMessage started it again
    assert run_status({**killed, "resumed_at": "t3", "killed_at": "t4"}) == "stopped"  # and stopped again
    assert attempt_status(None, killed, False) == ("blocked", "agent a was stopped (TaskStop) before it reported")
    assert attempt_status(None, killed, True)[1] == "agent a was stopped (TaskStop) before it reported"


def test_task_fields_come_from_the_attempt() -> None:
    fields = task_fields("completed", None, {"id": "toolu_1", "requested_at": "t0"},
                         {"id": "a", "started_at": "t1", "ended_at": "t2"})
    assert fields == {"status": "completed", "lifecycle_status": "completed", "delegation": "toolu_1",
                      "assigned_at": "t0", "agent_id": "a", "started_at": "t1", "blocker": None,
                      "review_reason": None, "completed_at": "t2"}


FACTS = ("delegation", "run", "started", "response_completed", "session_ended", "outcome")


@settings(max_examples=300, deadline=None)
@given(order=st.permutations(FACTS), outcome=st.sampled_from(OUTCOMES), keep=st.integers(1, len(FACTS)))
def test_every_derived_change_is_a_legal_transition(order, outcome, keep) -> None:
    """Facts accumulate in any order; each status change they cause is in the transition table."""
    known: set[str] = set()
    status = "queued"
    for fact in order[:keep]:
        known.add(fact)
        delegation = {"id": "toolu_1"} if "delegation" in known else None
        run = None
        if known & {"run", "started", "response_completed", "outcome"}:
            run = {"id": "a", "started_at": "t" if "started" in known else None,
                   "response": "completed" if "response_completed" in known else None,
                   "outcome": outcome if "outcome" in known else None}
        target, _ = attempt_status(delegation, run, "session_ended" in known)
        if target is not None and target != status:
            check_task_transition("t", status, target)
            status = target


def test_transition_table_keeps_terminal_states_guarded() -> None:
    assert "in_progress" not in TASK_TRANSITIONS["completed"]
    assert TASK_TRANSITIONS["cancelled"] == frozenset({"queued"})


# -- the completion judge ----------------------------------------------------------------------------

CFG = config.LifecycleConfig()
NOTHING = Evidence((), (), None, None)
FILES = Evidence(("a.py",), (), None, None)


@pytest.mark.parametrize("text, task_type, evidence, pushbacks, active, expected", [
    ("STATUS: completed", "implementation", FILES, 0, False, ("completed", False)),
    ("STATUS: completed", "implementation", NOTHING, 0, False, (None, True)),
    ("STATUS: completed", "implementation", NOTHING, 1, False, ("needs_review", False)),
    ("STATUS: completed", "implementation", NOTHING, 0, True, ("needs_review", False)),
    ("STATUS: completed", "implementation", Evidence((), (), True, None), 0, False, ("completed", False)),
    ("STATUS: completed", "implementation", Evidence(("a.py",), (), None, (False, "exit 1")), 0, False, (None, True)),
    ("did it", "implementation", FILES, 0, False, (None, True)),
    ("Summary of findings. STATUS: completed", "research", NOTHING, 0, False, ("completed", False)),
    ("Summary of findings.", "research", NOTHING, 0, False, ("completed", False)),
    ("STATUS: completed", "research", NOTHING, 0, False, (None, True)),
    ("STATUS: blocked\nBLOCKER: x", "implementation", NOTHING, 0, False, ("blocked", False)),
    ("STATUS: needs_review", "implementation", NOTHING, 0, False, ("needs_review", False)),
])
def test_judge(text, task_type, evidence, pushbacks, active, expected) -> None:
    verdict = judge(parse_report(text), {"type": task_type}, evidence, CFG, pushbacks=pushbacks,
                    stop_hook_active=active)
    assert (verdict.outcome, verdict.push_back) == expected
    assert (verdict.reason is not None) == (expected != ("completed", False))


def test_judge_with_the_gate_off_takes_the_claim() -> None:
    off = config.LifecycleConfig(completion_gate=False)
    verdict = judge(parse_report("STATUS: completed"), {"type": "implementation"}, NOTHING, off, pushbacks=0,
                    stop_hook_active=False)
    assert verdict.outcome == "completed"


def test_config_from_teams_yaml_block() -> None:
    org = build({"teams": {}, "lifecycle": {"gates": {"capacity": False}, "report_only_types": ["docs"],
                                            "pending_seconds": 5}})
    cfg = config.load(org)
    assert cfg.capacity_gate is False and cfg.dependency_gate is True
    assert cfg.report_only_types == frozenset({"docs"}) and cfg.pending_seconds == 5.0
    assert config.load(build({"teams": {}})) == config.LifecycleConfig()


def test_event_lines_say_why_a_run_stopped_and_when_work_resumed() -> None:
    from orchestra.metrics.eventtext import describe

    def line(type_: str, **data) -> str:
        return describe({"type": type_, "agent_id": "a1", "task_id": "t1", "data": {"agent_type": "fullstack-eng",
                                                                                    **data}})
    assert line("agent_stopped") == "fullstack-eng stopped with its session"
    assert line("agent_stopped", reason="task t1 set to queued by human") == \
        "fullstack-eng stopped: task t1 set to queued by human"
    assert line("agent_resumed", after="blocked") == "fullstack-eng resumed on t1 after it reported blocked"
    assert line("session_resumed", source="resume") == "session resumed (resume)"
