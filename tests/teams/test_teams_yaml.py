"""teams.yaml: the organisation it defines, its schema with file:line errors, and the loader's cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from orchestra import teams
from orchestra.teams import TeamsError

from .conftest import CLAUDE, MEMBERS, TEAMS, TEMPLATES

SETTINGS = {"auto_assign", "require_review", "worktree_strategy", "max_parallel_agents", "points_per_sprint"}


def load(path: Path = CLAUDE / "teams.yaml") -> teams.Organization:
    return teams.build(teams.load_raw(path))


def test_four_teams_with_their_orchestrators_and_members():
    org = load()
    assert {name: team.orchestrator for name, team in org.teams.items()} == TEAMS
    assert {name: list(team.members) for name, team in org.teams.items()} == MEMBERS
    assert len(org.agents) == 20
    assert org.main_session_role == "orchestrator"
    assert {m.role for m in org.agents.values()} == {"orchestrator", "team_member", "reviewer"}


def test_every_member_has_role_capacity_specialties_and_capabilities():
    raw = yaml.safe_load((CLAUDE / "teams.yaml").read_text())
    for team_name, spec in raw["teams"].items():
        assert set(spec["settings"]) == SETTINGS, team_name
        assert spec["description"]
        for member in spec["members"]:
            assert {"name", "role", "capacity", "specialties", "capabilities"} <= set(member), member
            assert member["capacity"] >= 1 and member["specialties"] and member["capabilities"]
    assert set(raw["roles"]) == {"orchestrator", "team_member", "reviewer"}
    assert raw["roles"]["orchestrator"]["can_spawn_agents"] is True
    assert not any(role["can_spawn_agents"] for name, role in raw["roles"].items() if name != "orchestrator")


def test_settings_reach_the_organisation():
    org = load()
    engineering = org.teams["engineering"].settings
    assert (engineering.require_review, engineering.worktree_strategy, engineering.max_parallel_agents) == (
        True, "task", 4)
    assert org.teams["devops"].settings.auto_assign is False
    assert org.teams["product"].settings.points_per_sprint == 10


def test_roles_and_teams_of_agent_types_including_plugin_prefixes():
    org = load()
    assert org.role_of("tech-lead") == "reviewer"
    assert org.role_of("orchestra:qa-director") == "orchestrator"
    assert org.team_of("orchestra:devops:infra-engineer").name == "devops"
    assert org.role_of(None) == "orchestrator"
    assert org.role_of("someone-else") == "team_member"
    assert org.member("other-plugin:tech-lead") is None


def test_candidates_are_members_whose_capabilities_include_the_task_type():
    org = load()
    assert [m.name for m in org.candidates("implementation")] == ["fullstack-eng", "ux-eng", "api-engineer"]
    assert [m.name for m in org.candidates("review", team="qa")] == ["qa-analyst"]
    assert org.candidates("orchestration") == []


def test_template_starts_a_new_repo_with_the_same_organisation():
    shipped = yaml.safe_load((CLAUDE / "teams.yaml").read_text())
    template = yaml.safe_load((TEMPLATES / "teams.yaml").read_text())
    assert template.pop("organization") != shipped.pop("organization")
    assert template == shipped
    assert set(load(TEMPLATES / "teams.yaml").agents) == set(load().agents)


def test_team_snippet_pasted_under_teams_validates(tmp_path):
    snippet = (TEMPLATES / "team.yaml").read_text()
    indented = "".join(f"  {line}" if line.strip() else line for line in snippet.splitlines(keepends=True))
    target = tmp_path / "teams.yaml"
    target.write_text((CLAUDE / "teams.yaml").read_text() + "\n" + indented)
    org = load(target)
    assert org.teams["mobile"].orchestrator == "mobile-director"
    assert org.role_of("mobile-reviewer") == "reviewer"


# -- errors name file and line ----------------------------------------------------------------------

def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (CLAUDE / "teams.yaml").read_text()
    assert old in text
    path = tmp_path / "teams.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_worktree_strategy_names_its_line(tmp_path):
    path = broken(tmp_path, "worktree_strategy: task, max_parallel_agents: 4",
                  "worktree_strategy: per-branch, max_parallel_agents: 4")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert f"{path}:{line_of(path, 'per-branch')}:" in str(err.value)
    assert "teams.engineering.settings.worktree_strategy" in str(err.value)


def test_unknown_member_key_names_the_member_and_stands_at_its_line(tmp_path):
    path = broken(tmp_path, "      - name: ux-eng\n", "      - name: ux-eng\n        skills: [css]\n")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert f"{path}:{line_of(path, 'skills: [css]')}: teams.engineering.members.2.skills:" in str(err.value)
    assert "'skills' was unexpected" in str(err.value)


@pytest.mark.parametrize("old, new, key, meant", [
    ("organization: ", "organisation: ", "organisation", "organization"),
    ("        capabilities: [test, bug]", "        capabilites: [test, bug]", "capabilites", "capabilities"),
    ("    members:\n      - name: qa-engineer", "    member:\n      - name: qa-engineer", "member", "members")])
def test_a_misspelt_key_is_refused_with_the_key_meant(tmp_path, old, new, key, meant):
    path = broken(tmp_path, old, new)
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    line = next(line for line in str(err.value).splitlines() if f"{key!r} was unexpected" in line)
    at = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.lstrip().startswith(f"{key}:"))
    assert line.startswith(f"{path}:{at}:"), line
    assert line.endswith(f"; write {meant!r}"), line


def test_bad_capacity_and_role_are_both_reported(tmp_path):
    path = broken(tmp_path, "      - name: doc-writer\n        role: team_member\n        capacity: 2",
                  "      - name: doc-writer\n        role: writer\n        capacity: -1")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    message = str(err.value)
    assert f"{path}:{line_of(path, 'role: writer')}:" in message
    assert f"{path}:{line_of(path, 'capacity: -1')}:" in message


def test_more_errors_than_are_listed_are_counted_and_the_first_lines_come_first(tmp_path):
    """A value misspelled on every member is many errors: the first five are listed in the order of the file's
    lines, and a last line says how many more there are, so fixing five does not look like fixing all."""
    path = broken(tmp_path, "", "")
    path.write_text(path.read_text().replace("role: team_member", "role: team-member"))
    wrong = [i for i, text in enumerate(path.read_text().splitlines(), 1) if "role: team-member" in text]
    assert len(wrong) > 5
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    lines = str(err.value).splitlines()
    assert [int(line.split(":")[1]) for line in lines[:5]] == wrong[:5]
    assert lines[5] == f"{path}: {len(wrong) - 5} more like these, not listed here"
    assert len(lines) == 6


def test_a_missing_teams_yaml_of_an_installed_repo_is_put_back_from_a_clone(tmp_path, monkeypatch):
    """An installed repo has no templates/ beside its pack, and its own `orchestra install .` only rewires:
    the advice says where the template is (a clone of Orchestra) and which install puts the file back."""
    from orchestra import paths

    root = tmp_path / "shop"
    (root / ".claude" / "orchestra").mkdir(parents=True)
    monkeypatch.setattr(paths, "PACK_DIR", root / ".claude" / "orchestra")
    monkeypatch.delenv("CLAUDE_PLUGIN_ROOT", raising=False)
    with pytest.raises(TeamsError) as err:
        teams.load_raw(root / ".claude" / "teams.yaml")
    assert str(err.value).endswith(
        "(copy templates/teams.yaml of a clone of Orchestra there, or install from that clone: "
        f"`uv run orchestra install {root}`)")


def test_an_agent_in_two_teams_is_refused_at_its_second_line(tmp_path):
    path = broken(tmp_path, "      - name: qa-analyst", "      - name: tech-lead")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    second = [i for i, line in enumerate(path.read_text().splitlines(), 1) if "name: tech-lead" in line][1]
    assert str(err.value).startswith(f"{path}:{second}: agent 'tech-lead' is already in team 'engineering'")


@pytest.mark.parametrize("first", ["orchestrator: mobile-director", "- name: mobile-director"])
def test_an_agent_twice_in_one_team_says_where_it_is_first_and_to_remove_one(tmp_path, first):
    """Pasting a member twice, or listing the orchestrator among its own members: the error said to remove
    the agent "from team 'mobile' or from 'mobile'"."""
    path = tmp_path / "teams.yaml"
    orchestrator = "mobile-director" if first.startswith("orchestrator") else "mobile-lead"
    path.write_text(f"teams:\n  mobile:\n    orchestrator: {orchestrator}\n    members:\n      - name: ios-dev\n"
                    "      - name: mobile-director\n      - name: ios-dev\n      - name: mobile-director\n")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    what = ("is the orchestrator of team 'mobile' (line 3), which is not also one of its members"
            if orchestrator == "mobile-director" else "is already in team 'mobile' (line 5)")
    agent = "mobile-director" if orchestrator == "mobile-director" else "ios-dev"
    line = 6 if orchestrator == "mobile-director" else 7
    assert str(err.value) == f"{path}:{line}: agent {agent!r} {what}; remove this entry"


def test_a_members_list_shared_through_an_alias_names_both_teams(tmp_path):
    """`members: *eng` repeats another team's list: the error stands at the list's own entry, so it names the
    team the alias put the agent in too."""
    path = tmp_path / "teams.yaml"
    path.write_text("teams:\n  engineering:\n    orchestrator: eng-director\n    members: &eng\n"
                    "      - name: dev-a\n  data:\n    orchestrator: data-director\n    members: *eng\n")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert str(err.value) == (f"{path}:5: agent 'dev-a' is already in team 'engineering'; an agent belongs to "
                              "exactly one team, so remove it from team 'data' or from 'engineering'")


@pytest.mark.parametrize("name", ["main", "human", "broadcast", "orchestra"])
def test_an_agent_named_as_a_message_address_is_refused(tmp_path, name):
    """`msg ask human ...` reaches the user, never an agent called human."""
    path = tmp_path / "teams.yaml"
    path.write_text(f"teams:\n  engineering:\n    orchestrator: eng-director\n    members:\n      - name: {name}\n")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert str(err.value).startswith(f"{path}:5: agent {name!r}: the message bus reads {name!r} as ")
    assert str(err.value).endswith("so messages could never reach this agent; give it another name")


def test_a_key_left_empty_where_a_list_or_mapping_belongs_says_how_to_write_none(tmp_path):
    """`members:` with only a comment after it is null in YAML, not an empty list."""
    path = tmp_path / "teams.yaml"
    path.write_text((CLAUDE / "teams.yaml").read_text() + "\n  data:\n    orchestrator: data-director\n"
                    "    members:   # none yet\n    settings:   # later\n")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert str(err.value).splitlines() == [
        f"{path}:{line_of(path, 'members:   # none yet')}: teams.data.members: None is not of type 'array' (a key "
        "with nothing after it is null in YAML: write [] for none)",
        f"{path}:{line_of(path, 'settings:   # later')}: teams.data.settings: None is not of type 'object' (a key "
        "with nothing after it is null in YAML: write {} for none)"]


@pytest.mark.parametrize("old, new, where, message", [
    ("\n  qa:\n", "\n  QA Team:\n", "teams",
     "'QA Team' does not match '^[a-z0-9][a-z0-9-]*$' (write 'qa-team' instead)"),
    ("\n  reviewer: {", "\n  reviewr: {", "roles", "'reviewr' is not one of ['orchestrator', 'team_member', 'reviewer'] "
     "(write 'reviewer')")])
def test_a_bad_team_or_role_name_stands_at_its_own_line(tmp_path, old, new, where, message):
    """A name a mapping may not have was reported at the mapping's first entry, lines away from it."""
    path = tmp_path / "teams.yaml"
    path.write_text((CLAUDE / "teams.yaml").read_text().replace(old, new, 1))
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert str(err.value) == f"{path}:{line_of(path, new.strip())}: {where}: {message}"


