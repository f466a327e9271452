"""README's "Teams and agents" and "Slash commands" tables list exactly the agents and commands that ship."""

from __future__ import annotations

import re

from orchestra import teams

from .conftest import CLAUDE, README, agent_paths, command_name, command_paths, split_frontmatter


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ")]
    return rows[1:]  # without the header


def test_readme_lists_every_agent_with_its_team_role_and_model():
    rows = {row[0].strip("`"): row for row in table_rows(section("Teams and agents"))}
    assert sorted(rows) == sorted(p.stem for p in agent_paths())
    org = teams.build(teams.load_raw(CLAUDE / "teams.yaml"))
    for path in agent_paths():
        meta, _ = split_frontmatter(path)
        member = org.agents[meta["name"]]
        assert rows[meta["name"]][1:3] == [member.team, member.role], meta["name"]
        assert rows[meta["name"]][4] == meta["model"], meta["name"]


def test_readme_lists_every_command_with_its_arguments():
    rows = {row[0].strip("`"): row for row in table_rows(section("Slash commands"))}
    assert sorted(rows) == sorted(f"/{command_name(p)}" for p in command_paths())
    for path in command_paths():
        meta, _ = split_frontmatter(path)
        assert rows[f"/{command_name(path)}"][1].strip("`") == meta.get("argument-hint", ""), command_name(path)
