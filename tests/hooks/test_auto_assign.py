"""`auto_assign`: a task that names nobody goes to the able member of its team with the least work in hand
(live runs and waiting delegations, as the capacity gate counts them, and open tasks assigned to it), then
the fewest story points, then the name; never to one at its capacity. `orchestra task delegate`
(delegate_task) and `orchestra sprint plan` (plan_sprint) pick by the same rule, and the delegations they
hand out pass the real PreToolUse hook.
"""

from __future__ import annotations

from pathlib import Path

from orchestra.store import open_store

from tests.hooks.test_delegation import seed
from tests.hooks.test_gates import _pre_agent
from tests.unit.test_lifecycle_cli import ok_json, orchestra

TEAMS = """\
teams:
  engineering:
    orchestrator: engineering-orchestrator
    members:
      - {name: ux-eng, role: team_member, capacity: 1, capabilities: [implementation]}
      - {name: fullstack-eng, role: team_member, capacity: 1, capabilities: [implementation]}
      - {name: api-engineer, role: team_member, capacity: 2, capabilities: [implementation]}
      - {name: tech-lead, role: reviewer, capacity: 2, capabilities: [review]}
    settings: {max_parallel_agents: 5}
"""


def write_teams(project: Path) -> None:
    (project / ".claude" / "teams.yaml").write_text(TEAMS, encoding="utf-8")


def handed(project: Path, task_id: str) -> dict:
    return ok_json(orchestra(project, "task", "delegate", task_id, "--json"))


def launch(project: Path, use: str, arguments: dict) -> None:
    """The Agent call an orchestrator makes with the arguments it was handed, through the real hook."""
    verdict = _pre_agent(project, use, arguments["subagent_type"], arguments["prompt"])
    assert verdict.get("permissionDecision") != "deny", verdict


def test_delegate_task_gives_each_task_to_the_least_busy_able_member_never_one_at_capacity(project: Path) -> None:
    write_teams(project)
    seed(project, {"t1": {"title": "Big", "team": "engineering", "estimate": 5},
                   **{t: {"title": t, "team": "engineering", "estimate": 1} for t in ("t2", "t3", "t4", "t5")}})
    first = handed(project, "t1")  # nobody has work: the first by name
    assert first["subagent_type"] == "api-engineer"
    assert ("Orchestra picked api-engineer for this task: of the members of team engineering able to do "
            "implementation, the one with the least work in hand (api-engineer 0 tasks; fullstack-eng 0 tasks; "
            "ux-eng 0 tasks).") in first["prompt"]
    launch(project, "toolu_1", first)
    second = handed(project, "t2")  # api-engineer holds t1 now: it was given t2 as well
    assert second["subagent_type"] == "fullstack-eng"
    launch(project, "toolu_2", second)
    third = handed(project, "t3")
    assert third["subagent_type"] == "ux-eng"
    launch(project, "toolu_3", third)
    # one task each; fullstack-eng and ux-eng (1 point) have fewer points than api-engineer (5) but are full
    fourth = handed(project, "t4")
    assert fourth["subagent_type"] == "api-engineer"
    assert "fullstack-eng 1 task, 1 point, at its capacity of 1" in fourth["prompt"]
    launch(project, "toolu_4", fourth)
    refused = orchestra(project, "task", "delegate", "t5", "--json")
    assert refused.returncode == 1 and refused.stdout == "", refused.stdout
    assert ("task t5: every member of team engineering able to take it is at its capacity (teams.yaml): "
            "api-engineer takes 2 at once, running starting toolu_1 (t1), starting toolu_4 (t4); fullstack-eng takes "
            "1 at once, running starting toolu_2 (t2); ux-eng takes 1 at once, running starting toolu_3 (t3). Wait "
            "for one to report") \
        in " ".join(refused.stderr.split()), refused.stderr


