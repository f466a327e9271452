"""README's PostgreSQL section names commands, flags and store functions that exist."""

from __future__ import annotations

import re

from orchestra import store
from orchestra.cli import build_parser
from orchestra.store.postgres import PostgresStore

from tests.conftest import REPO


def section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## PostgreSQL\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README.md has no '## PostgreSQL' section"
    return match.group(1)


def test_the_migrate_command_and_its_flags_exist() -> None:
    state = build_parser()._subparsers._group_actions[0].choices["state"]
    migrate = state._subparsers._group_actions[0].choices["migrate"]
    flags = set(re.findall(r"--[a-z-]+", " ".join(re.findall(r"orchestra state migrate[^`\n]*", section()))))
    assert flags >= {"--to", "--from", "--force", "--json"}
    assert flags <= set(migrate._option_string_actions)


def test_the_store_functions_it_names_exist() -> None:
    text = section()
    for name in ("claiming", "wait_for_events", "notifies"):
        assert f"store.{name}" in text and hasattr(PostgresStore, name) and hasattr(store.StoreBase, name)
    assert "claim(tx, collection, ids)" in text and callable(store.claim)
    assert "ConnectionLost" in text
