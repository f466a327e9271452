#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""SessionStart: make sure the state store exists, then brief the main thread on active sprints."""
# orchestra-hook: {"event": "SessionStart", "timeout": 15}

from orchestra.briefing import session_context
from orchestra.hookio import AddContext, Allow, HookContext, HookEvent, Verdict, main


def handle(event: HookEvent, ctx: HookContext) -> Verdict:
    with ctx.store.snapshot() as tx:
        text = session_context(tx)
    return AddContext(text) if text else Allow()


if __name__ == "__main__":
    main(handle)
