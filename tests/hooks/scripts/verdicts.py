"""Test-only handler: returns the verdict the event asks for (`"test_verdict": {"kind": ...}`), or raises."""

from orchestra.hookio import AddContext, Allow, Ask, BlockStop, Deny, HookContext, HookEvent, Rewrite, Verdict


def handle(event: HookEvent, ctx: HookContext) -> Verdict:
    want = event.get("test_verdict") or {}
    kind = want.get("kind", "allow")
    if kind == "raise":
        raise RuntimeError(want.get("message", "boom"))
    if kind == "write-then-raise":
        with ctx.store.transaction() as tx:
            tx.set("tasks.written", {"title": "must roll back"})
            raise RuntimeError("failed mid-transaction")
    return {
        "allow": lambda: Allow(want.get("system_message")),
        "context": lambda: AddContext(want["text"]),
        "deny": lambda: Deny(want["reason"]),
        "ask": lambda: Ask(want["reason"]),
        "rewrite": lambda: Rewrite(want["tool_input"], want.get("context")),
        "block": lambda: BlockStop(want["reason"]),
    }[kind]()
