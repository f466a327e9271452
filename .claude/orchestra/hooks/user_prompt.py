#!/usr/bin/env -S uv run --quiet --script
# /// script
# requires-python = ">=3.11"
# dependencies = ["claude-orchestra"]
#
# [tool.uv.sources]
# claude-orchestra = { path = "..", editable = true }
# ///
"""UserPromptSubmit: audit the prompt (size and id, never its text), then surface new messages for the user."""
# orchestra-hook: {"event": "UserPromptSubmit", "timeout": 10}

from orchestra.warm.client import forward

forward(__name__)  # a running warm server takes this hook over; this process then exits here

from orchestra.bus.hooks import main_thread_delivery
from orchestra.hookio import AddContext, Allow, HookContext, HookEvent, Verdict, main


def handle(event: HookEvent, ctx: HookContext) -> Verdict:
    prompt = event.get("prompt")
    ctx.audit.update(prompt_id=event.get("prompt_id"), prompt_chars=len(prompt) if isinstance(prompt, str) else None)
    with ctx.store.transaction() as tx:
        inbox = main_thread_delivery(tx, event, ctx, via="user_prompt")  # a broken teams.yaml: named in the alert
    if inbox.messages:
        ctx.audit["bus_delivered"] = [m["id"] for m in inbox.messages]
    if not inbox.text:
        return Allow(system_message=inbox.alert)  # a broken teams.yaml is named with nothing new too
    return AddContext(inbox.text, system_message=inbox.alert)


if __name__ == "__main__":
    main(handle)
