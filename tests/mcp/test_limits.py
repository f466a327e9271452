"""What the tools take and give: arguments only as the input schema says (no key it does not name, no value
of another JSON type), bounded findings and metrics, so a task stays readable, and no answer over the 60,000
characters an MCP result may carry: refused with a hint, and by a tool that writes, with nothing written.
This module's project is its own (its state grows large on purpose)."""

from __future__ import annotations

from jsonschema import Draft202012Validator
from orchestra.mcp_server.edge import MAX_RESULT_CHARS

from .conftest import MAIN, MEMBER_RUN, add_task, member, refused

EXTRA = "Extra inputs are not permitted"


# -- arguments --------------------------------------------------------------------------------------

def test_every_tool_advertises_that_it_takes_no_other_keys(server):
    for tool in server.tools():
        assert tool.input_schema["additionalProperties"] is False, tool.name


def test_the_listed_schemas_describe_every_argument_and_hold_the_servers_bounds(server, store):
    # A model (or a client that checks arguments before sending) learns the limits from tools/list alone.
    tools = {tool.name: tool for tool in server.tools()}
    for tool in tools.values():
        Draft202012Validator.check_schema(tool.input_schema)
        for name, argument in tool.input_schema["properties"].items():
            assert argument.get("description"), f"{tool.name}.{name} has no description"
    add_task(store, "schema-1", status="in_progress")
    too_many = {"task_id": "schema-1", "metrics": {f"m{n}": n for n in range(51)}, "caller": MAIN}
    too_late = {"to": "tech-lead", "question": "q?", "escalate_after_minutes": 1e300, "caller": MAIN}
    for tool, arguments in (("report_status", too_many), ("ask", too_late)):
        assert not Draft202012Validator(tools[tool].input_schema).is_valid(arguments), tool
        refused(server, store, tool, **arguments)
    assert "escalate_after_minutes\n  Input should be less than or equal to" in server.error("ask", **too_late)


def test_a_key_outside_the_schema_is_refused_not_dropped(server, store):
    add_task(store, "arg-1", status="in_progress")
    assert f"sumary\n  {EXTRA}" in refused(server, store, "report_status", task_id="arg-1", progress=50,
                                           sumary="typo", caller=MAIN)
    message = refused(server, store, "update_task", task_id="arg-1", stauts="blocked", caller=MAIN)
    assert f"stauts\n  {EXTRA}" in message and "give a status" not in message
    assert f"limt\n  {EXTRA}" in refused(server, store, "inbox", limt=3, caller=MAIN)


def test_a_tool_that_does_not_ask_who_calls_sets_the_stamped_caller_aside(server, store):
    # The identity hook stamps `caller` into every call, the reads' too; only other keys are refused there.
    assert server.ok("get_state", path="schema_version", caller=MAIN) == server.ok("get_state", path="schema_version")
    assert server.ok("list_tasks", caller=MAIN) == server.ok("list_tasks")
    assert f"pth\n  {EXTRA}" in refused(server, store, "get_state", pth="schema_version", caller=MAIN)


def test_a_value_of_another_json_type_is_refused_not_converted(server, store):
    add_task(store, "arg-2", status="in_progress")
    for progress in ("70", True, 70.0):
        assert "progress\n  Input should be a valid integer" in refused(
            server, store, "report_status", task_id="arg-2", progress=progress, caller=MAIN), progress
    assert "tests_passed\n  Input should be a valid integer" in refused(
        server, store, "report_status", task_id="arg-2", tests_passed=3.0, caller=MAIN)
    assert "limit\n  Input should be a valid integer" in refused(server, store, "inbox", limit="3", caller=MAIN)
    assert "escalate_after_minutes\n  Input should be a valid number" in refused(
        server, store, "ask", to="tech-lead", question="q?", escalate_after_minutes="5", caller=MAIN)
    report = server.ok("report_status", task_id="arg-2", progress=70, coverage=81, caller=MAIN)["report"]
    assert (report["progress"], report["coverage"]) == (70, 81)  # an integer is a number


