"""Every tool of the orchestra MCP server, with good and bad input, through the official client over stdio.

Bad input must come back as a tool error (isError) that says what was wrong, and must write nothing:
the whole state document, events included, is compared before and after each refused change.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from orchestra import agentfiles

from tests.conftest import REPO

from .conftest import LEAD_RUN, MAIN, MEMBER_RUN, add_task, everything, member, refused

READS = {"get_state", "list_tasks", "get_task", "delegate_task", "sprint_status", "plan_sprint"}
LEAD = member(LEAD_RUN, "tech-lead")
SPRINT_TASKS = [t["id"] for t in yaml.safe_load((REPO / ".claude/sprints/sprint-3.yaml").read_text())["tasks"]]


def titles(schema) -> list[str]:
    if isinstance(schema, dict):
        return [v for k, v in schema.items() if k == "title" and isinstance(v, str)] + \
            [t for v in schema.values() for t in titles(v)]
    return [t for v in schema for t in titles(v)] if isinstance(schema, list) else []


# -- the listing ------------------------------------------------------------------------------------

def test_lists_the_contract_tools_each_described_typed_and_marked_read_only_or_not(server):
    tools = {tool.name: tool for tool in server.tools()}
    assert set(tools) == set(agentfiles.MCP_TOOLS)
    for name, tool in tools.items():
        assert 40 <= len(tool.description) <= 320, name
        assert len([s for s in tool.description.split(". ") if s]) <= 3, name
        schema = tool.input_schema
        assert schema["type"] == "object" and not titles(schema), name
        assert "caller" not in schema.get("required", []), name
        assert tool.annotations.read_only_hint is (name in READS), name
    assert tools["update_task"].input_schema["properties"]["status"]["enum"] == [
        "queued", "assigned", "in_progress", "completed", "blocked", "needs_review", "cancelled"]
    assert "question" in tools["send_message"].input_schema["properties"]["type"]["enum"]
    assert "and go to its sender" in tools["send_message"].input_schema["properties"]["reply_to"]["description"]


# -- state and tasks --------------------------------------------------------------------------------

def test_get_state_gives_an_overview_or_the_value_at_a_path(server):
    overview = server.ok("get_state")
    assert overview["counts"]["tasks"] >= len(SPRINT_TASKS) and overview["sprints"]["sprint-3"] == "active"
    assert server.ok("get_state", path="tasks.task-oauth.title") == {"path": "tasks.task-oauth.title",
                                                                      "value": "OAuth2 login"}
    assert "unknown key 'nonsense'" in server.error("get_state", path="nonsense.x")
    assert "nothing is stored at 'tasks.no-such-task'" in server.error("get_state", path="tasks.no-such-task")


def test_list_tasks_filters_by_sprint_and_status(server):
    listed = server.ok("list_tasks", sprint="sprint-3")
    assert [t["id"] for t in listed["tasks"]] == sorted(SPRINT_TASKS)
    assert listed["count"] == len(SPRINT_TASKS) and {t["status"] for t in listed["tasks"]} == {"queued"}
    assert server.ok("list_tasks", sprint="sprint-3", status=["completed", "blocked"]) == {"tasks": [], "count": 0}
    assert "Input should be 'queued'" in server.error("list_tasks", status=["done"])


def test_list_tasks_refuses_an_empty_filter_instead_of_listing_every_task(server):
    for name in ("sprint", "team", "assignee"):
        assert f"{name}\n  String should have at least 1 character" in server.error("list_tasks", **{name: ""})
    assert "status\n  List should have at least 1 item" in server.error("list_tasks", status=[])


def test_get_task_tells_the_whole_story_and_refuses_unknown_ids(server):
    story = server.ok("get_task", task_id="task-2fa")
    assert story["task"]["dependencies"] == ["task-oauth"] and story["task"]["status"] == "queued"
    assert story["handoffs"] == [] and story["reviews"] == [] and story["runs"] == []
    assert "no such task" in server.error("get_task", task_id="no-such-task")
    assert "should match pattern" in server.error("get_task", task_id="tasks.x.y")


def test_update_task_moves_a_task_in_the_callers_name(server, store):
    add_task(store, "upd-1")
    task = server.ok("update_task", task_id="upd-1", status="in_progress", caller=member())
    assert task["status"] == "in_progress"
    blocked = server.ok("update_task", task_id="upd-1", status="blocked", reason="waiting for API keys",
                        caller=member())
    assert blocked["blocker"] == "waiting for API keys"
    moves = [e for e in store.events_after(0, limit=-1, types=("task_status_set",)) if e["task_id"] == "upd-1"]
    assert [(e["data"]["to"], e["data"]["by"]) for e in moves] == [("in_progress", f"agent:{MEMBER_RUN}"),
                                                                     ("blocked", f"agent:{MEMBER_RUN}")]


def test_update_task_refuses_illegal_moves_and_empty_or_anonymous_calls(server, store):
    add_task(store, "upd-2", status="completed")
    assert "cannot go from completed to in_progress; legal next states: needs_review, queued" in refused(
        server, store, "update_task", task_id="upd-2", status="in_progress", caller=member())
    assert "give a status, a verdict or findings" in refused(server, store, "update_task", task_id="upd-2",
                                                             caller=member())
    assert "no caller identity" in refused(server, store, "update_task", task_id="upd-2", status="queued")
    assert "no such task" in refused(server, store, "update_task", task_id="upd-nope", status="queued", caller=MAIN)
    assert "Input should be 'queued'" in refused(server, store, "update_task", task_id="upd-2", status="done",
                                                 caller=MAIN)


def test_update_task_keeps_to_what_the_sprint_allows_and_blocks_a_stuck_sprint(server, store):
    with store.transaction() as tx:
        tx.set("sprints.sprint-ready", {"status": "ready", "history": [], "tasks": ["rdy-1"]})
        tx.set("sprints.sprint-stuck", {"status": "active", "history": [], "tasks": ["stk-1"]})
    add_task(store, "rdy-1", sprint="sprint-ready")
    add_task(store, "stk-1", sprint="sprint-stuck", status="in_progress")
    assert "cannot become in_progress while sprint sprint-ready is ready" in refused(
        server, store, "update_task", task_id="rdy-1", status="in_progress", caller=MAIN)
    server.ok("update_task", task_id="stk-1", status="blocked", reason="the payment provider is down", caller=MAIN)
    assert store.get("sprints.sprint-stuck.status") == "blocked"
    server.ok("update_task", task_id="stk-1", status="in_progress", caller=MAIN)
    assert store.get("sprints.sprint-stuck.status") == "active"


def test_update_task_records_a_review_verdict_and_findings(server, store):
    add_task(store, "rev-1", status="needs_review")
    add_task(store, "rev-2", status="needs_review")
    approved = server.ok("update_task", task_id="rev-1", verdict="approved", caller=LEAD)
    assert approved["status"] == "completed"
    assert approved["review"] == {"verdict": "approved", "findings": [], "by": f"agent:{LEAD_RUN}"}
    findings = ["api/pay.py:12 validate the amount", "api/pay.py:40 make the refund idempotent"]
    changes = server.ok("update_task", task_id="rev-2", verdict="changes_requested", findings=findings, caller=LEAD)
    assert changes["status"] == "in_progress" and changes["review"]["findings"] == findings
    history = server.ok("get_task", task_id="rev-2")["events"]
    assert [e["type"] for e in history][-2:] == ["task_status_set", "task_reviewed"]
    assert "Input should be 'approved'" in refused(server, store, "update_task", task_id="rev-2", verdict="fine",
                                                   caller=LEAD)


def test_findings_alone_join_the_review_and_keep_its_verdict(server, store):
    add_task(store, "rev-3", status="needs_review")
    server.ok("update_task", task_id="rev-3", verdict="changes_requested", findings=["a.py:1 name it"], caller=LEAD)
    more = server.ok("update_task", task_id="rev-3", findings=["a.py:9 test it", "a.py:1 name it"], caller=LEAD)
    assert more["status"] == "in_progress"
    assert more["review"] == {"verdict": "changes_requested", "findings": ["a.py:1 name it", "a.py:9 test it"],
                              "by": f"agent:{LEAD_RUN}"}
    assert store.get("tasks.rev-3.review") == more["review"]
    server.ok("update_task", task_id="rev-3", status="needs_review", caller=MAIN)
    approved = server.ok("update_task", task_id="rev-3", verdict="approved", caller=LEAD)
    assert approved["review"] == {"verdict": "approved", "findings": [], "by": f"agent:{LEAD_RUN}"}  # a new round


def test_a_verdict_tells_the_worker_its_reason_and_every_finding(server, store):
    add_task(store, "rev-4", status="in_progress")
    assert server.ok("update_task", task_id="rev-4", status="completed", caller=member())["status"] == "needs_review"
    findings = ["pay.py:12 validate the amount", "pay.py:40 make the refund idempotent"]
    server.ok("update_task", task_id="rev-4", verdict="changes_requested", reason="not safe to ship yet",
              findings=findings, caller=LEAD)
    [reply] = [m for m in store.get("communication.messages").values()
               if m["type"] == "review_complete" and m.get("task") == "rev-4"]
    assert reply["to"] == "fullstack-eng"
    for said in ("not safe to ship yet", *findings):  # what the reworking member is shown
        assert said in reply["payload"]["notes"], reply


def test_a_worker_cannot_approve_its_own_work_of_a_team_that_requires_review(server, store):
    add_task(store, "rev-self", status="in_progress")
    assert server.ok("update_task", task_id="rev-self", status="completed", caller=member())["status"] == "needs_review"
    for arguments in ({"verdict": "approved"}, {"verdict": "approved", "status": "completed"}):
        message = refused(server, store, "update_task", task_id="rev-self", caller=member(), **arguments)
        assert "your verdict 'approved' was not taken, and nothing was changed: awaiting review by tech-lead" in message
    assert "review" not in store.get("tasks.rev-self")
    assert server.ok("update_task", task_id="rev-self", verdict="approved", caller=LEAD)["status"] == "completed"


def test_delegate_task_returns_ready_agent_arguments(server, store):
    arguments = server.ok("delegate_task", task_id="task-oauth")
    assert arguments["subagent_type"] == "fullstack-eng"
    assert arguments["prompt"].startswith("[task:task-oauth] OAuth2 login")
    assert "no such task" in server.error("delegate_task", task_id="no-such-task")


def test_report_status_keeps_the_report_on_the_task_and_in_the_history(server, store):
    add_task(store, "rep-1", status="in_progress", agent_id=MEMBER_RUN)
    result = server.ok("report_status", task_id="rep-1", progress=40, summary="login form done", build="passed",
                       tests_passed=12, tests_failed=0, coverage=81.5, metrics={"p95_ms": 41.5}, caller=member())
    report = result["report"]
    assert {k: report[k] for k in ("progress", "build", "tests_passed", "tests_failed", "coverage", "metrics")} == {
        "progress": 40, "build": "passed", "tests_passed": 12, "tests_failed": 0, "coverage": 81.5,
        "metrics": {"p95_ms": 41.5}}
    assert report["by"] == f"agent:{MEMBER_RUN}"
    task = store.get("tasks.rep-1")
    assert task["progress"] == 40 and task["reports"] == [report] and task["status"] == "in_progress"
    [event] = [e for e in store.events_after(0, limit=-1, types=("task_reported",)) if e["task_id"] == "rep-1"]
    assert event["agent_id"] == MEMBER_RUN and event["data"]["summary"] == "login form done"
    assert "less than or equal to 100" in refused(server, store, "report_status", task_id="rep-1", progress=150,
                                                  caller=member())
    assert "give at least one of" in refused(server, store, "report_status", task_id="rep-1", caller=member())
    assert "no such task" in refused(server, store, "report_status", task_id="rep-nope", progress=5, caller=member())
    assert "no caller identity" in refused(server, store, "report_status", task_id="rep-1", progress=5)
    assert "summary\n  String should have at least 1 character" in refused(
        server, store, "report_status", task_id="rep-1", summary="", caller=member())  # a report of nothing


def test_report_status_refuses_a_summary_of_blanks(server, store):
    add_task(store, "rep-blank", status="in_progress", agent_id=MEMBER_RUN)
    message = refused(server, store, "report_status", task_id="rep-blank", summary=" \n\t ", caller=member())
    assert "summary" in message and "non-empty" in message, message
    refused(server, store, "report_status", task_id="rep-blank", progress=10, summary="   ", caller=member())
    assert server.ok("report_status", task_id="rep-blank", summary=" done ", caller=member())["report"]["summary"]


# -- messages ---------------------------------------------------------------------------------------

def test_send_message_stores_the_stamped_sender(server, store):
    sent = server.ok("send_message", to="tech-lead", text="the orders schema changed", priority="high",
                     caller=member())
    stored = store.get(f"communication.messages.{sent['id']}")
    assert stored["from"] == f"agent:{MEMBER_RUN}" and stored["from_type"] == "fullstack-eng"
    assert (stored["to"], stored["type"], stored["priority"], stored["payload"]) == (
        "tech-lead", "state_updated", "high", {"text": "the orders schema changed"})


def test_send_message_refuses_a_message_with_nothing_in_it(server, store):
    for empty in ({}, {"payload": {}}, {"text": "   "}, {"text": "\n\t"}, {"type": "task_completed", "task": None}):
        message = refused(server, store, "send_message", to="tech-lead", caller=member(), **empty)
        assert "the message is empty: give its text (text) or its content (payload)" in message, (empty, message)
    assert "needs a non-empty 'question'" in refused(server, store, "send_message", to="tech-lead", type="question",
                                                     caller=member())
    assert server.ok("send_message", to="tech-lead", payload={"done": False}, caller=member())["payload"] == {
        "done": False}


def test_send_message_refuses_bad_input_and_writes_nothing(server, store):
    assert "unknown agent type" in refused(server, store, "send_message", to="nobody-here", text="hi",
                                           caller=member())
    assert "not both" in refused(server, store, "send_message", to="tech-lead", text="a", payload={"b": 1},
                                 caller=member())
    assert "over the 4096-byte limit" in refused(server, store, "send_message", to="tech-lead",
                                                 payload={"text": "x" * 5000}, caller=member())
    for tool, arguments in (("ask", {"question": "q" * 5000}), ("handoff", {"artifacts": ["a.md"], "note": "n" * 5000})):
        assert "payload (the message's text, question, answer or note with the rest of its content) is" in refused(
            server, store, tool, to="tech-lead", caller=member(), **arguments)  # names what the caller wrote
    assert "Input should be 'task_assigned'" in refused(server, store, "send_message", to="tech-lead",
                                                        type="gossip", text="hi", caller=member())
    assert "must name the question it replies to" in refused(server, store, "send_message", to="tech-lead",
                                                             type="answer", payload={"answer": "x"}, caller=member())
    assert "no caller identity" in refused(server, store, "send_message", to="tech-lead", text="hi")
    assert "text\n  String should have at least 1 character" in refused(server, store, "send_message",
                                                                      to="tech-lead", text="", caller=member())
    assert "should match pattern" in refused(server, store, "send_message", to="tech-lead", text="hi",
                                             caller={"id": "human"})


def test_a_question_is_asked_seen_answered_and_acknowledged(server, store):
    question = server.ok("ask", to="tech-lead", question="Which database for orders?", priority="high",
                         task="task-oauth", escalate_after_minutes=30, caller=member())
    assert question["type"] == "question" and question["from"] == f"agent:{MEMBER_RUN}"
    assert store.get(f"communication.messages.{question['id']}.escalate_after_s") == 1800
    inbox = server.ok("inbox", caller=LEAD)
    assert question["id"] in [m["id"] for m in inbox["messages"]]
    delivery = store.get(f"communication.deliveries.{question['id']}@{LEAD_RUN}")
    assert delivery["via"] == "mcp_call"  # read through the tool, so the hooks do not inject it again

    other = member("run-api-1", "api-engineer")
    assert "only its recipient can close it" in refused(server, store, "answer", question_id=question["id"],
                                                        answer="Postgres", caller=other)
    answer = server.ok("answer", question_id=question["id"], answer="SQLite in WAL mode", caller=LEAD)
    assert answer["to"] == f"agent:{MEMBER_RUN}" and answer["reply_to"] == question["id"]
    assert store.get(f"communication.messages.{question['id']}.status") == "answered"
    assert "already answered" in refused(server, store, "answer", question_id=question["id"], answer="again",
                                         caller=LEAD)

    mine = server.ok("inbox", caller=member())["messages"]
    assert answer["id"] in [m["id"] for m in mine]
    assert "only its recipient can close it" in refused(server, store, "ack", message_id=answer["id"], caller=LEAD)
    assert server.ok("ack", message_id=answer["id"], caller=member())["status"] == "acknowledged"
    assert server.ok("ack", message_id=answer["id"], caller=member())["status"] == "acknowledged"  # harmless twice
    assert answer["id"] not in [m["id"] for m in server.ok("inbox", caller=member())["messages"]]


def test_a_question_to_the_askers_own_agent_type_is_for_the_other_runs_of_that_type(server, store):
    """It is not shown back to the run that asked, which cannot answer it and close it before the others see it."""
    other_lead = member("run-lead-2", "tech-lead")
    with store.transaction() as tx:
        tx.set("agents.run-lead-2", {"agent_type": "tech-lead", "status": "active", "session_id": "session-mcp-tests"})
    question = server.ok("ask", to="tech-lead", question="Who owns the schema?", caller=LEAD)
    assert question["id"] not in [m["id"] for m in server.ok("inbox", caller=LEAD)["messages"]]
    assert f"message {question['id']} is your own, sent to tech-lead" in refused(
        server, store, "answer", question_id=question["id"], answer="I do", caller=LEAD)
    assert question["id"] in [m["id"] for m in server.ok("inbox", caller=other_lead)["messages"]]
    assert server.ok("answer", question_id=question["id"], answer="the data team", caller=other_lead)["to"] == \
        f"agent:{LEAD_RUN}"


def test_a_message_to_a_run_that_has_ended_says_who_will_read_it_instead(server, store):
    with store.transaction() as tx:
        tx.set("agents.run-done", {"agent_type": "fullstack-eng", "status": "completed", "outcome": "completed",
                                   "session_id": "session-mcp-tests", "ended_at": "2026-01-01T00:00:00.000Z"})
    handed = server.ok("handoff", artifacts=["docs/api.yaml"], to="agent:run-done", caller=LEAD)
    assert handed["note"] == ("agent:run-done has ended (completed) and will not read this; the main thread of its "
                              "session is shown it instead")
    assert "note" not in server.ok("send_message", to=f"agent:{MEMBER_RUN}", text="hi", caller=LEAD)
    assert "note" not in store.get(f"communication.messages.{handed['id']}")


def test_a_reply_sent_as_a_message_is_for_the_recipient_and_a_verdict_settles_the_review(server, store):
    add_task(store, "rc-1", status="in_progress")
    assert server.ok("update_task", task_id="rc-1", status="completed", caller=member())["status"] == "needs_review"
    [request] = store.get("tasks.rc-1.review_requests")
    verdict = {"to": "fullstack-eng", "type": "review_complete", "reply_to": request, "payload": {"verdict": "approved"}}
    assert "only its recipient can close it" in refused(server, store, "send_message", caller=member(), **verdict)
    question = server.ok("ask", to="tech-lead", question="Ship it?", caller=member("run-api-1", "api-engineer"))
    assert "only its recipient can close it" in refused(server, store, "send_message", to="api-engineer",
                                                        type="answer", reply_to=question["id"],
                                                        payload={"answer": "yes"}, caller=member())
    with store.transaction() as tx:  # a sprint under review takes no reworked task, whichever tool gives the verdict
        tx.set("sprints.sprint-rc", {"status": "review", "history": [], "tasks": ["rc-1"]})
        tx.update("tasks.rc-1", {"sprint": "sprint-rc"})
    sent_back = {**verdict, "payload": {"verdict": "changes_requested"}}
    assert "cannot become in_progress while sprint sprint-rc is review" in refused(
        server, store, "send_message", caller=LEAD, **sent_back)
    server.ok("send_message", caller=LEAD, **verdict)
    task = store.get("tasks.rc-1")
    assert task["status"] == "completed" and task["review_requests"] == []
    assert store.get(f"communication.messages.{request}.verdict") == "approved"


def test_message_tools_refuse_bad_ids_and_values(server, store):
    assert "no such message" in refused(server, store, "ack", message_id="msg-999999", caller=member())
    assert "should match pattern" in refused(server, store, "ack", message_id="../msg", caller=member())
    assert "no such message" in refused(server, store, "answer", question_id="msg-999999", answer="x", caller=LEAD)
    assert "greater than 0" in refused(server, store, "ask", to="tech-lead", question="why?",
                                       escalate_after_minutes=0, caller=member())
    assert "at least 1 character" in refused(server, store, "ask", to="tech-lead", question="", caller=member())
    assert "greater than or equal to 1" in refused(server, store, "inbox", limit=0, caller=member())
    assert "no caller identity" in refused(server, store, "inbox")


def test_a_reply_to_an_id_naming_a_part_of_a_message_or_no_path_is_no_message(server, store):
    question = server.ok("ask", to="fullstack-eng", question="Which IdP?", caller=LEAD)
    for bad in (f"{question['id']}.payload", f"{question['id']}.delivered", " ", "", "m 1", "ünï"):
        message = refused(server, store, "send_message", to="tech-lead", type="answer", reply_to=bad,
                          payload={"answer": "Okta"}, caller=member())
        assert f"reply_to {bad!r}: not a message id" in message, (bad, message)
    assert store.get(f"communication.messages.{question['id']}.status") == "pending"


def test_the_main_thread_reads_messages_for_itself_and_the_human(server, store):
    for_human = server.ok("send_message", to="human", text="approve the migration?", caller=member())
    for_main = server.ok("send_message", to="main", text="sprint-3 is underway", caller=member())
    seen = [m["id"] for m in server.ok("inbox", caller=MAIN, limit=50)["messages"]]
    assert {for_human["id"], for_main["id"]} <= set(seen)
    assert server.ok("ack", message_id=for_human["id"], caller=MAIN)["status"] == "acknowledged"


def test_a_main_thread_acknowledges_a_broadcast_only_for_its_own_session(server, store):
    other = {**MAIN, "session_id": "session-mcp-other"}
    with store.transaction() as tx:
        tx.set("sessions.session-mcp-other", {"started_at": "2026-12-06T22:00:00Z"})
    everyone = server.ok("send_message", to="broadcast", text="freeze at 17:00", caller=LEAD)
    assert server.ok("ack", message_id=everyone["id"], caller=MAIN)["status"] == "pending"
    assert everyone["id"] not in [m["id"] for m in server.ok("inbox", caller=MAIN, limit=50)["messages"]]
    assert everyone["id"] in [m["id"] for m in server.ok("inbox", caller=other, limit=50)["messages"]]
    assert store.get(f"communication.deliveries.{everyone['id']}@main:session-mcp-other.acked_at") is None
    server.ok("ack", message_id=everyone["id"], caller=other)
    assert store.get(f"communication.deliveries.{everyone['id']}@main:session-mcp-other.acked_at") is not None
    assert everyone["id"] in [m["id"] for m in server.ok("inbox", caller=member(), limit=50)["messages"]]


def test_a_broadcast_from_one_sessions_main_thread_reaches_the_main_thread_of_another(server, store):
    other = {**MAIN, "session_id": "session-mcp-third"}
    with store.transaction() as tx:
        tx.set("sessions.session-mcp-third", {"started_at": "2026-12-06T22:00:00Z"})
    sent = server.ok("send_message", to="broadcast", text="deploy freeze", caller=MAIN)
    assert sent["id"] not in [m["id"] for m in server.ok("inbox", caller=MAIN, limit=50)["messages"]]
    assert sent["id"] in [m["id"] for m in server.ok("inbox", caller=other, limit=50)["messages"]]
    question = server.ok("ask", to="broadcast", question="who holds the deploy lock?", caller=other)
    assert question["id"] in [m["id"] for m in server.ok("inbox", caller=MAIN, limit=50)["messages"]]
    assert question["id"] not in [m["id"] for m in server.ok("inbox", caller=other, limit=50)["messages"]]


def test_a_main_thread_is_not_shown_back_what_it_sends_to_main(server, store):
    """A message is never shown back to the run that sent it: a main thread's note to `main` is for the main threads
    of the other sessions (the next one, when none is open), one to its own `main:<session>` for the session that
    reads after it has ended."""
    other = {**MAIN, "session_id": "session-mcp-fourth"}
    with store.transaction() as tx:
        tx.set("sessions.session-mcp-fourth", {"started_at": "2026-12-06T22:00:00Z"})
        tx.set(f"sessions.{MAIN['session_id']}", {"started_at": "2026-12-06T21:00:00Z"})
    note = server.ok("send_message", to="main", text="the release branch is cut", caller=MAIN)
    mine = server.ok("send_message", to=f"main:{MAIN['session_id']}", text="resume the migration", caller=MAIN)
    assert not {note["id"], mine["id"]} & {m["id"] for m in server.ok("inbox", caller=MAIN, limit=50)["messages"]}
    assert note["id"] in [m["id"] for m in server.ok("inbox", caller=other, limit=50)["messages"]]
    with store.transaction() as tx:
        tx.set(f"sessions.{MAIN['session_id']}.ended_at", "2026-12-06T23:00:00Z")
    try:
        assert mine["id"] in [m["id"] for m in server.ok("inbox", caller=other, limit=50)["messages"]]
    finally:  # the module's other tests run in this session: it is open again for them
        with store.transaction() as tx:
            tx.set(f"sessions.{MAIN['session_id']}", {"started_at": "2026-12-06T21:00:00Z"})


def test_handoff_reaches_the_receiving_task_and_its_assignee(server, store):
    add_task(store, "recv-1", assignee="api-engineer")
    add_task(store, "recv-2", assignee=None)
    add_task(store, "send-1")
    sent = server.ok("handoff", artifacts=["docs/api.md", "api/schema.json"], task="recv-1", from_task="send-1",
                     note="the v2 schema", caller=member())
    assert sent["to"] == "api-engineer" and sent["type"] == "artifact_ready"
    handed = server.ok("get_task", task_id="recv-1")["handoffs"]
    assert [(h["path"], h["from"], h["received"]) for h in handed] == [
        ("docs/api.md", f"agent:{MEMBER_RUN}", False), ("api/schema.json", f"agent:{MEMBER_RUN}", False)]
    assert "at least 1 item" in refused(server, store, "handoff", artifacts=[], task="recv-1", caller=member())
    assert "name the receiver" in refused(server, store, "handoff", artifacts=["a.md"], task="recv-2",
                                          caller=member())
    assert "task 'recv-nope': no such task" in refused(server, store, "handoff", artifacts=["a.md"], task="recv-nope",
                                                       caller=member())


# -- sprints ----------------------------------------------------------------------------------------

def test_sprint_status_lists_sprints_or_reports_one(server):
    listed = server.ok("sprint_status")["sprints"]
    assert {"sprint": "sprint-3", "name": "Payments", "status": "active", "points": listed[0]["points"],
            "epic": "payments"} in listed
    status = server.ok("sprint_status", sprint_id="sprint-3")
    assert status["sprint"] == "sprint-3" and status["counts"]["queued"] == len(SPRINT_TASKS)
    assert status["critical_path"]["tasks"][0] == "task-oauth" and "forecast" in status
    assert "sprint-nope" in server.error("sprint_status", sprint_id="sprint-nope")
    assert "should match pattern" in server.error("sprint_status", sprint_id="../../etc/passwd")


def test_plan_sprint_gives_waves_with_ready_agent_arguments(server):
    plan = server.ok("plan_sprint", sprint_id="sprint-3")
    first = plan["batches"][0]["tasks"]
    assert "task-oauth" in [t["id"] for t in first]
    oauth = next(t for t in first if t["id"] == "task-oauth")
    assert oauth["critical"] and oauth["agent"]["prompt"].startswith("[task:task-oauth]")
    assert plan["points"]["remaining"] == plan["points"]["total"]
    assert "sprint-nope" in server.error("plan_sprint", sprint_id="sprint-nope")
    assert "Field required" in server.error("plan_sprint")


@pytest.mark.parametrize("tool", sorted(READS))
def test_reads_write_nothing(server, store, tool):
    arguments = {"get_task": {"task_id": "task-oauth"}, "delegate_task": {"task_id": "task-oauth"},
                 "plan_sprint": {"sprint_id": "sprint-3"}, "sprint_status": {"sprint_id": "sprint-3"}}.get(tool, {})
    before = everything(store)
    server.ok(tool, **arguments)
    assert json.dumps(everything(store), sort_keys=True) == json.dumps(before, sort_keys=True)


# -- worktrees --------------------------------------------------------------------------------------

def test_a_worktree_is_assigned_to_one_run_at_a_time_and_released(server, store, mcp_project):
    add_task(store, "wt-1")
    assigned = server.ok("assign_worktree", task_id="wt-1", caller=member())
    path = assigned["path"]
    assert assigned["lock"]["agent_id"] == MEMBER_RUN and (mcp_project / ".worktrees").is_dir()
    assert store.get("tasks.wt-1.worktree") == path and store.get(f"agents.{MEMBER_RUN}.worktree") == path
    assert "is held by run run-eng-1" in refused(server, store, "assign_worktree", task_id="wt-1",
                                                 caller=member("run-api-1", "api-engineer"))
    released = server.ok("release_worktree", task_id="wt-1", caller=MAIN)
    assert released["id"] == assigned["id"] and released["lock"] is None
    with store.transaction() as tx:  # a worktree is handed to a run that has started
        tx.set("agents.run-api-1", {"agent_type": "api-engineer", "status": "active", "session_id": "session-mcp-tests"})
    again = server.ok("assign_worktree", task_id="wt-1", agent_id="run-api-1", caller=MAIN)
    assert again["lock"]["agent_id"] == "run-api-1" and again["path"] == path


def test_a_worktree_the_main_thread_took_is_said_to_be_held_by_it(server, store):
    add_task(store, "wt-2")
    server.ok("assign_worktree", task_id="wt-2", caller=MAIN)
    message = refused(server, store, "assign_worktree", task_id="wt-2", caller=member())
    assert "is held by the main thread via the MCP tool assign_worktree (task wt-2" in message
    server.ok("release_worktree", task_id="wt-2", caller=MAIN)


def test_worktree_tools_refuse_what_does_not_exist(server, store):
    assert "not in state" in refused(server, store, "assign_worktree", task_id="wt-nope", caller=member())
    assert "no worktree 'no-such-worktree'" in refused(server, store, "release_worktree", name="no-such-worktree",
                                                       caller=MAIN)
    add_task(store, "wt-none")
    assert "has no worktree" in refused(server, store, "release_worktree", task_id="wt-none", caller=MAIN)
    message = refused(server, store, "release_worktree", task_id="wt-nope", caller=MAIN)
    assert "task 'wt-nope': no such task" in message and "has no worktree" not in message
    assert "not both" in refused(server, store, "release_worktree", caller=MAIN)
    assert "no caller identity" in refused(server, store, "assign_worktree", task_id="wt-none")


def test_a_state_directory_that_cannot_be_made_is_named_in_the_error(tmp_path):
    from .conftest import spawn

    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    shutil.copy(REPO / ".claude/teams.yaml", project / ".claude/teams.yaml")
    (project / ".claude" / "state").write_text("a file where the state directory belongs\n")
    running = spawn(project)
    try:
        for tool, arguments in (("get_state", {}), ("send_message", {"to": "tech-lead", "text": "hi", "caller": MAIN}),
                                ("sprint_status", {})):
            message = running.error(tool, **arguments)
            assert f"cannot make the directory {project / '.claude' / 'state'}: a file of that name is in the way" \
                in message, message
            assert "Traceback" not in message
    finally:
        running.close()
    assert (project / ".claude" / "state").read_text() == "a file where the state directory belongs\n"


def test_acknowledging_a_team_message_says_it_is_closed_for_the_caller_and_open_for_the_others(server, store):
    to_team = server.ok("send_message", to="team:engineering", text="API freeze at 17:00", caller=MAIN)
    acked = server.ok("ack", message_id=to_team["id"], caller=LEAD)
    assert acked["status"] == "pending" and acked["acknowledged_by"] == f"agent:{LEAD_RUN}"  # the keys stay
    assert acked["closed_for_you"] is True and acked["open_for_others"] is True
    assert acked["note"] == ("acknowledged: closed for you; it stays open (status pending) for the others it is "
                             "addressed to (team:engineering) until each acknowledges it or it expires")
    assert server.ok("ack", message_id=to_team["id"], caller=LEAD)["closed_for_you"] is True  # again: the same
    for_main = server.ok("send_message", to="main", text="sprint-3 is underway", caller=member())
    closed = server.ok("ack", message_id=for_main["id"], caller=MAIN)
    assert closed["status"] == "acknowledged" and closed["closed_for_you"] is True
    assert closed["open_for_others"] is False and "note" not in closed