def test_open_tasks_assigned_by_hand_count_and_points_break_a_tie(project: Path) -> None:
    write_teams(project)
    seed(project, {"big": {"title": "Big", "team": "engineering", "status": "in_progress", "estimate": 8,
                           "assignee": "api-engineer"},
                   "small": {"title": "Small", "team": "engineering", "status": "assigned", "estimate": 2,
                             "assignee": "fullstack-eng"},
                   "u1": {"title": "U1", "team": "engineering", "status": "in_progress", "assignee": "ux-eng"},
                   "u2": {"title": "U2", "team": "engineering", "status": "in_progress", "assignee": "ux-eng"},
                   "new": {"title": "New", "team": "engineering"}})
    picked = handed(project, "new")
    assert picked["subagent_type"] == "fullstack-eng", picked["prompt"]
    assert "(api-engineer 1 task, 8 points; fullstack-eng 1 task, 2 points; ux-eng 2 tasks, 2 points)" \
        in picked["prompt"]


def test_the_plan_spreads_a_wave_over_the_able_members_as_delegation_picks(project: Path) -> None:
    write_teams(project)
    ids = ["a1", "a2", "a3", "a4", "a5"]
    seed(project, {t: {"title": t, "team": "engineering", "sprint": "s1", "estimate": 2} for t in ids},
         {"s1": {"name": "S1", "status": "active", "tasks": ids, "started_at": "2026-12-01T00:00:00Z"}})
    plan = ok_json(orchestra(project, "sprint", "plan", "s1", "--json"))
    [first, *later] = plan["batches"]
    who = {t["id"]: (t["agent"] or {}).get("subagent_type") for t in first["tasks"]}
    # four places (1 + 1 + 2), each member's first before anyone's second; a5 waits for one to free
    assert who == {"a1": "api-engineer", "a2": "fullstack-eng", "a3": "ux-eng", "a4": "api-engineer"}, who
    assert [t["id"] for b in later for t in b["tasks"]] == ["a5"]
    [a5] = later[0]["tasks"]
    assert a5["agent"] is None and a5["not_now"] == ("waits for api-engineer, who takes 2 at once (a1, a4) or "
                                                     "fullstack-eng, who takes 1 at once (a2) or ux-eng, who takes 1 "
                                                     "at once (a3)")
    text = orchestra(project, "sprint", "plan", "s1").stdout
    assert "a2    queued  fullstack-eng" in text, text
    # what delegate_task hands out for each task of the wave, fetched one by one before any is launched (as the
    # team orchestrators do), is the plan's pick, prompt and all; all of the wave passes the gate
    for task in first["tasks"]:
        assert handed(project, task["id"]) == task["agent"]
    for n, task in enumerate(first["tasks"]):
        launch(project, f"toolu_{n}", task["agent"])
    with open_store(root=project) as store:
        delegated = {d["task"]: d["subagent_type"] for d in store.export()["delegations"].values()}
    assert delegated == who
    # planned again mid-sprint: the running tasks stay with their members, so a5 still waits for a free one
    again = ok_json(orchestra(project, "sprint", "plan", "s1", "--json"))
    waiting = next(t for b in again["batches"] for t in b["tasks"] if t["id"] == "a5")
    assert waiting["agent"] is None and "waits for" in waiting["not_now"], waiting


