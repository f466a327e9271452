"""Fixtures for the bus tests: a real SQLite store in a temp project and a small organisation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from orchestra.store import open_store
from orchestra.teams import Organization, build

TEAMS = {
    "teams": {
        "engineering": {
            "orchestrator": "engineering-director",
            "members": [
                {"name": "tech-lead", "role": "reviewer"},
                {"name": "fullstack-eng"},
                {"name": "api-engineer"},
            ],
        },
        "qa": {"orchestrator": "qa-director", "members": [{"name": "qa-engineer"}]},
    }
}
TEAMS_YAML = """\
teams:
  engineering:
    orchestrator: engineering-director
    members:
      - {name: tech-lead, role: reviewer}
      - {name: fullstack-eng}
      - {name: api-engineer}
  qa:
    orchestrator: qa-director
    members:
      - {name: qa-engineer}
"""
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def org() -> Organization:
    return build(TEAMS)


@pytest.fixture(params=["sqlite", "json"])
def store(request, project: Path):
    """The project's store on each backend, with teams.yaml written so hooks and the CLI see the same teams."""
    (project / ".claude" / "teams.yaml").write_text(TEAMS_YAML, encoding="utf-8")
    suffix = "db" if request.param == "sqlite" else "json"
    url = f"{request.param}:///{project / '.claude' / 'state' / f'orchestration.{suffix}'}"
    with open_store(url) as opened:
        yield opened


@pytest.fixture
def project_store(project: Path):
    """The project's default store, the one real hook scripts open, with teams.yaml in place."""
    from orchestra import paths

    (project / ".claude" / "teams.yaml").write_text(TEAMS_YAML, encoding="utf-8")
    paths.ensure_state_dir(project)
    with open_store(root=project) as opened:
        yield opened


def add_run(store, agent_id: str, agent_type: str, status: str = "active", **fields) -> None:
    """An agent run as the lifecycle records it (agents collection)."""
    with store.transaction() as tx:
        tx.set(f"agents.{agent_id}", {"agent_type": agent_type, "status": status, **fields})
