#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""SessionStart: make sure the state store exists, then brief the main thread on active sprints and its inbox
(inside a compacted subagent: that run on its task's brief and its own inbox, again)."""
# orchestra-hook: {"event": "SessionStart", "timeout": 15}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.briefing import session_context
from orchestra.bus.hooks import main_thread_delivery
from orchestra.hookio import AddContext, Allow, HookContext, HookEvent, Verdict, main
from orchestra.lifecycle.session import start
from orchestra.security.policy import broken_alert


def handle(event: HookEvent, ctx: HookContext) -> Verdict:
    with ctx.store.transaction() as tx:
        start(tx, event, ctx.root)  # a resumed session opens again; sessions killed outright end
        if event.agent_id:  # a subagent's context was compacted: its brief and open messages, no sprint summary
            from orchestra.lifecycle.handlers import compacted_run  # not loaded for a main thread

            return compacted_run(tx, event, ctx)  # with a broken teams.yaml too, its error in the alert
        # after compaction: open messages again; with a broken teams.yaml too, its error in the alert
        inbox = main_thread_delivery(tx, event, ctx, via="session_start", source=event.get("source"))
        text = session_context(tx, [inbox.text])
    alert = " | ".join(filter(None, (inbox.alert, broken_alert(ctx.root))))  # a policy.yaml that blocks every call
    return AddContext(text, system_message=alert or None) if text else Allow(system_message=alert or None)


if __name__ == "__main__":
    main(handle)
