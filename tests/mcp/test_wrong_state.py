"""Calls that name something real in the wrong state, or something that is not there, through the official client:
each is a tool error that says what is wrong and where, and writes nothing (the whole store is compared)."""

from __future__ import annotations

from .conftest import LEAD_RUN, MAIN, add_task, member, refused

LEAD = member(LEAD_RUN, "tech-lead")
HUGE = "x" * 1_000_000


# -- a status the task already has ------------------------------------------------------------------

def test_completing_a_completed_task_is_refused_and_opens_no_new_review(server, store):
    add_task(store, "same-1", status="completed")
    for caller in (member(), MAIN):  # a worker's `completed` would otherwise become needs_review again
        message = refused(server, store, "update_task", task_id="same-1", status="completed", caller=caller)
        assert "task same-1 is already completed; nothing was changed" in message, message
    add_task(store, "same-2", status="cancelled")
    assert "task same-2 is already cancelled" in refused(server, store, "update_task", task_id="same-2",
                                                         status="cancelled", caller=MAIN)


def test_a_worker_completing_a_task_that_waits_for_review_again_is_refused(server, store):
    add_task(store, "same-3", status="in_progress")
    assert server.ok("update_task", task_id="same-3", status="completed", caller=member())["status"] == "needs_review"
    [request] = store.get("tasks.same-3.review_requests")
    message = refused(server, store, "update_task", task_id="same-3", status="completed", caller=member())
    assert "task same-3 is already needs_review; nothing was changed" in message, message
    assert store.get("tasks.same-3.review_requests") == [request]


def test_a_new_blocker_for_a_blocked_task_is_kept(server, store):
    add_task(store, "same-4", status="blocked", blocker="waiting for keys")
    assert server.ok("update_task", task_id="same-4", status="blocked", reason="waiting for the vendor",
                     caller=MAIN)["blocker"] == "waiting for the vendor"
    assert "task same-4 is already blocked" in refused(server, store, "update_task", task_id="same-4",
                                                       status="blocked", caller=MAIN)


def test_a_verdict_is_only_for_a_task_that_waits_for_its_review(server, store):
    add_task(store, "verd-1", status="in_progress")
    for verdict in ("approved", "changes_requested", "rejected"):
        message = refused(server, store, "update_task", task_id="verd-1", verdict=verdict, caller=LEAD)
        assert "task verd-1 is in_progress, not needs_review: a verdict is given on work waiting for its review" \
            in message, message


# -- reports and delegations on finished work -------------------------------------------------------

def test_a_report_on_a_finished_task_is_refused(server, store):
    add_task(store, "fin-1", status="cancelled")
    add_task(store, "fin-2", status="completed")
    for task_id, status in (("fin-1", "cancelled"), ("fin-2", "completed")):
        message = refused(server, store, "report_status", task_id=task_id, progress=40, caller=member())
        assert f"task {task_id} is {status}: a report is for work under way" in message, message


def test_delegating_a_finished_task_is_refused(server, store):
    add_task(store, "fin-3", status="cancelled")
    add_task(store, "fin-4", status="completed")
    for task_id, status in (("fin-3", "cancelled"), ("fin-4", "completed")):
        message = refused(server, store, "delegate_task", task_id=task_id)
        assert f"task {task_id} is {status}; there is no work to delegate" in message, message


def test_a_completed_task_of_a_repeatable_type_is_delegated_again(server, store):
    add_task(store, "orch-1", status="completed", type="orchestration", assignee=None)  # as the delegation gate lets it
    assert "[task:orch-1]" in server.ok("delegate_task", task_id="orch-1")["prompt"]


def test_a_worktree_for_a_finished_task_or_an_unknown_run_is_refused(server, store, mcp_project):
    add_task(store, "fin-5", status="cancelled")
    message = refused(server, store, "assign_worktree", task_id="fin-5", caller=member())
    assert "task fin-5 is cancelled; a worktree is for work under way" in message, message
    assert not (mcp_project / ".worktrees" / "task-fin-5").exists()
    add_task(store, "fin-6", status="in_progress")
    message = refused(server, store, "assign_worktree", task_id="fin-6", agent_id="no-such-run", caller=MAIN)
    assert "agent_id 'no-such-run': no agent run with that id in state" in message, message
    assert not (mcp_project / ".worktrees" / "task-fin-6").exists()


# -- filters that name nothing known ----------------------------------------------------------------

def test_list_tasks_refuses_a_filter_that_names_nothing_known(server):
    for argument, value, what in (("sprint", "sprint-nope", "sprint"), ("team", "team-nope", "team"),
                                  ("assignee", "nobody-here", "agent type")):
        message = server.error("list_tasks", **{argument: value})
        assert f"{argument} {value!r}: no {what} of that name" in message, message
    assert server.ok("list_tasks", sprint="sprint-3", status=["cancelled"]) == {"tasks": [], "count": 0}
    assert server.ok("list_tasks", team="qa", assignee="qa-engineer")["count"] >= 0


# -- huge arguments ----------------------------------------------------------------------------------

def test_a_huge_argument_is_refused_without_being_repeated_whole(server, store):
    for tool, arguments in (("send_message", {"to": HUGE, "text": "hi"}), ("ask", {"to": HUGE, "question": "q?"}),
                            ("handoff", {"to": HUGE, "artifacts": ["a.md"]}),
                            ("send_message", {"to": "tech-lead", "type": "answer", "reply_to": HUGE,
                                              "payload": {"answer": "x"}})):
        message = refused(server, store, tool, caller=member(), **arguments)
        assert len(message) < 2_000, (tool, len(message))
        assert "at most" in message and ("\nto\n" in message or "\nreply_to\n" in message), message



def test_a_handoff_to_a_finished_task_or_with_an_empty_note_is_refused(server, store):
    add_task(store, "fin-7", status="cancelled")
    message = refused(server, store, "handoff", artifacts=["docs/api.md"], task="fin-7", caller=member())
    assert "task fin-7 is cancelled; nobody works on it to receive artifacts" in message, message
    message = refused(server, store, "handoff", artifacts=["docs/api.md"], to="tech-lead", note="", caller=member())
    assert "note\n  String should have at least 1 character" in message, message  # not dropped unseen


def test_findings_alone_need_a_review_to_join(server, store):
    add_task(store, "fnd-1", status="queued")
    message = refused(server, store, "update_task", task_id="fnd-1", findings=["a.py:1 name it"], caller=LEAD)
    assert "task fnd-1 has no review to add findings to" in message, message
    add_task(store, "fnd-2", status="needs_review")  # its review is under way: the findings open it
    assert server.ok("update_task", task_id="fnd-2", findings=["a.py:1 name it"], caller=LEAD)["review"] == {
        "verdict": None, "findings": ["a.py:1 name it"], "by": f"agent:{LEAD_RUN}"}
