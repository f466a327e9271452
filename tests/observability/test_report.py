"""Sprint reports: Markdown, self-contained HTML with an inline SVG burndown, and the SVG alone; written
by `write_report`, by sprint close, and at the end of the demo."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from orchestra.report import default_dir, write_report
from orchestra.report.model import build
from orchestra.workflow import close_sprint

from tests.observability.harness import NOW, large_sprint_with_history, started_sprint, work

SVG = "{http://www.w3.org/2000/svg}"


def runs(store) -> None:
    with store.transaction() as tx:
        tx.set("agents.r-oauth", {"agent_type": "fullstack-eng", "team": "engineering", "status": "completed",
                                  "task": "task-oauth", "started_at": "2026-12-01T09:05:00.000Z",
                                  "ended_at": "2026-12-02T16:00:00.000Z", "pushbacks": 1,
                                  "artifacts": ["src/auth/oauth.py", "tests/auth/test_oauth.py"]})
        tx.set("agents.r-fraud", {"agent_type": "api-engineer", "team": "engineering", "status": "blocked",
                                  "task": "task-fraud-rules", "started_at": "2026-12-02T10:00:00.000Z",
                                  "ended_at": "2026-12-03T11:00:00.000Z"})
        tx.set("agents.r-other", {"agent_type": "qa-engineer", "status": "active", "task": "task-elsewhere"})


def test_report_files(store, tmp_path: Path) -> None:
    started_sprint(store)
    runs(store)
    written = write_report(store, "sprint-3", tmp_path / "out", now=NOW)
    assert [p.name for p in written] == ["sprint-3.md", "sprint-3.html", "sprint-3-burndown.svg"]

    md = written[0].read_text()
    assert md.startswith("# Sprint report: sprint-3 — Payments\n")
    assert "**5 of 21 points done** (16 left)" in md
    assert "![Burndown of sprint-3](sprint-3-burndown.svg)" in md
    assert "| 2026-12-02 | 16 | 18 |" in md  # end of day 2: the OAuth points are burned
    assert "| task-oauth | OAuth2 login | completed | fullstack-eng | 5 | 31 h | 6.2 h |" in md
    assert "- task-fraud-rules (Fraud rules for card payments): waiting for the risk team's rules — still open" in md
    assert "| fullstack-eng | 1 | 1 | 0 | 0 | 30.9 h | 1 |" in md and "r-other" not in md
    assert "## Forecast" in md

    chart = ET.fromstring(written[2].read_text())
    [ideal, actual] = chart.findall(f"{SVG}polyline")
    assert len(actual.get("points").split()) == 1 + 4 and len(ideal.get("points").split()) == 1 + 14
    assert len(chart.findall(f"{SVG}circle")) == 4

    page = written[1].read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "http-equiv" not in page
    assert "<script" not in page and "src=" not in page and "href=" not in page  # nothing to fetch


def test_the_report_escapes_what_it_shows(store, tmp_path: Path) -> None:
    started_sprint(store)
    with store.transaction() as tx:
        tx.update("tasks.task-2fa", {"title": "<script>alert(1)</script> | pipes"})
    work(store, "task-2fa", "blocked", "2026-12-03T12:00:00Z", blocker="<img src=x onerror=alert(1)>")
    md, page, _ = write_report(store, "sprint-3", tmp_path, now=NOW)
    html = page.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "\\| pipes" in md.read_text()  # a pipe in a title does not split the Markdown table


def test_the_report_page_holds_no_control_characters(store, tmp_path: Path) -> None:
    """An escape sequence in a title or a blocker is not written into the page, where it would act on a
    terminal that shows the file (`cat`, `git diff`): the Markdown drops them, and so does the page."""
    started_sprint(store)
    with store.transaction() as tx:
        tx.update("sprints.sprint-3", {"name": "Pay\x1b]0;owned\x07", "goal": "G\x1b[2J\x9b31m"})
        tx.update("tasks.task-2fa", {"title": "Two\x1b]52;c;b3duZWQ=\x07factor\x1b[31m"})
    work(store, "task-2fa", "blocked", "2026-12-03T12:00:00Z", blocker="key\x1bP+q\x1b\\ missing\x00")
    md, page, _ = write_report(store, "sprint-3", tmp_path, now=NOW)
    for text in (md.read_text(), page.read_text()):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
    html = page.read_text()
    assert "Pay</h1>" in html and ">Twofactor<" in html and "key missing" in html


def test_a_right_to_left_override_cannot_reverse_what_the_report_shows(store, sample: Path) -> None:
    """An override in a title showed the rest of its line reversed in the Markdown report and retrospective
    (`cat`, an editor): "\u202eevil" read "live". Both files drop the overrides and isolates, as the page does."""
    started_sprint(store)
    with store.transaction() as tx:
        tx.update("sprints.sprint-3", {"name": "Pay\u202eevil"})
        tx.update("tasks.task-2fa", {"title": "Two\u2067factor\u2069 \u202dx\u202c"})
    result = close_sprint(store, "sprint-3", now=NOW)
    md, page = (Path(p).read_text() for p in result["report"][:2])
    retro = Path(result["file"]).read_text()
    for text in (md, page, retro):
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", text)
    assert md.startswith("# Sprint report: sprint-3 — Payevil\n") and "| task-2fa | Twofactor x |" in md
    assert "task-2fa: Twofactor x" in retro


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "only-defined"])
def test_a_sprint_not_started_reports_its_definition(store, sample: Path, loaded: bool) -> None:
    from orchestra.workflow import load_sprint_into_state

    definition = sample / ".claude/sprints/sprint-3.yaml"
    definition.write_text(definition.read_text().replace("estimate: 3\n    priority: high\n    feature: feat-login",
                                                         "estimate: 0\n    priority: high\n    feature: feat-login"))
    if loaded:
        load_sprint_into_state(store, "sprint-3")
    report = build(store, "sprint-3", now=NOW)
    # the sprint's name, goal and epic, as its file gives them, loaded or not
    assert (report["name"], report["epic"]) == ("Payments", "payments") and report["goal"].startswith("Customers sign")
    assert write_report(store, "sprint-3", sample / "out", now=NOW)[0].read_text().startswith(
        "# Sprint report: sprint-3 — Payments\n\nGoal: Customers sign in")
    rows = {r["id"]: r for r in report["cycle_time"]["tasks"]}
    assert rows["task-oauth"] | {"cycle_hours": None} == {
        "id": "task-oauth", "title": "OAuth2 login", "status": "queued", "assignee": "fullstack-eng",
        "estimate": 5.0, "cycle_hours": None, "hours_per_point": None}
    assert rows["task-2fa"]["estimate"] == 0.0 and rows["task-2fa"]["title"] == "Two-factor authentication (TOTP)"


HOSTILE = {"name": "Pay\n# Owned", "goal": "<script>alert(1)</script>\r\n- [x] done",
           "title": "Two\rfactor | ![img](http://evil.example/t.png) <img src=x onerror=alert(1)>",
           "blocker": "key\nmissing\r\n## Also owned [link](http://evil.example) `code` *bold* &lt;b&gt;"}


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def assert_inert(md: str) -> None:
    """What a Markdown viewer would turn into markup or fetch is absent; every table row keeps its cells."""
    assert "<script" not in md and "<img" not in md
    assert not re.search(r"(?<!\\)\]\(http", md)  # a link or an image needs an unescaped `](`
    assert "&lt;b&gt;" not in md  # an entity in the text is shown as typed, not decoded into a tag
    assert not re.search(r"^(#+ (Owned|Also owned)|- \[x\])", md, re.M | re.I)  # no heading or list item of ours
    for table in re.findall(r"(?:^\|.*\n)+", md, re.M):
        rows = table.splitlines()
        assert len({unescaped_pipes(row) for row in rows}) == 1, rows


def test_the_markdown_report_and_retrospective_keep_text_inert(store, sample: Path) -> None:
    from orchestra.workflow.retrospective import retrospective_path

    started_sprint(store)
    with store.transaction() as tx:
        tx.update("sprints.sprint-3", {"name": HOSTILE["name"], "goal": HOSTILE["goal"]})
        tx.update("tasks.task-oauth", {"title": HOSTILE["title"]})
        tx.update("tasks.task-2fa", {"title": HOSTILE["title"]})
    work(store, "task-2fa", "blocked", "2026-12-03T12:00:00Z", blocker=HOSTILE["blocker"])
    result = close_sprint(store, "sprint-3", now=NOW)
    md = Path(result["report"][0]).read_text()
    assert_inert(md)
    assert md.startswith("# Sprint report: sprint-3 — Pay # Owned\n")
    assert "| task-oauth | Two factor \\| !\\[img\\](http://evil.example/t.png) &lt;img src=x" in md
    retro = retrospective_path("sprint-3", sample).read_text()
    assert_inert(retro)
    assert "- task-2fa: key missing ## Also owned \\[link\\](http://evil.example) \\`code\\` \\*bold\\*" in retro


def test_a_closed_sprint_reports_its_retrospective(store, sample: Path) -> None:
    started_sprint(store)
    runs(store)
    result = close_sprint(store, "sprint-3", now=NOW)
    assert result["report"] == [str(default_dir(sample) / name) for name in
                                ("sprint-3.md", "sprint-3.html", "sprint-3-burndown.svg")]
    md = Path(result["report"][0]).read_text()
    assert "Status **complete**" in md and "closed 2026-12-04T15:00:00Z" in md
    assert "Carried over: task-2fa, task-payments-api, task-fraud-rules, task-checkout, task-security-review." in md
    assert "| sprint-3 | 5 | 2026-12-04T15:00:00Z |" in md  # velocity
    assert "## Forecast" not in md
    report = build(store, "sprint-3", now=NOW + dt.timedelta(days=1))
    assert report["points"] == {"total": 21.0, "completed": 5.0, "remaining": 16.0, "carried_over": 16.0,
                                "cancelled": 0}
    assert [r["id"] for r in report["cycle_time"]["tasks"]][:2] == ["task-oauth", "task-2fa"]
    assert {r["id"] for r in report["agents"]["runs"]} == {"r-oauth", "r-fraud"}


def test_a_closed_sprint_agrees_with_sprint_status(store) -> None:
    """Blockers of work carried out at close, and cycle times: one source, one rounding."""
    from orchestra.workflow import sprint_status

    started_sprint(store)  # task-fraud-rules is blocked: it will be carried over
    work(store, "task-2fa", "assigned", "2026-12-02T10:00:07Z")
    work(store, "task-2fa", "completed", "2026-12-03T11:11:11Z")  # 25.1844 h
    close_sprint(store, "sprint-3", now=NOW)
    status = sprint_status(store, "sprint-3", now=NOW + dt.timedelta(days=1))
    report = build(store, "sprint-3", now=NOW + dt.timedelta(days=1))
    assert status["metrics"]["blockers"] == {"raised": 1, "open": 1, "tasks": [
        {"task": "task-fraud-rules", "blocker": "waiting for the risk team's rules"}]}
    assert [(b["task"], b["open"]) for b in report["blockers"]] == [("task-fraud-rules", True)]
    cycle = status["metrics"]["cycle_time"]
    assert cycle["mean_hours"] == report["cycle_time"]["mean_hours"] == 28.0922
    assert cycle["median_hours"] == report["cycle_time"]["median_hours"] == 28.0922


def test_report_command(sample: Path, store, capsys: pytest.CaptureFixture) -> None:
    from orchestra.cli import main

    started_sprint(store)
    assert main(["report", "--sprint", "sprint-3", "--json"]) == 0
    files = __import__("json").loads(capsys.readouterr().out)["files"]
    assert all(Path(f).is_file() and Path(f).parent == default_dir(sample) for f in files)
    assert main(["report", "--sprint", "sprint-9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("orchestra report: sprint 'sprint-9'") and err.count("\n") == 1


def test_report_command_into_a_place_it_cannot_write(sample: Path, store, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from orchestra.cli import main

    started_sprint(store)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert main(["report", "--sprint", "sprint-3", "--out", str(a_file / "x")]) == 1
    assert capsys.readouterr().err == (f"orchestra report: cannot write into {a_file / 'x'} (Not a directory); "
                                       "give --out a directory you can write to\n")
    assert main(["report", "--sprint", "sprint-3", "--out", str(a_file)]) == 1
    assert capsys.readouterr().err == (f"orchestra report: cannot write into {a_file}: a file, not a directory; "
                                       "give --out a directory you can write to\n")
    (tmp_path / "out" / "sprint-3.html").mkdir(parents=True)  # the directory is fine, one of the files is not
    assert main(["report", "--sprint", "sprint-3", "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == (f"orchestra report: cannot write {tmp_path / 'out' / 'sprint-3.html'} "
                                       "(Is a directory); move it aside or give --out another directory\n")


@pytest.mark.slow
def test_the_demo_ends_with_a_report(tmp_path: Path) -> None:
    from orchestra.demo import run_demo

    said: list[str] = []
    result = run_demo(tmp_path / "demo repo", say=said.append)
    heading = said.index("\n== Sprint report ==")
    written = said[heading + 1].splitlines()
    reports = result.root / ".claude/sprints/reports"
    assert written == [f"wrote {reports / name}" for name in ("sprint-3.md", "sprint-3.html", "sprint-3-burndown.svg")]
    md = (reports / "sprint-3.md").read_text()
    assert "task-2fa (Two-factor authentication (TOTP)): TOTP_ENCRYPTION_KEY is not provisioned" in md
    assert "| fullstack-eng | 2 | 1 | 1 | 0 |" in md


def test_report_command_takes_the_sprint_in_progress_or_a_positional_id(sample: Path, store,
                                                                        capsys: pytest.CaptureFixture) -> None:
    from orchestra.cli import main

    assert main(["report"]) == 1
    assert capsys.readouterr().err.startswith("orchestra report: no sprint in state; ")
    started_sprint(store)
    assert main(["report", "--json"]) == 0
    assert __import__("json").loads(capsys.readouterr().out)["sprint"] == "sprint-3"
    assert main(["report", "sprint-3", "--json"]) == 0
    files = __import__("json").loads(capsys.readouterr().out)["files"]
    assert [Path(f).name for f in files] == ["sprint-3.md", "sprint-3.html", "sprint-3-burndown.svg"]
    assert main(["report", "sprint-3", "--sprint", "sprint-4"]) == 1
    assert "two sprints named" in capsys.readouterr().err


def test_an_agent_type_whose_runs_have_not_ended_has_no_time_yet() -> None:
    from orchestra.report.model import agent_activity

    runs = [{"id": "r1", "agent_type": "qa-engineer", "status": "active", "started_at": "2026-12-01T09:00:00Z"},
            {"id": "r2", "agent_type": "fullstack-eng", "status": "completed", "started_at": "2026-12-01T09:00:00Z",
             "ended_at": "2026-12-01T09:30:00Z"},
            {"id": "r3", "agent_type": "fullstack-eng", "status": "active", "started_at": "2026-12-01T10:00:00Z"}]
    by_type = {entry["agent_type"]: entry["hours"] for entry in agent_activity(runs)["by_type"]}
    assert by_type == {"qa-engineer": None, "fullstack-eng": 0.5}  # shown as "—", not "0 s"


def test_the_burndown_of_a_sprint_of_no_points_starts_at_0() -> None:
    """Every estimate 0 (or every task cancelled): the chart's lines started at 1 point, a point the sprint
    never had, and fell to 0."""
    from orchestra.report.svg import BOTTOM, HEIGHT, burndown_svg

    svg = ET.fromstring(burndown_svg({"total": 0, "start": "2026-12-01", "end": "2026-12-02", "days": [
        {"date": "2026-12-01", "remaining": 0, "ideal": 0}, {"date": "2026-12-02", "remaining": None, "ideal": 0}]}))
    zero = float(HEIGHT - BOTTOM)
    for line in svg.iter(f"{SVG}polyline"):
        assert {float(pair.split(",")[1]) for pair in line.get("points").split()} == {zero}
    assert [t.text for t in svg.iter(f"{SVG}text")][:2] == ["0", "0.5"]  # the axis still runs 0 to 1


def test_the_report_of_a_large_sprint_bounds_its_forecast_trials(store, sample: Path) -> None:
    # 1000 tasks left, one done with its start and finish in the log: 200,000 / 1000 = 200 trials, not 2000
    large_sprint_with_history(store, 1000)
    forecast = build(store, "big", sample, now=NOW)["forecast"]
    assert forecast["available"] and (forecast["trials"], forecast["remaining_tasks"]) == (200, 1000)


def test_a_sprint_reports_only_the_runs_on_its_work_while_it_held_that_work(store, sample: Path) -> None:
    """A task carried out of sprint-3 and into sprint-4: its run before the close is sprint-3's, its run in
    sprint-4 is sprint-4's, in each report's agent activity."""
    from orchestra.workflow import start_sprint

    started_sprint(store)
    runs(store)  # r-fraud ran task-fraud-rules in sprint-3
    close_sprint(store, "sprint-3", now=NOW)  # task-fraud-rules is carried over
    (sample / ".claude/sprints/sprint-4.yaml").write_text(
        "tasks:\n  - {id: task-fraud-rules, title: Fraud rules, team: engineering}\n", encoding="utf-8")
    start_sprint(store, "sprint-4")
    with store.transaction() as tx:
        tx.set("agents.r-again", {"agent_type": "api-engineer", "team": "engineering", "status": "completed",
                                  "task": "task-fraud-rules", "started_at": "2027-01-04T10:00:00.000Z",
                                  "ended_at": "2027-01-04T12:00:00.000Z"})
    later = dt.datetime(2027, 1, 5, tzinfo=dt.UTC)
    assert {r["id"] for r in build(store, "sprint-3", now=later)["agents"]["runs"]} == {"r-oauth", "r-fraud"}
    four = build(store, "sprint-4", now=later)["agents"]
    assert [r["id"] for r in four["runs"]] == ["r-again"]
    assert [(a["agent_type"], a["runs"], a["hours"]) for a in four["by_type"]] == [("api-engineer", 1, 2.0)]
