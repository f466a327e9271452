"""Bash commands that start one of Orchestra's own programs or Claude Code: the state-changing `orchestra` CLI
(it would bypass the MCP tools' ownership checks), another run's inbox, and a new Claude Code session
(`claude -p`: a new agent, so it needs can_spawn_agents)."""

from __future__ import annotations

import os

from . import shell
from .decisions import Decision, clip
from .policy import Caller

# The Claude Code CLI, however it is started: a new session of it is a new agent.
CLAUDE_PROGRAMS = frozenset({"claude", "claude-code"})
CLAUDE_PACKAGE = "@anthropic-ai/claude-code"
PACKAGE_RUNNERS = frozenset({"npx", "bunx", "pnpx"})
PACKAGE_RUNS = frozenset({"exec", "x", "dlx"})  # `npm exec`, `pnpm dlx`, `yarn dlx`
CLAUDE_INFO_FLAGS = frozenset({"--version", "-v", "--help", "-h"})
SERVER_STARTER = "orchestra-mcp"  # bin/orchestra-mcp, as .mcp.json starts the MCP server
# `orchestra` subcommands that only read; the rest change state and need can_modify_state: true.
READ_ONLY_CLI = frozenset({
    ("state", "get"), ("state", "export"), ("task", "list"), ("task", "show"), ("task", "delegate"),
    ("sprint", "status"), ("sprint", "plan"), ("epic", "status"), ("epic", "plan"), ("events", "tail"),
    ("audit", "verify"), ("audit", "tail"), ("metrics",), ("report",), ("doctor",), ("msg", "inbox"),
    ("worktree", "list"), ("teams",), ("agents",),  # `teams` and its one action, `check`, only read
})


def cli_call(caller: Caller, cmd: shell.Command, cwds: list[str]) -> Decision | None:
    """`orchestra state set ...` from Bash would bypass the MCP tools' ownership checks."""
    rest = _orchestra_args(cmd.argv, cwds)
    if rest is None:
        return None
    if found := _foreign_inbox(caller, rest, "xargs" in cmd.wrappers):
        return found
    if caller.permissions.can_modify_state is True:
        return None
    words = [w for w in rest if not w.startswith("-")]
    if not words and "xargs" in cmd.wrappers:
        words = ["<command read by xargs>"]  # `echo task set-status t1 done | xargs orchestra`
    if not words or (words[0],) in READ_ONLY_CLI or tuple(words[:2]) in READ_ONLY_CLI:
        return None
    sub = " ".join(words[:2])
    from ..agentfiles import mcp_tool  # a denial only

    return Decision("cli", "exec", f"orchestra {sub}", "can_modify_state", (
        f"Orchestra policy: `orchestra {sub}` changes shared state, and {caller.label} (role {caller.role}) "
        f"may change state only within scope `{caller.permissions.can_modify_state}`. Use the orchestra MCP "
        f"tools ({mcp_tool('update_task')}, report_status, send_message), which check task ownership, or "
        "ask your orchestrator."))


def _foreign_inbox(caller: Caller, rest: list[str], fed: bool) -> Decision | None:
    """`orchestra msg inbox agent:<id>` counts that run's open messages as read by it, so they are never
    injected into it: a subagent run does that only for itself (`--peek` and `--all` only look)."""
    words = [w.strip() for w in rest if not w.startswith("-")]
    if not caller.agent_id or words[:2] != ["msg", "inbox"] or {"--peek", "--all"}.intersection(rest):
        return None
    own = f"agent:{caller.agent_id}"
    named = words[2] if len(words) > 2 else ("<recipient read by xargs>" if fed else "")
    if not named.startswith(("agent:", "<")) or named == own:
        return None
    from ..agentfiles import mcp_tool  # a denial only

    return Decision("cli", "exec", f"orchestra msg inbox {named}", "own_inbox", (
        f"Orchestra policy: `orchestra msg inbox {named}` would mark that run's open messages as read by it, and "
        f"they would then never reach it; {caller.label} (run {own}) consumes only its own inbox. Add `--peek` to "
        f"look without marking them, read your own with the orchestra MCP tool {mcp_tool('inbox')} (or "
        f"`orchestra msg inbox {own}`), or send_message to that run."))


