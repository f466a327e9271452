"""Token budget: what the pack adds to the first model request of a session stays under 1,500 tokens
(bytes / 4). Measured through the real CLI with Claude Code's default settings (tool search on, so MCP
tools appear only by name), and estimated from the files when the CLI is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orchestra import agentfiles

from .conftest import TEMPLATES, agent_paths, command_name, command_paths, split_frontmatter

BUDGET_TOKENS = 1500


def agent_listing_line(path: Path) -> str:
    """The line Claude Code 2.1.328 puts in its "Available agent types" reminder for one agent."""
    meta, _ = split_frontmatter(path)
    tools = ", ".join(agentfiles.tool_names(meta["tools"])) if "tools" in meta else "*"
    return f"- {meta['name']}: {meta['description']} (Tools: {tools})"


def command_listing_line(path: Path) -> str | None:
    """A command's line in the skills reminder; commands the model may not invoke are not listed."""
    meta, _ = split_frontmatter(path)
    return None if meta.get("disable-model-invocation") else f"- {command_name(path)}: {meta['description']}"


def estimated_bytes() -> dict[str, int]:
    """Bytes of always-on text, as JSON-encoded in the request: listings, the CLAUDE.md snippet, and
    the deferred-tool names of the MCP server (one name per line)."""
    def size(lines: list[str]) -> int:
        return len(json.dumps("\n".join(lines) + "\n")) - 2 if lines else 0

    commands = [line for p in command_paths() if (line := command_listing_line(p))]
    mcp_names = [agentfiles.MCP_PREFIX + tool for tool in sorted(agentfiles.MCP_TOOLS)]
    return {
        "agents": size([agent_listing_line(p) for p in agent_paths()]),
        "commands": size(commands),
        "claude_md_snippet": size((TEMPLATES / "CLAUDE.md").read_text().splitlines()),
        "mcp_tool_names": size(mcp_names),
    }


def test_estimated_always_on_text_is_within_budget():
    parts = estimated_bytes()
    tokens = sum(parts.values()) / 4
    assert tokens < BUDGET_TOKENS, f"{tokens:.0f} tokens: {parts}"
    assert parts["commands"] == 0


def test_every_description_is_one_short_line():
    for path in agent_paths():
        meta, _ = split_frontmatter(path)
        assert len(meta["description"]) <= 100, path.stem
        assert agentfiles.description_problem(meta["description"]) is None


# -- measured through the real CLI ------------------------------------------------------------------

@pytest.mark.e2e
def test_first_request_grows_by_less_than_the_budget(tmp_path: Path, claude_bin: Path):
    from tests.e2e.fake_api import MAIN, FakeAPI, say
    from tests.e2e.harness import Sandbox, cli_version, pinned_version

    if cli_version(claude_bin) != pinned_version():
        pytest.skip(f"claude at {claude_bin} is not the pinned {pinned_version()}")

    class DefaultSettings(Sandbox):
        """The harness sandbox, but with Claude Code's default tool search (MCP schemas deferred)."""

        def env(self, api=None):
            env = super().env(api)
            env.pop("ENABLE_TOOL_SEARCH", None)
            return env

    first: dict[bool, dict] = {}
    for with_pack, base in ((True, tmp_path / "a"), (False, tmp_path / "b")):  # equal path lengths
        box = DefaultSettings(base, claude_bin, with_pack=with_pack).create()
        try:
            with FakeAPI() as api:
                api.script.on(MAIN).reply(say("hello"))
                run = box.run(api, "say hello")
                assert run.returncode == 0, run.describe()
                first[with_pack] = api.requests[0].body
        finally:
            box.cleanup()

    added = len(json.dumps(first[True])) - len(json.dumps(first[False]))
    shown = json.dumps(first[True])
    for path in agent_paths():
        assert json.dumps(agent_listing_line(path))[1:-1] in shown, f"{path.stem} listed differently"
    for path in command_paths():
        assert f"- {command_name(path)}:" not in shown
    assert added / 4 < BUDGET_TOKENS, f"the pack adds {added} bytes = {added / 4:.0f} tokens to the first request"
