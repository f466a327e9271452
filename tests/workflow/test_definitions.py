"""Sprint and epic files: the samples load; every kind of bad file is refused naming file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from orchestra import teams
from orchestra.workflow.definitions import DefinitionError, find_definition, load_epic, load_sprint
from orchestra.workflow.graph import CycleError, DuplicateIdError, Node, TaskGraph, UnknownDependencyError

REPO = Path(__file__).resolve().parents[2]


def write(project: Path, name: str, text: str, kind: str = "sprint") -> Path:
    folder = project / ".claude" / f"{kind}s"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def refuse(project: Path, text: str, kind: str = "sprint", org=None) -> str:
    path = write(project, "bad.yaml", text, kind)
    with pytest.raises(DefinitionError) as info:
        (load_sprint(path, project, org) if kind == "sprint" else load_epic(path, project))
    return str(info.value)


def test_sample_sprint_loads_with_the_documented_shape() -> None:
    sprint = load_sprint(REPO / ".claude/sprints/sprint-3.yaml", REPO, teams.load(REPO))
    assert sprint.id == "sprint-3"
    oauth = next(t for t in sprint.tasks if t.id == "task-oauth")
    assert (oauth.title, oauth.team, oauth.assignee) == ("OAuth2 login", "engineering", "fullstack-eng")
    assert oauth.estimate > 0 and oauth.acceptance["criteria"] and oauth.acceptance["command"]
    assert "task-oauth" in next(t for t in sprint.tasks if t.id == "task-2fa").dependencies
    assert sprint.start == "2026-12-01"  # YAML dates are kept as ISO strings
    graph = sprint.graph()
    assert graph.critical_path() == ["task-oauth", "task-payments-api", "task-checkout", "task-security-review"]
    assert graph.length == 15
    assert len(graph.batches()) == 4


def test_sample_epic_loads() -> None:
    epic = load_epic(REPO / ".claude/epics/payments.yaml", REPO)
    assert epic.id == "payments" and epic.points == 58 and epic.sprint_points == 20


def test_found_by_id_by_file_name_and_by_path(project: Path) -> None:
    text = "id: sprint-9\ntasks:\n  - {id: a, title: A}\n"
    path = write(project, "ninth.yaml", text)
    assert find_definition("sprint", "sprint-9", project) == path
    assert find_definition("sprint", "ninth", project) == path
    assert find_definition("sprint", str(path), project) == path.resolve()
    with pytest.raises(DefinitionError, match="no such file.*known: ninth"):
        find_definition("sprint", "sprint-10", project)


def test_id_defaults_to_the_file_name(project: Path) -> None:
    write(project, "sprint-4.yaml", "tasks:\n  - {id: a, title: A}\n")
    assert load_sprint("sprint-4", project).id == "sprint-4"


@pytest.mark.parametrize("kind", ["sprint", "epic"])
@pytest.mark.parametrize(("name", "suggested"), [("sprint.v2", "sprint-v2"), ("my sprint", "my-sprint"),
                                                 ("-draft", "draft"), ("x" * 101, "x" * 100)])
def test_a_file_name_that_is_not_an_id_is_refused_unless_the_file_sets_one(
        project: Path, kind: str, name: str, suggested: str) -> None:
    body = "tasks:\n  - {id: a, title: A}\n" if kind == "sprint" else "features:\n  - {id: a, title: A, estimate: 1}\n"
    path = write(project, f"{name}.yaml", body, kind)
    load = load_sprint if kind == "sprint" else load_epic
    with pytest.raises(DefinitionError) as info:  # as an id, `sprint.v2` would be a nested key in state
        load(path, project)
    assert str(info.value) == (f"{path}:1: the file name makes {name!r} the {kind} id, which is not an id (letters, "
                               f"digits, - and _, starting with a letter or digit, at most 100); add a line "
                               f"`id: {suggested}` or rename the file")
    path.write_text(f"id: {kind}-2\n{body}", encoding="utf-8")
    assert load(path, project).id == f"{kind}-2"


def test_yaml_syntax_error_names_the_line(project: Path) -> None:
    message = refuse(project, """
        id: s
        tasks:
          - id: a
            title: [unclosed
        """)
    assert "bad.yaml:4:" in message or "bad.yaml:5:" in message
    assert "not valid YAML" in message


def test_top_level_must_be_a_mapping(project: Path) -> None:
    assert "bad.yaml:1: expected a mapping" in refuse(project, "- a\n- b\n")


def test_schema_error_names_the_line_and_the_field(project: Path) -> None:
    message = refuse(project, """
        id: s
        tasks:
          - id: a
            title: A
          - id: b
            title: B
            estimate: lots
        """)
    assert "bad.yaml:7: tasks.1.estimate: 'lots' is not of type 'number'" in message


@pytest.mark.parametrize(("written", "read"), [("123", "123"), ("12:30", "750"), ("yes", "True"), ("~", "None")])
def test_an_id_yaml_does_not_read_as_text_says_to_quote_it(project: Path, written: str, read: str) -> None:
    message = refuse(project, f"""
        tasks:
          - {{id: ok, title: A}}
          - id: {written}
            title: B
        """)
    assert message.endswith(f"bad.yaml:3: tasks.1.id: {read} is not of type 'string' (YAML reads an unquoted 123, "
                            "1.5, true, null or 12:30 as a number, yes/no or nothing: put the value in quotes)")


def test_misspelt_field_is_refused_at_its_own_line_in_its_task(project: Path) -> None:
    message = refuse(project, """
        id: s
        tasks:
          - id: a
            title: A
            dependecies: [b]
        """)
    assert "bad.yaml:5: tasks.0.dependecies: Additional properties are not allowed" in message


def test_bad_priority_is_refused(project: Path) -> None:
    message = refuse(project, """
        tasks:
          - {id: a, title: A, priority: urgent}
        """)
    assert "bad.yaml:2: tasks.0.priority" in message and "critical" in message


def test_duplicate_id_names_both_lines(project: Path) -> None:
    message = refuse(project, """
        id: s
        tasks:
          - id: a
            title: A
          - id: b
            title: B
          - id: a
            title: again
        """)
    assert "bad.yaml:7: duplicate id 'a' (first defined at line 3)" in message


def test_unknown_dependency_names_the_line_of_the_reference(project: Path) -> None:
    message = refuse(project, """
        id: s
        tasks:
          - id: a
            title: A
          - id: b
            title: B
            dependencies:
              - a
              - ghost
        """)
    assert "bad.yaml:9: b depends on 'ghost', which is not defined in this file; known ids: a, b" in message


def test_cycle_error_names_the_cycle(project: Path) -> None:
    message = refuse(project, """
        id: s
        tasks:
          - {id: a, title: A, dependencies: [c]}
          - {id: b, title: B, dependencies: [a]}
          - {id: c, title: C, dependencies: [b]}
          - {id: d, title: D}
        """)
    assert "dependency cycle: " in message
    cycle = message.split("dependency cycle: ")[1].split(" (")[0].split(" -> ")
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["a", "b", "c"]
    assert message.startswith(f"{project / '.claude/sprints/bad.yaml'}:")


def test_self_dependency_is_a_cycle(project: Path) -> None:
    assert "a -> a" in refuse(project, "tasks:\n  - {id: a, title: A, dependencies: [a]}\n")


def test_a_key_written_twice_is_refused_at_its_line(project: Path) -> None:
    # YAML keeps only the last of two keys: the first `tasks:` list would vanish without a word.
    message = refuse(project, """
        tasks:
          - {id: a, title: A}
        tasks:
          - {id: b, title: B, estimate: 3, estimate: 5}
        """)
    assert "bad.yaml:3: duplicate key 'tasks' (first at line 1)" in message
    message = refuse(project, "tasks:\n  - {id: b, title: B, estimate: 3, estimate: 5}\n")
    assert "bad.yaml:2: duplicate key 'estimate' (first at line 2)" in message


def test_a_file_that_is_not_utf8_is_refused_at_its_line(project: Path) -> None:
    path = project / ".claude/sprints/bad.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"tasks:\n  - {id: a, title: caf\xe9}\n")  # Latin-1, as an old editor saves it
    with pytest.raises(DefinitionError, match=r"bad.yaml:2: not UTF-8 text \(byte 0xe9\); save the file as UTF-8"):
        load_sprint(path, project)


def test_merge_keys_and_anchors_still_work(project: Path) -> None:
    path = write(project, "ok.yaml", """
        tasks:
          - &base {id: a, title: A, team: engineering, estimate: 2}
          - {<<: *base, id: b, title: B}
        """)
    assert [(t.id, t.team, t.estimate) for t in load_sprint(path, project).tasks] == [
        ("a", "engineering", 2), ("b", "engineering", 2)]


def test_nested_aliases_that_expand_to_millions_of_values_are_refused(project: Path) -> None:
    levels = ["  - &l0 [x, x, x, x, x, x, x, x, x]"] + [
        f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    path = write(project, "bad.yaml", "zz:\n" + "\n".join(levels) + "\ntasks: [*l8]\n")
    with pytest.raises(DefinitionError) as info:
        load_sprint(path, project)
    message = str(info.value)
    assert message.startswith(f"{path}:3: more than ") and "YAML aliases" in message and len(message) < 500


@pytest.mark.parametrize("kind", ["sprint", "epic"])
@pytest.mark.parametrize("written", [".nan", ".inf", "-.inf", "1.0e+308"])
def test_an_estimate_that_is_not_a_usable_number_is_refused_at_its_line(project: Path, kind: str,
                                                                         written: str) -> None:
    body = (f"tasks:\n  - {{id: a, title: A}}\n  - {{id: b, title: B, estimate: {written}}}\n" if kind == "sprint"
            else f"features:\n  - {{id: a, title: A, estimate: 1}}\n  - {{id: b, title: B, estimate: {written}}}\n")
    message = refuse(project, body, kind=kind)
    assert message.startswith(f"{project / f'.claude/{kind}s/bad.yaml'}:3: ")
    assert "b: estimate" in message or "is less than the minimum of 0" in message


def test_end_before_start_is_refused(project: Path) -> None:
    message = refuse(project, "start: 2026-12-10\nend: 2026-12-01\ntasks:\n  - {id: a, title: A}\n")
    assert "bad.yaml:2: end 2026-12-01 is before start 2026-12-10" in message


@pytest.mark.parametrize("kind", ["sprint", "epic"])
@pytest.mark.parametrize(("written", "day"), [("2026-02-30", "2026-02-30"), ('"2026-02-30"', "2026-02-30"),
                                             ("2026-13-01", "2026-13-01"), ("'2026-13-01'", "2026-13-01")])
def test_an_impossible_date_is_refused_at_its_line(project: Path, kind: str, written: str, day: str) -> None:
    body = "tasks:\n  - {id: a, title: A}\n" if kind == "sprint" else "features:\n  - {id: f, title: F, estimate: 1}\n"
    message = refuse(project, f"id: s\nstart: {written}\n{body}", kind=kind)
    assert message.startswith(f"{project / f'.claude/{kind}s/bad.yaml'}:2: ")
    assert f"'{day}' is not a calendar date" in message and "YYYY-MM-DD" in message


@pytest.mark.parametrize("kind", ["sprint", "epic"])
def test_a_date_with_a_time_of_day_is_refused_at_its_line(project: Path, kind: str) -> None:
    """Days are UTC calendar days: 2026-03-08T23:30:00-05:00 is 03-09 in UTC, and was cut to 2026-03-08."""
    body = "tasks:\n  - {id: a, title: A}\n" if kind == "sprint" else "features:\n  - {id: f, title: F, estimate: 1}\n"
    message = refuse(project, f"id: s\nstart: 2026-03-08T23:30:00-05:00\n{body}", kind=kind)
    assert message.startswith(f"{project / f'.claude/{kind}s/bad.yaml'}:2: start: '2026-03-08T23:30:00-05:00' does "
                              "not match"), message


def test_assignee_must_be_known_and_on_the_task_team(project: Path) -> None:
    org = teams.build({"teams": {
        "engineering": {"orchestrator": "engineering-director", "members": [{"name": "fullstack-eng"}]},
        "qa": {"orchestrator": "qa-director", "members": [{"name": "qa-engineer"}]},
    }})
    message = refuse(project, "tasks:\n  - {id: a, title: A, team: engineering, assignee: nobody}\n", org=org)
    assert "bad.yaml:2: a: unknown assignee 'nobody'" in message
    message = refuse(project, "tasks:\n  - {id: a, title: A, team: engineering, assignee: qa-engineer}\n", org=org)
    assert "assignee 'qa-engineer' is on team 'qa', not 'engineering'" in message
    message = refuse(project, "tasks:\n  - {id: a, title: A, team: design}\n", org=org)
    assert "unknown team 'design'; teams.yaml defines engineering, qa" in message


def test_teams_of_features_and_of_capacity_must_be_known(project: Path) -> None:
    org = teams.build({"teams": {
        "engineering": {"orchestrator": "engineering-director", "members": [{"name": "fullstack-eng"}]},
    }})
    message = refuse(project, "capacity: {engineering: 2, nope: 3}\ntasks:\n  - {id: a, title: A}\n", org=org)
    assert "bad.yaml:1: capacity: unknown team 'nope'; teams.yaml defines engineering" in message
    path = write(project, "bad.yaml", "features:\n  - {id: f, title: F, estimate: 1}\n"
                                      "  - {id: g, title: G, estimate: 1, team: nope}\n", "epic")
    with pytest.raises(DefinitionError, match="bad.yaml:3: g: unknown team 'nope'; teams.yaml defines engineering"):
        load_epic(path, project, org)


def test_epic_feature_needs_an_estimate(project: Path) -> None:
    message = refuse(project, "features:\n  - {id: f, title: F}\n", kind="epic")
    assert "bad.yaml:2: features.0: 'estimate' is a required property" in message


def test_epic_cycle_is_refused(project: Path) -> None:
    message = refuse(project, """
        features:
          - {id: f, title: F, estimate: 1, dependencies: [g]}
          - {id: g, title: G, estimate: 1, dependencies: [f]}
        """, kind="epic")
    assert "dependency cycle:" in message and "bad.yaml:" in message


def test_graph_errors_carry_the_ids() -> None:
    with pytest.raises(DuplicateIdError):
        TaskGraph([Node("a"), Node("a")])
    with pytest.raises(UnknownDependencyError) as info:
        TaskGraph([Node("a", dependencies=("x",))])
    assert info.value.ids == ("a", "x")
    with pytest.raises(CycleError) as cycle:
        TaskGraph([Node("a", dependencies=("b",)), Node("b", dependencies=("a",)), Node("c")])
    assert cycle.value.ids in (("a", "b", "a"), ("b", "a", "b"))
    # dependencies on finished work outside the graph are satisfied, not unknown
    assert TaskGraph([Node("a", dependencies=("x",))], done={"x"}).ready() == ["a"]


def test_templates_are_valid_definitions() -> None:
    sprint = load_sprint(REPO / "templates/sprint.yaml", REPO, teams.load(REPO))
    epic = load_epic(REPO / "templates/epic.yaml", REPO)
    assert sprint.tasks and epic.features


def test_a_task_naming_a_feature_its_epic_does_not_define_is_refused_at_its_line(project: Path) -> None:
    """A mistyped `feature:` would leave the feature `unplanned` in epic status for good."""
    write(project, "mobile.yaml", "features:\n  - {id: feat-login, title: Login, estimate: 3}\n"
                                  "  - {id: feat-cart, title: Cart, estimate: 5}\n", kind="epic")
    message = refuse(project, """
        epic: mobile
        tasks:
          - {id: a, title: A, feature: feat-login}
          - {id: b, title: B,
             feature: feat-logn}
        """)
    assert message.startswith(f"{project / '.claude/sprints/bad.yaml'}:5: b: feature 'feat-logn' is not a feature "
                              "of epic mobile"), message
    assert "feat-cart, feat-login" in message and "mobile.yaml" in message
    fine = write(project, "fine.yaml", "epic: mobile\ntasks:\n  - {id: c, title: C, feature: feat-cart}\n")
    assert load_sprint(fine, project).tasks[0].feature == "feat-cart"
    elsewhere = write(project, "elsewhere.yaml", "epic: web\ntasks:\n  - {id: d, title: D, feature: feat-x}\n")
    assert load_sprint(elsewhere, project).epic == "web"  # an epic with no file here is not checked