# -- what one call may store ------------------------------------------------------------------------

def test_findings_are_bounded_in_length_and_number(server, store):
    add_task(store, "big-review", status="needs_review")
    assert "findings.0\n  String should have at most 500 characters" in refused(
        server, store, "update_task", task_id="big-review", findings=["f" * 200_000], caller=MAIN)
    assert "findings\n  List should have at most 20 items" in refused(
        server, store, "update_task", task_id="big-review", findings=["g"] * 50_000, caller=MAIN)
    assert "at least 1 character" in refused(server, store, "update_task", task_id="big-review", findings=[""],
                                             caller=MAIN)
    first = [f"api/pay.py:{n} {'x' * 480}" for n in range(15)]
    server.ok("update_task", task_id="big-review", findings=first, caller=MAIN)
    assert "the review would hold 25 findings, over 20" in refused(
        server, store, "update_task", task_id="big-review", findings=[f"b.py:{n}" for n in range(10)], caller=MAIN)

    most = [f"api/pay.py:{n} {'y' * 480}" for n in range(20)]  # the most one call may give stays readable
    server.ok("update_task", task_id="big-review", verdict="rejected", findings=most, caller=MAIN)
    assert server.ok("get_task", task_id="big-review")["task"]["review"]["findings"] == most


def test_metric_names_are_bounded_and_a_long_one_is_not_echoed_back(server, store):
    add_task(store, "big-report", status="in_progress")
    message = refused(server, store, "report_status", task_id="big-report", metrics={"k" * 100_000: 1},
                      caller=MAIN)
    assert "metric names have at most 64 characters" in message and len(message) < 1000
    assert "metrics\n  Dictionary should have at most 50 items" in refused(
        server, store, "report_status", task_id="big-report", metrics={f"m{n}": n for n in range(51)}, caller=MAIN)

    most = {f"{n:02d}{'m' * 62}": n for n in range(50)}  # the most one call may give stays readable
    server.ok("report_status", task_id="big-report", summary="s" * 2000, metrics=most, caller=MAIN)
    assert server.ok("get_task", task_id="big-report")["task"]["reports"][-1]["metrics"] == most


# -- answers ----------------------------------------------------------------------------------------

def test_an_inbox_too_big_to_answer_is_refused_and_marks_nothing_read(server, store):
    for n in range(20):
        server.ok("send_message", to=f"agent:{MEMBER_RUN}", text=f"{n}: {'z' * 3900}", caller=MAIN)
    message = refused(server, store, "inbox", limit=50, caller=member())
    assert f"over the {MAX_RESULT_CHARS} an MCP result may carry; ask for fewer messages" in message
    shown = server.ok("inbox", limit=5, caller=member())["messages"]
    deliveries = store.get("communication.deliveries")
    assert len(shown) == 5 and {m["id"] for m in shown} == {d.split("@")[0] for d in deliveries
                                                            if d.endswith(f"@{MEMBER_RUN}")}


def test_a_status_change_whose_answer_is_too_big_is_refused_and_writes_nothing(server, store):
    add_task(store, "huge-1", spec="s" * (MAX_RESULT_CHARS + 1000))
    message = refused(server, store, "update_task", task_id="huge-1", status="in_progress", caller=MAIN)
    assert "nothing was changed" in message and "get_state tasks.<id>.<field>" in message


def test_a_tool_that_does_not_size_its_answer_is_still_held_to_the_limit(server, store):
    with store.transaction() as tx:
        for n in range(80):
            tx.set(f"sprints.wide-{n}", {"name": f"{n} {'w' * 1000}", "status": "planning", "history": [],
                                         "tasks": []})
    assert f"over the {MAX_RESULT_CHARS} an MCP result may carry" in server.error("sprint_status")
