"""Shared paths and helpers for the teams tests: the pack's agent and command files, parsed independently."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLAUDE = REPO / ".claude"
AGENTS = CLAUDE / "agents"
COMMANDS = CLAUDE / "commands"
TEMPLATES = REPO / "templates"
README = REPO / "README.md"

TEAMS = {"product": "product-director", "engineering": "engineering-director", "qa": "qa-director",
         "devops": "devops-manager"}
MEMBERS = {
    "product": ["product-manager", "business-analyst", "data-scientist", "market-researcher"],
    "engineering": ["tech-lead", "fullstack-eng", "ux-eng", "api-engineer", "test-engineer", "doc-writer"],
    "qa": ["qa-engineer", "qa-analyst", "performance-tester"],
    "devops": ["ci-cd-engineer", "infra-engineer", "release-manager"],
}
COMMAND_NAMES = ["sprint:start", "sprint:status", "sprint:plan", "sprint:close", "epic:plan", "epic:status",
                 "task:delegate", "msg:ask", "msg:inbox", "msg:handoff", "worktree:create", "worktree:list",
                 "orchestra:status", "orchestra:dashboard", "orchestra:report", "audit:verify"]


def split_frontmatter(path: Path) -> tuple[dict, str]:
    """(frontmatter, body) with PyYAML directly, independent of orchestra.agentfiles."""
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.S)
    assert match, f"{path}: no frontmatter block"
    meta = yaml.safe_load(match.group(1))
    assert isinstance(meta, dict), f"{path}: frontmatter is not a mapping"
    return meta, match.group(2)


def agent_paths() -> list[Path]:
    return sorted(AGENTS.rglob("*.md"))


def command_paths() -> list[Path]:
    return sorted(COMMANDS.rglob("*.md"))


def command_name(path: Path) -> str:
    return ":".join(path.relative_to(COMMANDS).with_suffix("").parts)


@pytest.fixture
def pack_copy(project: Path) -> Path:
    """The `project` fixture's repo with a copy of the pack's teams.yaml, agents and commands."""
    shutil.copy2(CLAUDE / "teams.yaml", project / ".claude" / "teams.yaml")
    shutil.copytree(AGENTS, project / ".claude" / "agents")
    shutil.copytree(COMMANDS, project / ".claude" / "commands")
    return project


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The pinned Claude Code CLI; skipped when absent locally, a failure under CI=true."""
    from tests.e2e.harness import find_claude

    binary = find_claude()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("claude CLI not found under CI=true: .ci/run installs it", pytrace=False)
        pytest.skip("claude CLI not found: set ORCHESTRA_CLAUDE_BIN or run .ci/run to install it")
    return binary
