"""The pack as a Claude Code plugin rooted at the repository: `.claude-plugin/plugin.json` (agents,
commands, MCP server), `marketplace.json`, `hooks/hooks.json`, the agents' and commands' plugin copies
under `plugin/` and the icon, all generated from the pack's files and `wiring` so they cannot drift;
`orchestra plugin build --check` reports stale ones."""

from __future__ import annotations

import json
import re
import struct
import tomllib
import zlib
from pathlib import Path
from typing import Any

from .. import wiring
from ..paths import PLUGIN_MCP_SERVER, PLUGIN_NAME
from . import icon
from .source import SERVER_NAME, SOURCE_ROOT, mcp_server_entry

NAME = PLUGIN_NAME
PLUGIN_JSON = ".claude-plugin/plugin.json"
MARKETPLACE_JSON = ".claude-plugin/marketplace.json"
HOOKS_JSON = "hooks/hooks.json"
PLUGIN_AGENTS = "plugin/agents"
PLUGIN_COMMANDS = "plugin/commands"
# The CLI as the pack's commands run it, from the project root; a plugin's commands run in the project
# too, where there is no pack, so its copies name the CLI in the plugin (quoted: the path may hold spaces),
# with the environment the plugin's hooks and MCP server have: the project Claude Code runs in (the CLI
# would otherwise take the git toplevel when Claude Code was started in a subdirectory) and the plugin's
# root (so that it names the plugin's agents as `orchestra:<name>`).
PROJECT_CLI = re.compile(r"(?<![\w./-])\.claude/orchestra/bin/orchestra\b")
PLUGIN_CLI = (f'CLAUDE_PROJECT_DIR="${{CLAUDE_PROJECT_DIR}}" CLAUDE_PLUGIN_ROOT="{wiring.PLUGIN_VAR}" '
              f'"{wiring.PLUGIN_VAR}/.claude/orchestra/bin/orchestra"')
# The orchestra server's name in a tool name: before `__<tool>`, or alone as the whole server.
PROJECT_TOOLS = re.compile(rf"\bmcp__{SERVER_NAME}(?=__|(?![\w-]))")
ICON = ".claude-plugin/icon.png"
AUTHOR = {"name": "Orchestra maintainers"}
# `onFailure: "block"` on the guard hooks needs 2.1.295; older clients would let guarded calls through.
ENGINES = {"claude-code": ">=2.1.295"}
# uv resolves the hook scripts' dependencies from PyPI the first time each one runs.
HOSTS = ["pypi.org", "files.pythonhosted.org"]


def manifest(root: Path = SOURCE_ROOT) -> dict[str, Any]:
    project = _project(root)
    out: dict[str, Any] = {
        "$schema": "https://anthropic.com/claude-code/plugin.schema.json",
        "name": NAME,
        "displayName": "Orchestra",
        "version": project["version"],
        "description": project["description"],
        "author": AUTHOR,
        "license": project.get("license", "MIT"),
        "keywords": ["orchestration", "multi-agent", "teams", "sprints", "hooks", "audit"],
        "engines": ENGINES,
        "network": {"hosts": HOSTS},
        "agents": ["./" + plugin_copy(rel) for rel in agent_paths(root)],
        "commands": f"./{PLUGIN_COMMANDS}",
        "mcpServers": {SERVER_NAME: mcp_server_entry(wiring.PLUGIN_VAR, windows=False)},  # one manifest for all
    }
    if (root / ".claude" / "skills").is_dir():
        out["skills"] = "./.claude/skills"
    return out


def marketplace(root: Path = SOURCE_ROOT) -> dict[str, Any]:
    project = _project(root)
    return {
        "name": "claude-orchestra",
        "owner": AUTHOR,
        "description": "Orchestra: a multi-team organisation for Claude Code, as one plugin.",
        "plugins": [{"name": NAME, "source": "./", "description": project["description"],
                     "version": project["version"], "category": "development",
                     "tags": ["orchestration", "multi-agent"]}],
    }


def hooks_file(root: Path = SOURCE_ROOT) -> dict[str, Any]:
    return {
        "description": "Orchestra's hooks: generated from the `# orchestra-hook:` line of each script by "
                       "`orchestra plugin build`",
        "hooks": wiring.hooks_block(wiring.PLUGIN_VAR, root / ".claude" / "orchestra" / "hooks"),
    }


def agent_paths(root: Path = SOURCE_ROOT) -> list[str]:
    """Every agent definition (a name and a description in its frontmatter) as a `./` path.

    A plugin's `agents` must list files, and a plugin loads a markdown file without frontmatter as an
    agent named after the file, so notes beside the agents are left out."""
    return [rel for rel, why in _agent_files(root) if why is None]


