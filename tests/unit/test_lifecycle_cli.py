"""`orchestra task ...` and `orchestra agents` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from orchestra.hookio import Rewrite
from orchestra.store import open_store

from tests.conftest import REPO
from tests.hooks.test_delegation import feed, fixture_events, seed, seed_sprint3, transcripts_for, write_teams
from tests.hooks.test_gates import pre
from tests.store.conftest import BACKENDS


def orchestra(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["uv", "run", "--quiet", "orchestra", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "CLAUDE_PROJECT_DIR": str(project)}, timeout=120)


def ok_json(proc: subprocess.CompletedProcess):
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def nested_run(project: Path, upto: str | None = None) -> None:
    write_teams(project)
    seed_sprint3(project)
    events = fixture_events("nested-delegation.jsonl", project)
    transcripts_for(events, project)
    for event in events:
        if event["hook_event_name"] == upto:
            break
        feed(event)


def test_task_list_filters_and_shows_lifecycle_fields(project: Path) -> None:
    nested_run(project)
    rows = ok_json(orchestra(project, "task", "list", "--json"))
    assert [(r["id"], r["status"]) for r in rows] == [("orchestrate-sprint-3", "completed"), ("task-3", "completed")]
    assert rows[1]["artifacts"] == ["src/auth/oauth.ts"] and rows[1]["agent_id"] == "a48f3f9b44540da36"
    assert ok_json(orchestra(project, "task", "list", "--status", "queued", "--json")) == []
    text = orchestra(project, "task", "list").stdout
    assert "task-3" in text and "completed" in text and "a48f3f9b44540da36" in text


def test_task_list_refuses_an_empty_sprint_or_team_instead_of_listing_every_task(project: Path) -> None:
    nested_run(project)
    for flag in ("--sprint", "--team"):
        refused = orchestra(project, "task", "list", flag, "")
        assert refused.returncode == 1 and refused.stdout == "", refused.stdout
        assert refused.stderr == (f"orchestra task: {flag} is empty: name one, or leave {flag} out to list every "
                                  "task\n"), refused.stderr


def test_task_show_tells_the_whole_story(project: Path) -> None:
    nested_run(project)
    view = ok_json(orchestra(project, "task", "show", "task-3", "--json"))
    assert view["task"]["status"] == "completed"
    assert [d["id"] for d in view["delegations"]] == ["toolu_0003"]
    assert [r["parent"] for r in view["runs"]] == ["a95aee35bef91164f"]
    history = [e["type"] for e in view["events"]]
    assert history.index("task_assigned") < history.index("task_started") < history.index("task_completed")
    assert "parent_notified" in history


def test_task_delegate_prints_arguments_the_hook_accepts_unchanged(project: Path) -> None:
    write_teams(project)
    seed(project, {"task-9": {"title": "Card refunds", "assignee": "api-engineer", "spec": "docs/refunds.md",
                              "acceptance": {"criteria": ["refunds are idempotent"], "command": "pytest -q"}}})
    args = ok_json(orchestra(project, "task", "delegate", "task-9", "--json"))
    assert args["subagent_type"] == "api-engineer" and args["description"] == "task-9 Card refunds"
    assert args["prompt"].startswith("[task:task-9] Card refunds")
    for part in ("Spec: docs/refunds.md", "- refunds are idempotent", "`pytest -q`", "STATUS: completed"):
        assert part in args["prompt"]
    event = pre(project, "toolu_1", args["subagent_type"], args["prompt"])
    event["tool_input"]["description"] = args["description"]
    verdict = feed(event)
    assert isinstance(verdict, Rewrite)
    assert verdict.tool_input["prompt"] == args["prompt"]  # the brief is replaced, never appended twice


def test_set_status_checks_the_transition_table(project: Path) -> None:
    write_teams(project)
    seed(project, {"task-1": {"title": "one", "status": "completed"}})
    bad = orchestra(project, "task", "set-status", "task-1", "in_progress")
    assert bad.returncode == 1 and "cannot go from completed to in_progress" in bad.stderr
    assert bad.stderr.count("\n") == 1
    task = ok_json(orchestra(project, "task", "set-status", "task-1", "queued", "--json"))
    assert task["status"] == "queued"
    blocked = ok_json(orchestra(project, "task", "set-status", "task-1", "blocked", "--reason", "waiting on legal",
                                "--json"))
    assert blocked["blocker"] == "waiting on legal"
    with open_store(root=project) as store:
        kinds = [(e["type"], e["data"].get("to")) for e in store.events_after(0, limit=100)]
    assert kinds == [("task_status_set", "queued"), ("task_status_set", "blocked")]
    missing = orchestra(project, "task", "show", "task-404")
    assert missing.returncode == 1 and "no such task" in missing.stderr


def test_requeuing_a_task_by_hand_frees_the_run_its_killed_session_left_active(project: Path) -> None:
    """A session killed outright (SIGKILL) never runs SessionEnd: its run would hold the slot for hours."""
    from tests.hooks.test_gates import delegate_and_start, launched

    write_teams(project)  # api-engineer: capacity 1
    seed(project, {"t1": {"title": "one"}})
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t1")

    task = ok_json(orchestra(project, "task", "set-status", "t1", "queued", "--reason", "session killed", "--json"))
    assert task["status"] == "queued"
    assert "agent-1" not in orchestra(project, "agents").stdout
    assert isinstance(feed(pre(project, "toolu_2", "api-engineer", "[task:t1] again")), Rewrite)
    feed(launched(project, "toolu_1", "agent-1", "api-engineer", "[task:t1] do it"))  # a late replay
    with open_store(root=project) as store:
        assert store.get("agents.agent-1.status") == "stopped"
        assert store.get("tasks.t1.delegation") == "toolu_2"


def test_set_status_follows_the_sprint_rules(project: Path) -> None:
    write_teams(project)
    seed(project, {"task-1": {"title": "one", "sprint": "sprint-9", "status": "queued"},
                   "task-2": {"title": "two", "sprint": "sprint-9", "status": "in_progress"}})
    with open_store(root=project) as store:
        store.set("sprints.sprint-9", {"id": "sprint-9", "status": "planning", "tasks": ["task-1", "task-2"]})
    early = orchestra(project, "task", "set-status", "task-1", "in_progress")
    assert early.returncode == 1 and "orchestra sprint start sprint-9" in early.stderr, early.stderr
    with open_store(root=project) as store:
        assert store.get("tasks.task-1.status") == "queued"
        store.set("sprints.sprint-9.status", "active")
    ok_json(orchestra(project, "task", "set-status", "task-1", "blocked", "--reason", "no keys", "--json"))
    with open_store(root=project) as store:
        assert store.get("sprints.sprint-9.status") == "active"  # task-2 is still running
    ok_json(orchestra(project, "task", "set-status", "task-2", "blocked", "--reason", "no keys", "--json"))
    with open_store(root=project) as store:
        assert store.get("sprints.sprint-9.status") == "blocked"  # nothing can move: the sprint blocks itself
    ok_json(orchestra(project, "task", "set-status", "task-2", "in_progress", "--json"))
    with open_store(root=project) as store:
        assert store.get("sprints.sprint-9.status") == "active"


def test_agents_prints_the_live_tree(project: Path) -> None:
    nested_run(project, upto="SubagentStop")  # both runs still working
    tree = ok_json(orchestra(project, "agents", "--json"))
    (session,) = tree
    (orchestrator,) = session["children"]
    assert (orchestrator["agent_type"], orchestrator["status"]) == ("engineering-orchestrator", "active")
    (member,) = orchestrator["children"]
    assert (member["id"], member["task"], member["status"]) == ("a48f3f9b44540da36", "task-3", "active")
    text = orchestra(project, "agents").stdout
    assert "└─ a95aee35bef91164f engineering-orchestrator [active]" in text
    assert "   └─ a48f3f9b44540da36 fullstack-eng [active] task task-3" in text


def test_agents_says_when_the_process_of_a_session_is_gone(project: Path) -> None:
    from orchestra import liveness

    nested_run(project, upto="SubagentStop")  # both runs still working, then their Claude Code is killed
    proc = subprocess.Popen(["true"])
    proc.wait()
    with open_store(root=project) as store, store.transaction() as tx:
        (session_id,) = tx.items("sessions")
        tx.update(f"sessions.{session_id}", {**liveness.this_process(), "pid": proc.pid, "pid_started": None})
    (session,) = ok_json(orchestra(project, "agents", "--json"))
    assert session["process_gone"] is True and session["children"][0]["status"] == "active"
    assert f"session {session_id} (its Claude Code process is gone" in orchestra(project, "agents").stdout


def test_agents_hides_what_has_ended_unless_asked(project: Path) -> None:
    nested_run(project)
    assert ok_json(orchestra(project, "agents", "--json")) == []
    (session,) = ok_json(orchestra(project, "agents", "--all", "--json"))
    assert session["ended_at"] and session["children"][0]["status"] == "completed"


def test_agents_with_nothing_recorded_does_not_point_at_the_flag_given(project: Path) -> None:
    assert orchestra(project, "agents").stdout == "no live agent runs (`orchestra agents --all` shows finished ones)\n"
    assert orchestra(project, "agents", "--all").stdout == "no agent runs recorded yet\n"


def rename_engineering(project: Path) -> None:
    teams_file = project / ".claude" / "teams.yaml"
    teams_file.write_text(teams_file.read_text().replace("\n  engineering:\n", "\n  platform:\n"))


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_set_team_moves_open_work_to_the_team_renamed_in_teams_yaml(project: Path, tmp_path: Path, backend: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = BACKENDS[backend](tmp_path)
    monkeypatch.setenv("ORCHESTRA_STATE_URL", url)
    write_teams(project)
    seed(project, {"t-api": {"title": "API", "sprint": "s-1", "team": "engineering", "assignee": "api-engineer"},
                   "t-ui": {"title": "UI", "sprint": "s-1", "team": "engineering"},
                   "t-qa": {"title": "QA", "sprint": "s-1", "team": "qa"}},
         {"s-1": {"name": "One", "status": "active", "tasks": ["t-api", "t-ui", "t-qa"],
                  "team_assignments": {"engineering": ["t-api", "t-ui"], "qa": ["t-qa"]}}}, url)
    rename_engineering(project)

    moved = ok_json(orchestra(project, "task", "set-team", "t-api", "platform", "--json"))
    assert (moved["team"], moved["assignee"]) == ("platform", "api-engineer")  # still a member, of the new name
    assert moved["moved"] == {"from": "engineering", "to": "platform", "assignee_cleared": None}
    text = orchestra(project, "task", "set-team", "t-ui", "platform")
    assert (text.returncode, text.stdout) == (0, "t-ui: team engineering -> platform\n"), text.stderr
    again = orchestra(project, "task", "set-team", "t-ui", "platform")
    assert (again.returncode, again.stdout) == (0, "t-ui: already in team platform\n")

    with open_store(url) as store:
        assert store.get("tasks.t-api.team") == store.get("tasks.t-ui.team") == "platform"
        assert store.get("sprints.s-1.team_assignments") == {"qa": ["t-qa"], "platform": ["t-api", "t-ui"]}
        events = [(e["type"], e["task_id"], e["data"]) for e in store.events_after(0, limit=100)]
    assert events == [("task_team_set", t, {"from": "engineering", "to": "platform", "assignee_cleared": None,
                                            "by": "human"}) for t in ("t-api", "t-ui")]  # none for the no-op
    assert [r["id"] for r in ok_json(orchestra(project, "task", "list", "--team", "platform", "--json"))] == \
        ["t-api", "t-ui"]
    assert "task_team_set" in orchestra(project, "task", "show", "t-api").stdout
    assert "t-api moved from team engineering to platform by human" in orchestra(project, "events", "tail").stdout


def test_set_team_refuses_a_team_teams_yaml_does_not_have_naming_the_file_and_its_teams(project: Path) -> None:
    seed(project, {"t-1": {"title": "one", "team": "engineering"}})
    missing = orchestra(project, "task", "set-team", "t-1", "qa")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1, missing.stderr
    assert f"{project / '.claude' / 'teams.yaml'}: not found" in missing.stderr
    write_teams(project)
    with open_store(root=project) as store:
        before = store.export()
    typo = orchestra(project, "task", "set-team", "t-1", "QA")
    assert typo.returncode == 1 and typo.stdout == "" and typo.stderr.count("\n") == 1, typo.stderr
    assert typo.stderr == (f"orchestra task: team 'QA' is not in {project / '.claude' / 'teams.yaml'}; its teams are: "
                           "engineering, qa\n")
    unknown = orchestra(project, "task", "set-team", "t-404", "qa")
    assert unknown.returncode == 1 and "task 't-404': no such task in state" in unknown.stderr
    with open_store(root=project) as store:
        assert store.export() == before


def test_set_team_lets_go_an_assignee_of_another_team_so_the_new_team_picks(project: Path) -> None:
    write_teams(project)
    seed(project, {"t-1": {"title": "Login tests", "type": "test", "team": "engineering", "assignee": "api-engineer"},
                   "t-2": {"title": "Smoke", "type": "test", "team": "engineering", "assignee": "general-purpose"}})
    assert ok_json(orchestra(project, "task", "delegate", "t-1", "--json"))["subagent_type"] == "api-engineer"
    moved = orchestra(project, "task", "set-team", "t-1", "qa")
    assert moved.stdout == "t-1: team engineering -> qa (assignee api-engineer let go: not a member of qa)\n"
    assert ok_json(orchestra(project, "task", "delegate", "t-1", "--json"))["subagent_type"] == "test-engineer"
    kept = ok_json(orchestra(project, "task", "set-team", "t-2", "qa", "--json"))  # of no team: it stays
    assert kept["assignee"] == "general-purpose" and kept["moved"]["assignee_cleared"] is None
    with open_store(root=project) as store:
        assert store.get("tasks.t-1.assignee") is None
        (event, _) = store.events_after(0, limit=10, types=("task_team_set",))
    assert event["data"]["assignee_cleared"] == "api-engineer"


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_set_team_leaves_work_an_agent_of_another_team_is_doing_where_it_is(project: Path, tmp_path: Path, backend: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.hooks.test_gates import delegate_and_start

    monkeypatch.setenv("ORCHESTRA_STATE_URL", BACKENDS[backend](tmp_path))
    write_teams(project)
    seed(project, {"t1": {"title": "one", "team": "engineering"}})
    delegate_and_start(project, "toolu_1", "agent-1", "api-engineer", "t1")
    with open_store() as store:
        before = store.export()

    busy = orchestra(project, "task", "set-team", "t1", "qa")
    assert busy.returncode == 1 and busy.stderr.count("\n") == 1, busy.stderr
    assert ("task t1 is being worked on by agent agent-1 (api-engineer), of team engineering, not qa; wait for its "
            "report, or take the task back with `orchestra task set-status t1 queued` and then move it") in busy.stderr
    with open_store() as store:
        assert store.export() == before

    rename_engineering(project)  # the same agent, its team renamed: the work goes on under the new name
    moved = ok_json(orchestra(project, "task", "set-team", "t1", "platform", "--json"))
    assert (moved["team"], moved["agent_id"], moved["status"]) == ("platform", "agent-1", "in_progress")
    with open_store() as store:
        assert store.get("agents.agent-1.status") == "active"
    ok_json(orchestra(project, "task", "set-status", "t1", "queued", "--json"))
    assert ok_json(orchestra(project, "task", "set-team", "t1", "qa", "--json"))["team"] == "qa"


def test_a_task_left_under_a_renamed_team_is_handed_to_no_one_until_it_is_moved(project: Path) -> None:
    write_teams(project)
    seed(project, {"t-ui": {"title": "UI", "team": "engineering"}})
    assert ok_json(orchestra(project, "task", "delegate", "t-ui", "--json"))["subagent_type"] == "api-engineer"
    rename_engineering(project)
    stray = orchestra(project, "task", "delegate", "t-ui", "--json")  # not general-purpose, outside every team
    assert stray.returncode == 1 and stray.stdout == "" and stray.stderr.count("\n") == 1, stray.stdout
    assert ("task t-ui has no assignee and its team 'engineering' is not in teams.yaml (renamed or removed there): "
            "move it to one of its teams (platform, qa) with `orchestra task set-team t-ui TEAM`") in stray.stderr
    ok_json(orchestra(project, "task", "set-team", "t-ui", "platform", "--json"))
    assert ok_json(orchestra(project, "task", "delegate", "t-ui", "--json"))["subagent_type"] == "api-engineer"


def test_a_task_assigned_to_a_member_renamed_in_teams_yaml_is_handed_to_no_one_until_reassigned(project: Path) -> None:
    write_teams(project, "lifecycle: {external_agent_types: [my-helper]}\n")
    seed(project, {"t-api": {"title": "API", "team": "engineering", "assignee": "api-engineer"},
                   "t-aid": {"title": "Aid", "team": "engineering", "assignee": "my-helper"},
                   "t-gp": {"title": "Look", "assignee": "general-purpose"},
                   "t-own": {"title": "Notes", "assignee": "note-taker"},
                   "t-plug": {"title": "Lint", "assignee": "linters:ruff-fixer"},
                   "t-run": {"title": "Run it", "team": "engineering", "type": "orchestration",
                             "assignee": "engineering-orchestrator"}})
    (project / ".claude" / "agents").mkdir()
    (project / ".claude" / "agents" / "note-taker.md").write_text("---\nname: note-taker\ndescription: Notes.\n---\n")
    teams_file = project / ".claude" / "teams.yaml"
    teams_file.write_text(teams_file.read_text().replace("name: api-engineer", "name: api-eng")
                          .replace("orchestrator: engineering-orchestrator", "orchestrator: eng-lead"))
    stray = orchestra(project, "task", "delegate", "t-api", "--json")  # not the api-engineer no file defines
    assert stray.returncode == 1 and stray.stdout == "" and stray.stderr.count("\n") == 1, stray.stdout
    assert ("task t-api is assigned to api-engineer, which is not in teams.yaml (renamed or removed there): assign "
            "it to one of fullstack-eng, api-eng, tech-lead with `orchestra state set tasks.t-api.assignee "
            "'\"<member>\"'`") in stray.stderr
    run = orchestra(project, "task", "delegate", "t-run", "--json")  # an orchestration: its team's orchestrator's
    assert run.returncode == 1 and ("task t-run is assigned to engineering-orchestrator, which is not in teams.yaml "
                                    "(renamed or removed there): assign it to one of eng-lead with") in run.stderr
    for task_id, agent in (("t-aid", "my-helper"), ("t-gp", "general-purpose"), ("t-own", "note-taker"),
                           ("t-plug", "linters:ruff-fixer")):  # agents outside the teams, as the gate takes them
        assert ok_json(orchestra(project, "task", "delegate", task_id, "--json"))["subagent_type"] == agent
    assert orchestra(project, "state", "set", "tasks.t-api.assignee", '"api-eng"').returncode == 0
    assert ok_json(orchestra(project, "task", "delegate", "t-api", "--json"))["subagent_type"] == "api-eng"


def test_a_task_of_a_team_without_members_is_handed_to_no_one(project: Path) -> None:
    """Its orchestrator may delegate to its own members only: general-purpose would be refused at the call."""
    write_teams(project, "  data:\n    orchestrator: data-director\n    members: []\n")
    seed(project, {"d-1": {"title": "ETL", "team": "data"}})
    refused = orchestra(project, "task", "delegate", "d-1", "--json")
    assert refused.returncode == 1 and refused.stdout == "" and refused.stderr.count("\n") == 1, refused.stdout
    assert ("task d-1 has no assignee and team data has no members to take it (its orchestrator data-director "
            "delegates, to its members only): add members to team data in teams.yaml") in refused.stderr
    assert orchestra(project, "state", "set", "tasks.d-1.assignee", '"general-purpose"').returncode == 0
    assert ok_json(orchestra(project, "task", "delegate", "d-1", "--json"))["subagent_type"] == "general-purpose"


def test_an_id_naming_a_part_of_a_task_is_no_task_and_nothing_is_written_into_it(project: Path) -> None:
    write_teams(project)
    seed(project, {"t-1": {"title": "one", "team": "engineering", "acceptance": {"criteria": ["works"]}}})
    with open_store(root=project) as store:
        before = store.export()
    for argv in (("show", "t-1.title"), ("show", "t-1.acceptance"), ("delegate", "t-1.acceptance"),
                 ("set-status", "t-1.title", "queued"), ("set-status", "t-1.acceptance", "cancelled"),
                 ("set-team", "t-1.title", "qa"), ("set-team", "t-1.acceptance", "qa")):
        proc = orchestra(project, "task", *argv)
        assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1, (argv, proc.stderr)
        assert f"task {argv[1]!r}: no such task in state" in proc.stderr and "Traceback" not in proc.stderr
    with open_store(root=project) as store:
        assert store.export() == before


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_an_id_that_is_no_path_segment_is_no_task_in_one_line(project: Path, tmp_path: Path, backend: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRA_STATE_URL", BACKENDS[backend](tmp_path))
    write_teams(project)
    seed(project, {"t-1": {"title": "one", "team": "engineering"}})
    with open_store() as store:
        before = store.export()
    for bad in ("", " ", "t 1", "t-1 ", "ünï", ".", "t-1.", "x" * 5000):
        for argv in (("show", bad), ("delegate", bad), ("set-status", bad, "cancelled"), ("set-team", bad, "qa")):
            proc = orchestra(project, "task", *argv)
            assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1, (argv, proc.stderr)
            why = "task id " + repr(bad[:40]) + "... is 5000 characters long" if len(bad) > 255 else \
                f"task {bad!r}: no such task in state"
            assert why in proc.stderr, (argv, proc.stderr)
    with open_store() as store:
        assert store.export() == before


LONG = "t" * 300
LOOKUPS = [("task", "show", LONG), ("task", "delegate", LONG), ("task", "set-status", LONG, "queued"),
           ("task", "set-team", LONG, "qa"), ("task", "move", LONG, "--out"), ("sprint", "close", LONG),
           ("sprint", "block", LONG, "x"), ("sprint", "unblock", LONG), ("sprint", "start", LONG),
           ("sprint", "status", LONG), ("sprint", "plan", LONG), ("epic", "status", LONG), ("report", LONG),
           ("msg", "ack", LONG), ("msg", "answer", LONG, "yes"),
           ("msg", "send", "main", "state_updated", "--text", "x", "--task", LONG),
           ("worktree", "assign", LONG), ("worktree", "conflicts", LONG)]


@pytest.mark.parametrize("argv", LOOKUPS, ids=lambda argv: " ".join(a for a in argv[:2] if a != LONG))
def test_an_id_over_the_length_limit_is_named_as_such_not_as_missing(project: Path, argv: tuple[str, ...]) -> None:
    """The store writes no id over 255 characters; a command looking one up says so, as the store's own refusal
    does, instead of "no such ...", in one line that does not repeat the whole id."""
    write_teams(project)
    seed(project, {"t-1": {"title": "one", "team": "engineering"}}, {"s1": {"name": "S", "status": "active"}})
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=project, check=True)
    proc = orchestra(project, *argv)
    assert proc.returncode == 1 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert "id 'tttt" in proc.stderr, proc.stderr
    assert "is 300 characters long; an id has at most 255 characters" in proc.stderr
    assert LONG not in proc.stderr and "no such" not in proc.stderr, proc.stderr
