"""Which features of the pack are present, read from the pack itself (its hook wiring and modules).

A scenario written against a feature that is not in the pack yet is marked `pending(...)`: a strict
xfail while the feature is missing, an ordinary test as soon as it appears. The mark never hides a
failure of a feature that is there.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.e2e.harness import PACK, REPO

SRC = PACK / "orchestra" / "src" / "orchestra"


def _wired(event: str, tool: str | None = None) -> bool:
    """Does a pack hook run on `event` (and, for tool events, on a call of `tool`)?"""
    from orchestra import wiring

    for _script, decl in wiring.declarations(PACK / "orchestra" / "hooks"):
        if decl["event"] != event:
            continue
        matcher = decl.get("matcher")
        if tool is None or not matcher or matcher == "*":
            return True
        # Claude Code treats a matcher of plain names as an exact list and anything else as a regex.
        if re.fullmatch(r"[\w ,|-]+", matcher):
            if tool in re.split(r"[ ,|]+", matcher):
                return True
        elif re.search(matcher, tool):
            return True
    return False


def _guarded_by(package: str) -> bool:
    """Is a guard from `package` among the checks the pack's PreToolUse hook runs on ordinary tools?"""
    try:
        from orchestra import toolcall
    except ImportError:
        return False
    return any(getattr(guard, "__module__", "").startswith(package) for guard in toolcall.GUARDS)


FEATURES: dict[str, tuple[str, Callable[[], bool]]] = {
    "lifecycle": ("delegation lifecycle hooks (PreToolUse on Agent, SubagentStart, SubagentStop)",
                  lambda: _wired("PreToolUse", "Agent") and _wired("SubagentStart") and _wired("SubagentStop")),
    "bus": ("message bus delivery into agents' context",
            lambda: (SRC / "bus" / "delivery.py").exists()),
    "mcp": ("the orchestra MCP server (`orchestra mcp`, started from .mcp.json)",
            lambda: (REPO / ".mcp.json").exists()
            and ((SRC / "cli" / "mcp.py").exists() or any(SRC.glob("mcp_server*")))),
    "security": ("role, secret and state-file guards on ordinary tool calls",
                 lambda: _guarded_by("orchestra.security")),
    "worktrees": ("the worktree boundary guard on ordinary tool calls",
                  lambda: _guarded_by("orchestra.worktrees")),
}


def landed(feature: str) -> bool:
    return FEATURES[feature][1]()


def pending(*features: str) -> pytest.MarkDecorator:
    """Strict xfail while any of `features` is missing from the pack; no effect once all are there."""
    missing = [FEATURES[f][0] for f in features if not landed(f)]
    return pytest.mark.xfail(bool(missing), strict=True,
                             reason=f"not in the pack yet: {'; '.join(missing)}")