@pytest.mark.parametrize("text", ["teams:\n", "teams:   # none yet\n", "teams: {}\n"])
def test_teams_left_empty_says_a_team_is_needed_not_how_to_write_none(tmp_path, text):
    """Every organisation has at least one team: `write {} for none` would only lead to the next error."""
    path = tmp_path / "teams.yaml"
    path.write_text("organization: Acme\n" + text)
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert str(err.value).startswith(f"{path}:2: teams: "), str(err.value)
    assert "for none" not in str(err.value)
    assert str(err.value).endswith("give at least one team: its name, then `orchestrator:` and `members:` under it; "
                                   "templates/team.yaml is one to start from)"), str(err.value)


def test_yaml_syntax_error_names_its_line(tmp_path):
    path = broken(tmp_path, "  qa:\n", "  qa:\n   oops: [unclosed\n")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert str(err.value).startswith(f"{path}:") and "not valid YAML" in str(err.value)


def test_a_line_indented_with_a_tab_says_to_indent_with_spaces(tmp_path):
    path = broken(tmp_path, "    orchestrator: qa-director\n", "\torchestrator: qa-director\n")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert str(err.value) == (f"{path}:{line_of(path, 'orchestrator: qa-director')}: not valid YAML (found character "
                              "'\\t' that cannot start any token); YAML indents with spaces only: replace the tab at "
                              "the start of this line with spaces")