def test_the_plan_leaves_a_member_busy_outside_the_sprint_to_its_work(project: Path) -> None:
    """Work of another sprint fills a member's places: the wave goes to the others, and when nobody able is
    free the task waits, saying for whom, instead of the plan failing."""
    write_teams(project)
    other = ["x0", "x1", "x2", "x3"]
    seed(project, {"b1": {"title": "b1", "team": "engineering", "sprint": "s1"},
                   **{t: {"title": t, "team": "engineering", "sprint": "s2"} for t in other}},
         {"s1": {"name": "S1", "status": "active", "tasks": ["b1"], "started_at": "2026-12-01T00:00:00Z"},
          "s2": {"name": "S2", "status": "active", "tasks": other, "started_at": "2026-12-01T00:00:00Z"}})
    for task, member in zip(other, ["api-engineer", "api-engineer", "fullstack-eng"], strict=False):
        launch(project, f"toolu_{task}", {"subagent_type": member, "prompt": f"[task:{task}] go"})
    plan = ok_json(orchestra(project, "sprint", "plan", "s1", "--json"))
    [[b1]] = [b["tasks"] for b in plan["batches"]]
    assert b1["agent"]["subagent_type"] == "ux-eng", b1
    assert "api-engineer 2 tasks, 2 points, at its capacity of 2; fullstack-eng 1 task, 1 point, at its " \
           "capacity of 1; ux-eng 0 tasks" in b1["agent"]["prompt"]
    launch(project, "toolu_x3", {"subagent_type": "ux-eng", "prompt": "[task:x3] go"})
    full = ok_json(orchestra(project, "sprint", "plan", "s1", "--json"))
    [[b1]] = [b["tasks"] for b in full["batches"]]
    assert b1["agent"] is None and b1["not_now"].startswith("waits for api-engineer, who takes 2 at once"), b1
    assert "ux-eng, who takes 1 at once (starting toolu_x3 (x3))" in b1["not_now"], b1


MIXED_TEAMS = TEAMS.replace("    settings: {max_parallel_agents: 5}\n", """\
    settings: {max_parallel_agents: 4}
  qa:
    orchestrator: qa-orchestrator
    members:
      - {name: qa-engineer, role: team_member, capacity: 2, capabilities: [test], specialties: [e2e]}
      - {name: performance-tester, role: team_member, capacity: 1, capabilities: [test, performance]}
      - {name: qa-analyst, role: reviewer, capacity: 1, capabilities: [review], specialties: [e2e]}
    settings: {max_parallel_agents: 3}
""")


def mixed_sprint(project: Path, rng) -> list[str]:
    """A started sprint of random work: dependencies, two teams, types each member or several can do, tags,
    assignees named or not, some of it finished, running, blocked or awaiting review."""
    ids = [f"m{n}" for n in range(40)]
    tasks = {}
    for n, tid in enumerate(ids):
        team = rng.choice(["engineering", "engineering", "qa"])
        kinds = ["implementation", "review", "docs"] if team == "engineering" else ["test", "performance", "bug"]
        status = rng.choice(["queued"] * 6 + ["completed", "in_progress", "blocked", "needs_review", "cancelled"])
        task = {"title": f"Task {tid}", "team": team, "sprint": "mx", "type": rng.choice(kinds),
                "estimate": rng.choice([0, 1, 2, 3, 5]), "priority": rng.choice(["high", "normal", "low"]),
                "dependencies": rng.sample(ids[max(0, n - 6):n], min(n, rng.randint(0, 2))), "status": status,
                "tags": rng.sample(["e2e", "api", "ui"], rng.randint(0, 2))}
        if status != "queued" or rng.random() < 0.2:
            members = {"engineering": ["ux-eng", "api-engineer", "fullstack-eng"], "qa": ["qa-engineer"]}[team]
            task["assignee"] = rng.choice(members)
        if status == "blocked":
            task["blocker"] = "waits on a vendor"
        tasks[tid] = task
    seed(project, tasks, {"mx": {"name": "Mixed", "status": "active", "tasks": ids,
                                 "started_at": "2026-12-01T00:00:00Z"}})
    return ids


