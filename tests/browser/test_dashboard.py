"""The dashboard in a real browser: it shows the sample sprint, and when a real hook script writes
state the page changes by itself (no reload), without a console error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orchestra.bus import ask
from orchestra.store import open_store

from tests.browser.conftest import ARTIFACTS
from tests.conftest import run_hook
from tests.observability.harness import (
    report_made_while_running,
    running_dashboard,
    sample_project,
    started_sprint,
)

SESSION = "5e551011-0000-4000-8000-00000000da5b"
AGENT = "a0da5b0a4d0000001"


@pytest.fixture
def sprint_project(project: Path) -> Path:
    sample_project(project)
    with open_store(root=project) as store:
        started_sprint(store)
        with store.transaction() as tx:
            report_made_while_running(tx, "task-oauth", {"coverage": 87.5, "build": "passed"}, by="agent:a-earlier",
                                      agent_id="a-earlier")
            ask(tx, sender="human", to="tech-lead", question="Which card processor do we integrate first?",
                priority="high", task="task-payments-api")
    return project


def hook(script: str, payload: dict, project: Path) -> dict:
    base = {"session_id": SESSION, "transcript_path": str(project / "t.jsonl"), "cwd": str(project)}
    proc = run_hook(script, {**base, **payload}, project)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def text(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_the_page_follows_a_delegation_live(page, sprint_project: Path) -> None:
    with running_dashboard(sprint_project) as dashboard:
        page.goto(dashboard.url)
        page.locator("body:not([data-last-event='0'])").wait_for(state="attached")  # no eval: the CSP forbids it
        assert text(page, "#sprint-title") == "sprint-3 · Payments"
        assert text(page, "#sprint-status").lower() == "active"
        assert text(page, "#critical-path").startswith("10 pts: task-payments-api → task-checkout")
        assert "5 of 21 points" in text(page, "#points-done")
        # the burndown: the day-2 completion shows as the remaining line, next to the ideal one
        points = page.locator("#burndown polyline.actual").get_attribute("points").split()
        assert len(points) == 1 + 4  # the start, then days 1..4 (the clock is on day 4)
        assert page.locator("#burndown polyline.ideal").count() == 1
        assert page.locator("#queue-completed li[data-id=task-oauth]").count() == 1
        assert "waiting for the risk team" in text(page, "#queue-blocked li[data-id=task-fraud-rules]")
        assert page.locator("#queue-queued li[data-id=task-payments-api]").count() == 1
        assert text(page, "#metric-coverage .value") == "87.5%"
        assert text(page, "#metric-builds .value") == "100%"
        assert text(page, "#metric-agents-live .value") == "0"
        # every task blocked now, beside how many the sprint raised: two scopes, each named
        assert text(page, "#metric-blockers .label") == "blocked now, all tasks"
        assert text(page, "#metric-blockers .sub").endswith("raised this sprint")
        assert "Which card processor" in text(page, "#messages")
        before = int(page.evaluate("document.body.dataset.lastEvent"))

        # The main thread delegates the payments API; the subagent starts. Real hook scripts, real state.
        hook("pre_agent.py", {"hook_event_name": "PreToolUse", "permission_mode": "default", "tool_name": "Agent",
                              "tool_input": {"description": "Payments API", "subagent_type": "api-engineer",
                                             "prompt": "[task:task-payments-api] Build the payments API"},
                              "tool_use_id": "toolu_dash_0001"}, sprint_project)
        page.wait_for_selector("#queue-active li[data-id=task-payments-api]", timeout=10_000)
        hook("subagent_start.py", {"hook_event_name": "SubagentStart", "agent_id": AGENT,
                                   "agent_type": "api-engineer"}, sprint_project)
        page.wait_for_selector(f"#agents li.run[data-id={AGENT}][data-status=active]", timeout=10_000)

        assert int(page.evaluate("document.body.dataset.lastEvent")) > before
        assert page.locator("#queue-queued li[data-id=task-payments-api]").count() == 0
        assert "api-engineer" in text(page, f"#agents li.run[data-id={AGENT}]")
        assert text(page, "#metric-agents-live .value") == "1"
        feed = text(page, "#events")
        assert "api-engineer started on task-payments-api" in feed and "task-payments-api assigned" in feed
        assert "main delegates task-payments-api to api-engineer" in feed
        assert page.locator("#conn.live").count() == 1
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        assert page.problems == []  # checked while the server runs: a closed socket would log a retry


def test_an_empty_project_renders_without_errors(page, project: Path) -> None:
    with running_dashboard(project) as dashboard:
        page.goto(dashboard.url)
        page.wait_for_selector("#conn.live")
        page.locator("body[data-generated]").wait_for(state="attached")
        assert text(page, "#sprint-title") == "No sprint in state"
        assert text(page, "#burndown") == "No sprint to chart yet."
        assert text(page, "#queue-queued ul") == "nothing here"
        assert text(page, "#agents") == "No agent has run yet." and text(page, "#events") == "No events yet."
        assert text(page, "#metric-error-rate .value") == "—"
        assert page.problems == []


XSS = ('<img src=x onerror="window.__pwned=1;document.title=\'PWNED\'"></script><script>window.__pwned=2</script>'
       '" onmouseover="window.__pwned=3" x="<svg onload="window.__pwned=4"></svg> javascript:window.__pwned=5')


def test_hostile_text_from_agents_stays_text_and_the_page_keeps_its_width(page, sprint_project: Path) -> None:
    """Titles, blockers, agent names and messages are whatever an agent wrote: markup in them is shown, never
    run, and thousands of characters without a space wrap inside their card instead of widening the page."""
    long = "A" * 5000
    with open_store(root=sprint_project) as store, store.transaction() as tx:
        tx.update("sprints.sprint-3", {"name": XSS})
        tx.update("tasks.task-2fa", {"title": XSS})
        tx.update("tasks.task-checkout", {"title": long})
        tx.update("tasks.task-fraud-rules", {"blocker": "B" * 5000})
        tx.set("agents.a-hostile", {"id": "a-hostile", "agent_type": XSS + long, "status": "active",
                                    "task": "task-2fa", "session_id": SESSION, "started_at": "2026-12-04T09:00:00Z"})
        ask(tx, sender="human", to="tech-lead", question=XSS + "C" * 3000, task="task-2fa")
    with running_dashboard(sprint_project) as dashboard:
        page.goto(dashboard.url)
        page.locator("body:not([data-last-event='0'])").wait_for(state="attached")
        page.locator("#queue li[data-id=task-2fa]").hover()
        assert page.evaluate("window.__pwned") is None
        assert page.title() == "sprint-3 · Orchestra"
        assert text(page, "#queue li[data-id=task-2fa] .title") == XSS  # shown as written
        assert page.locator("#queue img, #queue svg, #agents img, #messages img, #sprint-title img").count() == 0
        for width in (1440, 800):
            page.set_viewport_size({"width": width, "height": 1000})
            assert page.evaluate("document.documentElement.scrollWidth") == width
            for card in ("li[data-id=task-checkout] .title", "li[data-id=task-fraud-rules] .blocker",
                         "li.run[data-id=a-hostile] .who"):
                box = page.locator(f"#queue {card}, #agents {card}").bounding_box()
                assert box["x"] + box["width"] <= width and box["height"] < 100, (card, box)  # a few lines
        assert page.locator("li[data-id=task-checkout] .title").get_attribute("title") == long  # whole on hover
        assert page.problems == []


def test_a_closed_sprint_shows_no_forecast_and_its_points_carried_over(page, sprint_project: Path) -> None:
    """A closed sprint's forecast is the moment it is looked at (nothing left to forecast): the page said
    'forecast p50 <now>' beside '... left' for points that were carried over."""
    from orchestra.workflow import close_sprint

    from tests.observability.harness import NOW

    with open_store(root=sprint_project) as store:
        close_sprint(store, "sprint-3", now=NOW)
    with running_dashboard(sprint_project) as dashboard:
        page.goto(dashboard.url)
        page.locator("body:not([data-last-event='0'])").wait_for(state="attached")
        assert text(page, "#sprint-status").lower() == "complete"
        assert text(page, "#forecast") == "sprint closed"
        assert text(page, "#points-done") == "5 of 21 points done · 16 carried over"
        assert text(page, "#task-counts") == "1 completed · 5 carried over"  # as the status line counts them
        assert page.problems == []


def test_a_right_to_left_override_cannot_reverse_what_the_page_shows(page, sprint_project: Path) -> None:
    """A sprint named "Pay\u202eevil" showed as "Pay live" in the header: an override in text from state
    reversed the rest of its element. The page drops overrides and isolates, as the reports and the terminal do."""
    with open_store(root=sprint_project) as store, store.transaction() as tx:
        tx.update("sprints.sprint-3", {"name": "Pay\u202eevil"})
        tx.update("tasks.task-2fa", {"title": "Two\u2067factor\u2069 \u202dx\u202c", "blocker": "\u202ekcolb"})
    with running_dashboard(sprint_project) as dashboard:
        page.goto(dashboard.url)
        page.locator("body:not([data-last-event='0'])").wait_for(state="attached")
        assert text(page, "#sprint-title") == "sprint-3 · Payevil"
        assert text(page, "#queue li[data-id=task-2fa] .title") == "Twofactor x"
        assert page.locator("#queue li[data-id=task-2fa] .title").get_attribute("title") == "Twofactor x"
        assert page.problems == []


def test_a_blocked_sprint_shows_no_forecast(page, sprint_project: Path) -> None:
    """A sprint blocked by hand (or on its tasks' blockers) has no finish date: the page said there was not
    enough history yet."""
    from orchestra.workflow import block_sprint

    with open_store(root=sprint_project) as store:
        block_sprint(store, "sprint-3", "release freeze")
    with running_dashboard(sprint_project) as dashboard:
        page.goto(dashboard.url)
        page.locator("body:not([data-last-event='0'])").wait_for(state="attached")
        assert text(page, "#sprint-status").lower() == "blocked"
        assert text(page, "#forecast") == "no forecast while the sprint is blocked"
        assert page.problems == []


def test_the_burndown_of_a_sprint_of_no_points_starts_at_0(page, sprint_project: Path) -> None:
    """Every estimate 0: the chart's lines started at 1 point, a point the sprint never had, and fell to 0."""
    with open_store(root=sprint_project) as store, store.transaction() as tx:
        for task_id in tx.items("tasks"):
            tx.update(f"tasks.{task_id}", {"estimate": 0})
    with running_dashboard(sprint_project) as dashboard:
        page.goto(dashboard.url)
        page.locator("body:not([data-last-event='0'])").wait_for(state="attached")
        assert "0 of 0 points" in text(page, "#points-done")
        bottom = page.locator("#burndown line.grid-line").first.get_attribute("y1")  # the 0 line
        for line in ("polyline.ideal", "polyline.actual"):
            points = page.locator(f"#burndown {line}").get_attribute("points").split()
            assert {p.split(",")[1] for p in points} == {bottom}, (line, points)
        assert page.problems == []


def test_a_loaded_sprint_whose_file_is_half_edited_is_named_over_the_rest(page, project: Path, monkeypatch) -> None:
    """The sprint next in line is shown from its file: while that file is half-edited the page still opens, names
    the sprint and the file's line in its banner, shows the rest, and shows the sprint again once the file is
    saved whole, without a reload."""
    from orchestra.workflow import load_sprint_into_state

    monkeypatch.chdir(project)  # a sprint file is looked for in the current folder too: not this checkout's
    sample_project(project)
    with open_store(root=project) as store:
        load_sprint_into_state(store, "sprint-3")
    definition = project / ".claude/sprints/sprint-3.yaml"
    good = definition.read_text()
    definition.write_text(good + "  - {id: task-half, title: Half written\n")
    with running_dashboard(project, poll_seconds=0.05) as dashboard:
        page.goto(dashboard.url)
        page.wait_for_selector("#problem:not([hidden])")
        banner = text(page, "#problem")
        assert banner.startswith("sprint sprint-3 cannot be shown: ") and "sprint-3.yaml:93: not valid YAML" in banner
        assert text(page, "#sprint-title") == "No sprint shown" and text(page, "#sprint-goal") == ""
        assert "sprint sprint-3 loaded" in text(page, "#events")
        definition.write_text(good)
        page.wait_for_selector("#problem[hidden]", state="attached", timeout=10_000)
        assert text(page, "#sprint-title") == "sprint-3 · Payments"
        assert page.locator("#queue-queued li[data-id=task-oauth]").count() == 1
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
        assert page.problems == []


def test_fractional_points_read_as_the_report_and_sprint_status_give_them(page, sprint_project: Path,
                                                                         tmp_path: Path) -> None:
    """Points are given to 2 decimals everywhere (`orchestra sprint status`, the report, `orchestra metrics`): the
    page rounded them to one, so 5.25 of 18.55 points done read '5.3 of 18.6' beside a report saying 5.25."""
    from orchestra.report import write_report

    from tests.observability.harness import NOW

    with open_store(root=sprint_project) as store:
        with store.transaction() as tx:
            tx.update("tasks.task-oauth", {"estimate": 5.25})
            tx.update("tasks.task-2fa", {"estimate": 0.3})
        report = write_report(store, "sprint-3", tmp_path, sprint_project, now=NOW)[0].read_text()
    assert "**5.25 of 18.55 points done** (13.3 left)" in report and "| 2026-12-02 | 13.3 | 15.9 |" in report
    with running_dashboard(sprint_project) as dashboard:
        page.goto(dashboard.url)
        page.locator("body:not([data-last-event='0'])").wait_for(state="attached")
        assert text(page, "#points-done") == "5.25 of 18.55 points done · 13.3 left"
        assert "5.25 pts" in text(page, "#queue li[data-id=task-oauth]")
        assert "0.3 pts" in text(page, "#queue li[data-id=task-2fa]")
        points = page.locator("#burndown circle.point title")
        assert points.nth(0).text_content() == "2026-12-01: 18.55 points left (ideal 17.23)"
        assert points.nth(1).text_content() == "2026-12-02: 13.3 points left (ideal 15.9)"
        assert page.problems == []


def test_a_duration_on_a_rounding_tie_reads_as_orchestra_metrics_gives_it(page, project: Path) -> None:
    """2.25 h (a task done in 2 h 15 min) lies between 2.2 and 2.3: `orchestra metrics` and the report say 2.2 h (Python
    rounds a tie to the even digit), the page said 2.3 h (JavaScript's toFixed rounds it up); and 16.125 points
    read 16.13 on the page beside 16.12 in the report."""
    from orchestra.metrics import collect
    from orchestra.metrics.formatting import duration, number
    from orchestra.workflow import start_sprint

    from tests.observability.harness import NOW, work

    sample_project(project)
    with open_store(root=project) as store:
        start_sprint(store, "sprint-3", project)
        with store.transaction() as tx:
            tx.update("tasks.task-2fa", {"estimate": 0.125})
        work(store, "task-oauth", "assigned", "2026-12-01T09:00:00.000Z")
        work(store, "task-oauth", "completed", "2026-12-01T11:15:00.000Z")
        figures = collect(store, project, now=NOW)
    hours, total = figures["average_task_time"]["mean_hours"], figures["sprint"]["points"]["total"]
    assert (hours, duration(hours)) == (2.25, "2.2 h") and (total, number(total)) == (18.125, "18.12")
    with running_dashboard(project) as dashboard:
        page.goto(dashboard.url)
        page.locator("body:not([data-last-event='0'])").wait_for(state="attached")
        assert text(page, "#metric-task-time .value") == "2.2 h"
        assert text(page, "#points-done") == "5 of 18.12 points done · 13.12 left"
        assert page.problems == []


def test_the_forecast_names_its_time_zone(page, sprint_project: Path) -> None:
    """The forecast's and the event feed's times are UTC, as every time Orchestra keeps; without saying so,
    '2026-12-08 14:00' read as local time to anyone not on UTC."""
    import re

    from orchestra.metrics import collect

    from tests.observability.harness import NOW

    with open_store(root=sprint_project) as store:
        forecast = collect(store, sprint_project, now=NOW)["sprint"]["forecast"]
    assert forecast["available"] and forecast["p50_at"].endswith("Z")
    with running_dashboard(sprint_project) as dashboard:
        page.goto(dashboard.url)
        page.locator("body:not([data-last-event='0'])").wait_for(state="attached")
        shown = text(page, "#forecast")
        assert re.fullmatch(r"forecast p50 \d{4}-\d\d-\d\d \d\d:\d\d · p85 \d{4}-\d\d-\d\d \d\d:\d\d UTC", shown), shown
        assert shown.startswith(f"forecast p50 {forecast['p50_at'][:16].replace('T', ' ')} · ")
        assert text(page, "#events-last").endswith(" · times in UTC")  # the feed's clock times too
        assert page.problems == []
