"""Orchestra: multi-team orchestration for Claude Code (hooks, state, bus, workflow, policy)."""

__version__ = "0.1.0"
