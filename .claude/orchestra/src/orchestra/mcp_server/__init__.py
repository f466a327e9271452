"""The orchestra MCP server: the agent-facing API over state, tasks, sprints, messages and worktrees
(official `mcp` SDK, stdio).

Claude Code starts it as `orchestra mcp` (from `.mcp.json`, or the plugin's MCP config), one process
per session: `front` answers the session's opening from `memo`, the SDK server's recorded answers, and
hands the rest to the SDK server that `server` builds; every tool works through the store's transactions, never a cached copy, so several
servers and the hooks can write at once. Tools: `task_tools`, `message_tools`, `sprint_tools`, `worktree_tools`; the call
edge (caller identity, transactions, tool errors) is `edge`. The sender of everything is the caller the
PreToolUse hook stamped (`orchestra.bus.hooks.stamp_caller`); role checks happen in that hook
(`orchestra.security.mcp_verdict`), before a call reaches the server.
"""
