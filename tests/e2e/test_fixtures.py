"""The committed hook-payload fixtures still describe what the pinned CLI sends.

Hook tests elsewhere feed these fixtures to our handlers; if the CLI sent other events or other
fields, those tests would prove nothing. Re-capture with `tests/e2e/refresh_fixtures.py`.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.e2e.harness import REPO, pinned_version
from tests.e2e.refresh_fixtures import FIXED_PROJECT, MCP_OPENING, SCENARIOS, capture, capture_mcp_opening

# `effort` depends on the model id (absent for claude-sonnet-4-5 against a fake API, reference §1.3).
MODEL_DEPENDENT = {"effort"}
# SessionEnd runs inside a 1.5 s teardown budget in -p; one of the committed captures has none.
BEST_EFFORT = {"SessionEnd"}


def shape(payloads: list[dict]) -> Counter:
    """Which events arrived (event, tool, agent type) and with which top-level fields, ignoring order:
    hooks of parallel work (a background agent starting, the parent's PostToolUse) race."""
    return Counter((p["hook_event_name"], p.get("tool_name"), p.get("agent_type"),
                    tuple(sorted(set(p) - MODEL_DEPENDENT)))
                   for p in payloads if p["hook_event_name"] not in BEST_EFFORT)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_committed_fixture_matches_a_fresh_capture(name, tmp_path, claude_bin):
    committed_file = REPO / "tests" / "fixtures" / f"claude-code-{pinned_version()}" / f"{name}.jsonl"
    committed = [json.loads(line) for line in committed_file.read_text().splitlines() if line.strip()]

    fresh = capture(name, tmp_path, claude_bin)

    assert shape(fresh) == shape(committed)
    assert all(p["cwd"] == FIXED_PROJECT for p in fresh)  # sandbox paths were rewritten
    assert str(tmp_path) not in json.dumps(fresh)


def test_committed_mcp_opening_is_what_the_cli_sends(tmp_path, claude_bin):
    committed_file = REPO / "tests" / "fixtures" / f"claude-code-{pinned_version()}" / f"{MCP_OPENING}.jsonl"
    committed = [json.loads(line) for line in committed_file.read_text().splitlines() if line.strip()]

    fresh = capture_mcp_opening(tmp_path, claude_bin)

    # exactly, but for order: the MCP front answers only requests whose method and params it has seen
    assert sorted(map(json.dumps, fresh)) == sorted(map(json.dumps, committed))
