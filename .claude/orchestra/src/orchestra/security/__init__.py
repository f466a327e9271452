"""Security: roles and permissions at every tool call, secret and state-file guards, suspicious-activity alerts.

Hooks call `tool_guard` (via toolcall.GUARDS), `spawn_guard` (Agent/Task) and `mcp_verdict`
(orchestra MCP tools); `spawn_verdict` is the same spawn rule for callers that hold an
Organization. The audit chain itself lives in `orchestra.audit`. Everything imported here is
stdlib or our lean modules: it runs before every tool call.
"""

from __future__ import annotations

from .decisions import Decision
from .guard import mcp_verdict, spawn_guard, spawn_verdict, tool_guard
from .policy import Caller, Permissions, Policy, PolicyError
from .policy import load as load_policy

__all__ = [
    "Caller", "Decision", "Permissions", "Policy", "PolicyError", "load_policy", "mcp_verdict", "spawn_guard",
    "spawn_verdict", "tool_guard",
]