def test_delegate_task_hands_out_what_the_whole_plan_gives_each_task_of_a_random_sprint(project: Path) -> None:
    """delegate_task makes only the first wave of a started sprint's plan and briefs only the task asked for; its
    answer is the one the whole plan gives that task, on random sprints with work outside them in hand."""
    import random

    from orchestra.lifecycle.views import delegation_arguments, task_record
    from orchestra.workflow import plan_sprint
    from orchestra.workflow.planning import planned_arguments
    from orchestra.workflow.sprints import organization

    (project / ".claude" / "teams.yaml").write_text(MIXED_TEAMS, encoding="utf-8")
    seed(project, {"busy": {"title": "Busy", "team": "engineering", "sprint": "other"}},
         {"other": {"name": "Other", "status": "active", "tasks": ["busy"], "started_at": "2026-12-01T00:00:00Z"}})
    launch(project, "toolu_busy", {"subagent_type": "fullstack-eng", "prompt": "[task:busy] go"})
    offered = 0
    for round_ in range(6):
        with open_store(root=project) as store, store.transaction() as tx:
            for tid in list(tx.items("tasks")):
                if tid != "busy":
                    tx.delete(f"tasks.{tid}")
        ids = mixed_sprint(project, random.Random(round_))
        org = organization(project)
        with open_store(root=project) as store:
            plan = plan_sprint(store, "mx", project)
            first = {t["id"]: t["agent"] for t in plan["batches"][0]["tasks"]} if plan["batches"] else {}
            with store.snapshot() as tx:
                for tid in ids:
                    task = task_record(tx, tid)
                    expected = first.get(tid) if not task.get("assignee") else None
                    answer = planned_arguments(tx, org, task) if not task.get("assignee") else None
                    assert answer == expected, (round_, tid)
                    if answer is not None:  # what delegate_task answers
                        assert delegation_arguments(tx, org, tid) == expected, (round_, tid)
                        offered += 1
    assert offered >= 6  # the sprints offered work that names nobody to compare


def test_with_the_capacity_gate_off_the_plan_offers_work_named_to_a_member_on_leave(project: Path) -> None:
    """`gates: {capacity: false}`: the hook lets a delegation to a member on leave through, but the plan left
    that work out of the waves, so a started sprint never offered it. Now the wave offers it with a warning,
    and the hook takes the plan's arguments; the plan's picks for work that names nobody pass over the
    member on leave (first by name, it would be free)."""
    (project / ".claude" / "teams.yaml").write_text(
        TEAMS.replace("{name: api-engineer, role: team_member, capacity: 2,",
                      "{name: api-engineer, role: team_member, capacity: 0,")
        + "lifecycle:\n  gates: {capacity: false}\n", encoding="utf-8")
    ids = ["b0", "b1", "t1"]
    seed(project, {"b0": {"title": "b0", "team": "engineering", "sprint": "s1"},
                   "b1": {"title": "b1", "team": "engineering", "sprint": "s1"},
                   "t1": {"title": "t1", "team": "engineering", "sprint": "s1", "assignee": "api-engineer",
                          "dependencies": ["b0"]}},
         {"s1": {"name": "S1", "status": "active", "tasks": ids, "started_at": "2026-12-01T00:00:00Z"}})
    plan = ok_json(orchestra(project, "sprint", "plan", "s1", "--json"))
    first = {t["id"]: (t["agent"] or {}).get("subagent_type") for t in plan["batches"][0]["tasks"]}
    assert first == {"b0": "fullstack-eng", "b1": "ux-eng"}, first
    assert [t["id"] for t in plan["batches"][1]["tasks"]] == ["t1"] and plan["idle"] == []
    assert [w["id"] for w in plan["warnings"]] == ["t1"] and "api-engineer takes no work" in plan["warnings"][0]["why"]
    for n, task in enumerate(plan["batches"][0]["tasks"]):
        assert handed(project, task["id"]) == task["agent"]
        launch(project, f"toolu_{n}", task["agent"])
    with open_store(root=project) as store, store.transaction() as tx:
        tx.update("tasks.b0", {"status": "completed"})
    again = ok_json(orchestra(project, "sprint", "plan", "s1", "--json"))
    [t1] = [t for t in again["batches"][0]["tasks"] if t["id"] == "t1"]
    assert t1["not_now"] is None and t1["agent"]["subagent_type"] == "api-engineer", t1
    launch(project, "toolu_t1", t1["agent"])