def claude_session(caller: Caller, cmd: shell.Command, command: str) -> Decision | None:
    """`claude -p ...` from Bash starts a new session, a main thread that may start any agent and write the
    organisation's files: the same as starting an agent, so it needs can_spawn_agents."""
    if caller.permissions.can_spawn_agents or not cmd.argv:
        return None
    names = [a.rsplit("/", 1)[-1] for a in cmd.argv]
    package = next((i for i, a in enumerate(cmd.argv) if a == CLAUDE_PACKAGE or a.startswith(CLAUDE_PACKAGE + "@")),
                   None)
    if names[0] in CLAUDE_PROGRAMS:
        args = cmd.argv[1:]
    elif package is not None and (names[0] in PACKAGE_RUNNERS or PACKAGE_RUNS.intersection(cmd.argv[1:2])):
        args = cmd.argv[package + 1:]
    elif names[0] in ("node", "bun") and any(f"/{CLAUDE_PACKAGE}/" in a for a in cmd.argv[1:2]):
        args = cmd.argv[2:]
    else:
        return None
    if args and set(args) <= CLAUDE_INFO_FLAGS:
        return None  # `claude --version`
    return Decision("spawn", "spawn", "claude", "can_spawn_agents", (
        f"Orchestra policy: `{clip(command)}` starts a Claude Code session, an agent outside the organisation's "
        f"delegation, and {caller.label} (role {caller.role}) may not start other agents (can_spawn_agents is "
        "false). Do the work yourself, or ask your orchestrator to delegate it (send_message); if you cannot "
        "go on, finish with `STATUS: blocked` and say what you need."))


def _orchestra_args(argv: tuple[str, ...], cwds: list[str]) -> list[str] | None:
    """The arguments given to the `orchestra` CLI, however it is started: by name or path, through
    `uv run`/`uvx`, `python -m orchestra`, or an interpreter running the pack's `bin/orchestra`. The MCP
    server's own starter (`bin/orchestra-mcp`) is `orchestra mcp`: fed JSON-RPC from Bash, it would take
    any `caller` it is given, with no identity hook in between."""
    if not argv:
        return None
    if _is_cli(argv[0], cwds):
        return list(argv[1:])
    if _is_cli(argv[0], cwds, SERVER_STARTER):
        return ["mcp", *argv[1:]]
    names = [a.rsplit("/", 1)[-1] for a in argv]
    if names[0] in ("uv", "uvx") and "orchestra" in names:
        return list(argv[names.index("orchestra") + 1:])
    if names[0].startswith("python") and "-m" in argv:
        module = argv[argv.index("-m") + 1] if argv.index("-m") + 1 < len(argv) else ""
        if module in ("orchestra", "orchestra.cli"):
            return list(argv[argv.index("-m") + 2:])
    if names[0].startswith("python") and "-c" in argv[:-1] and "orchestra.cli" in argv[argv.index("-c") + 1]:
        return list(argv[argv.index("-c") + 2:])  # `python -c 'from orchestra.cli import run; run()' task ...`
    script = shell.script_index(argv)
    if script is not None and _is_cli(argv[script], cwds):
        return list(argv[script + 1:])
    if script is not None and _is_cli(argv[script], cwds, SERVER_STARTER):
        return ["mcp", *argv[script + 1:]]
    return None


def _is_cli(word: str, cwds: list[str], name: str = "orchestra") -> bool:
    """`orchestra`, `.claude/orchestra/bin/orchestra`, or a link to it (`name`: another of the pack's programs)."""
    if word.rsplit("/", 1)[-1] == name:
        return True
    return "/" in word and any(os.path.basename(os.path.realpath(os.path.join(cwd, os.path.expanduser(word))))
                               == name for cwd in cwds)