@pytest.mark.parametrize("old, new, at, hint", [
    # a key one space short of the keys beside it
    ("        role: team_member\n        capacity: 2\n        specialties: [e2e",
     "      role: team_member\n        capacity: 2\n        specialties: [e2e", "name: qa-engineer",
     "this line is not indented like the lines of its block (line {at}): line each key, or `- ` item, up under "
     "the ones beside it, with spaces"),
    # `key:value`: no space after the colon, so no key
    ("        role: team_member\n        capacity: 2\n        specialties: [e2e",
     "        role:team_member\n        capacity: 2\n        specialties: [e2e", "role:team_member",
     "line {at} needs `: ` (a colon, then a space) after its key"),
    # a `: ` inside a plain value
    ("    description: Proves it works", "    description: QA: proves it works", "QA: proves",
     "a value holding `: ` must be put in quotes, and a key must not be indented deeper than the keys above it"),
    ("specialties: [e2e-tests, regression, exploratory]", "specialties: [e2e-tests, regression, exploratory",
     "specialties: [e2e", "the [ list opened at line {at} is not closed with ]"),
    ('    description: Proves it works', '    description: "Proves it works', 'description: "Proves',
     "the quoted value opened at line {at} has no closing quote"),
])
def test_a_yaml_syntax_error_says_what_a_person_most_likely_wrote_wrong(tmp_path, old, new, at, hint):
    """PyYAML's own words (`expected <block end>, but found '?'`) say nothing a person can act on; the error
    adds what is most likely wrong, where the opening bracket or quote or the block is."""
    path = broken(tmp_path, old, new)
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert "not valid YAML" in str(err.value) and str(err.value).endswith(
        "; " + hint.format(at=line_of(path, at))), str(err.value)