def left_out(root: Path = SOURCE_ROOT) -> list[str]:
    """`file:line: why` for each markdown file under .claude/agents that is not one of the plugin's agents."""
    return [f"{rel.removeprefix('./')}:{why}" for rel, why in _agent_files(root) if why is not None]


def _agent_files(root: Path) -> list[tuple[str, str | None]]:
    from ..agentfiles import FrontmatterError, markdown_files, read

    found: list[tuple[str, str | None]] = []
    for path in markdown_files(root / ".claude" / "agents"):
        rel = "./" + path.relative_to(root).as_posix()
        try:
            meta = read(path).meta
        except (FrontmatterError, UnicodeDecodeError) as exc:
            found.append((rel, str(exc).removeprefix(f"{path}:")))  # `line: what`
            continue
        found.append((rel, None if meta.get("name") and meta.get("description") else
                      "1: no name or no description in the frontmatter"))
    return found


def plugin_tool(name: str) -> str:
    """What Claude Code calls the orchestra MCP tools when the server comes from this plugin: each tool
    (`mcp__orchestra__ask`) and the whole server (`mcp__orchestra`, `mcp__orchestra__*`)."""
    return PROJECT_TOOLS.sub(f"mcp__{PLUGIN_MCP_SERVER}", name)


def plugin_copy(agent_path: str) -> str:
    """Where the plugin's copy of an agent file (an `agent_paths` entry) lives."""
    return f"{PLUGIN_AGENTS}/{agent_path.removeprefix('./.claude/agents/')}"


def plugin_agents(root: Path = SOURCE_ROOT) -> dict[str, bytes]:
    """Each agent file as the plugin ships it: the same file with the orchestra MCP tools under their
    plugin names, in its `tools` list and wherever its instructions name them."""
    return {plugin_copy(rel): plugin_tool((root / rel).read_text(encoding="utf-8")).encode()
            for rel in agent_paths(root)}


def plugin_commands(root: Path = SOURCE_ROOT) -> dict[str, bytes]:
    """Each command file as the plugin ships it: the same file running the plugin's own CLI, in its
    `allowed-tools` and `!` lines as in its instructions, and naming the orchestra MCP tools as the plugin
    serves them."""
    from ..agentfiles import markdown_files

    folder = root / ".claude" / "commands"
    return {f"{PLUGIN_COMMANDS}/{path.relative_to(folder).as_posix()}":
            plugin_tool(PROJECT_CLI.sub(lambda _: PLUGIN_CLI, _command_text(path))).encode()
            for path in markdown_files(folder)}


def _command_text(path: Path) -> str:
    """A command file's text; one that is not UTF-8 stops the build at its file and line."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte {exc.object[exc.start]:#04x}); save the file as "
                         "UTF-8, then build again") from None


def generated(root: Path = SOURCE_ROOT) -> dict[str, bytes]:
    def text(data: dict[str, Any]) -> bytes:
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()

    return {PLUGIN_JSON: text(manifest(root)), MARKETPLACE_JSON: text(marketplace(root)),
            HOOKS_JSON: text(hooks_file(root)), **plugin_agents(root), **plugin_commands(root)}


def leftovers(root: Path, files: dict[str, bytes]) -> list[str]:
    """Plugin agent and command copies whose pack file is gone."""
    found = (p.relative_to(root).as_posix() for folder in (root / PLUGIN_AGENTS, root / PLUGIN_COMMANDS)
             if folder.is_dir() for p in folder.rglob("*.md"))
    return sorted(rel for rel in found if rel not in files)


def build(root: Path = SOURCE_ROOT, check: bool = False) -> list[str]:
    """Write the plugin files that differ from the pack (or only list them with `check`)."""
    from .. import atomic

    files = generated(root)
    stale = [rel for rel, data in files.items() if _read(root / rel) != data]
    drawn = _read(root / ICON)
    if drawn is None or _pixels(drawn) != icon.pixels(icon.render()):
        stale.append(ICON)
    gone = leftovers(root, files)
    if not check:
        files[ICON] = icon.render()
        for rel in stale:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(root / rel, files[rel], 0o644)
        for rel in gone:
            (root / rel).unlink()
    return stale + gone


def _project(root: Path) -> dict[str, Any]:
    return tomllib.loads((root / ".claude" / "orchestra" / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _pixels(png: bytes) -> tuple[int, int, bytes] | None:
    try:
        return icon.pixels(png)
    except (ValueError, struct.error, zlib.error):
        return None