@pytest.mark.parametrize("written, meant", [("iOS Engineer", "ios-engineer"), ("QA_Engineer", "qa-engineer")])
def test_a_name_with_spaces_or_capitals_is_refused_with_the_name_to_write(tmp_path, written, meant):
    path = broken(tmp_path, "      - name: qa-engineer", f"      - name: {written}")
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert str(err.value) == (f"{path}:{line_of(path, written)}: teams.qa.members.0.name: {written!r} does not match "
                              f"'^[a-z0-9][a-z0-9-]*$' (write {meant!r} instead)")


@pytest.mark.parametrize("team, line, hint", [
    ("    settings:\n      - auto_assign: true\n      - require_review: false\n",
     5, "a list where a mapping of `key: value` entries belongs: drop the `- `"),
    ("    members:\n      - name: qa-engineer\n        specialties: e2e-tests, regression\n",
     6, "write a list: [a, b], or one `- ` item per line"),
    ("    members:\n      qa-engineer: {role: team_member}\n",
     5, "a mapping where a list belongs: start each entry with `- `"),
    ("    members:\n      - name: qa-engineer\n        capacity: three\n", 6, "write a whole number, without quotes"),
    ("    members:\n      - name: qa-engineer\n        capacity: '3'\n", 6, "write a whole number, without quotes"),
    ("    settings: {auto_assign: 'true'}\n", 4, "write true or false, without quotes"),
    ("    members:\n      - name: qa-engineer\n        role: team-member\n", 6, "write 'team_member'"),
    ("    settings: {worktree_strategy: tasks}\n", 4, "write 'task'"),
    ("    members:\n      - qa-engineer\n", 5, "write `- name: qa-engineer`, its other keys under it")])
def test_a_list_where_a_mapping_belongs_and_the_reverse_say_how_to_write_it(tmp_path, team, line, hint):
    path = tmp_path / "teams.yaml"
    path.write_text("teams:\n  qa:\n    orchestrator: qa-director\n" + team)
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    assert str(err.value).startswith(f"{path}:{line}: ") and str(err.value).endswith(f" ({hint})"), str(err.value)


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(TeamsError, match="copy templates/teams.yaml"):
        teams.load_raw(tmp_path / "teams.yaml")


def test_a_plugin_only_project_without_teams_yaml_is_told_which_template_to_copy(tmp_path):
    """In plugin form `orchestra install` is the wrong advice (a second copy of the pack beside the plugin):
    the template to copy is named by its path in the plugin's clone."""
    import os
    import subprocess
    import sys

    (tmp_path / ".claude").mkdir()
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(tmp_path), "CLAUDE_PLUGIN_ROOT": str(TEMPLATES.parent)}
    proc = subprocess.run([sys.executable, "-c", "from orchestra.cli import run; run()", "teams"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert f"{tmp_path / '.claude/teams.yaml'}: not found" in proc.stderr
    assert f"copy templates/teams.yaml ({TEMPLATES / 'teams.yaml'}) there" in proc.stderr
    assert "orchestra install" not in proc.stderr


def test_load_caches_and_notices_edits(project):
    target = project / ".claude" / "teams.yaml"
    shutil.copy2(CLAUDE / "teams.yaml", target)
    from orchestra import paths

    paths.ensure_state_dir(project)
    first = teams.load(project)
    cache = project / ".claude" / "state" / "teams.cache.json"
    assert cache.is_file() and set(first.agents) == set(load().agents)
    target.write_text(target.read_text().replace("organization: Orchestra", "organization: Renamed Org"))
    assert teams.load(project).name == "Renamed Org"


@pytest.mark.parametrize("text", ["", "\n", "# our teams\n\n"])
def test_an_empty_teams_yaml_says_it_is_empty_and_what_to_put_in_it(tmp_path, text):
    path = tmp_path / "teams.yaml"
    path.write_text(text)
    with pytest.raises(TeamsError) as err:
        teams.load_raw(path)
    message = str(err.value)
    assert message.startswith(f"{path}: empty") and "mapping" not in message, message
    assert message.endswith(f"templates/teams.yaml {path}`, then make the teams yours"), message
