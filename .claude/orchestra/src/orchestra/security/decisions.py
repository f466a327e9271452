"""A guard's objection: what kind of rule it is, what it is about, and a reason the model can act on."""

from __future__ import annotations

from typing import Literal

from ..hookio import Deny
from ..record import Record

Kind = Literal["secret", "state", "organisation", "identity", "spawn", "mcp", "cli", "worktree", "push"]
# Attempts on these raise an alert at once (named so in the alert); other denials only when they pile up.
SENSITIVE: dict[str, str] = {"secret": "a secret file", "state": "a protected file",
                             "organisation": "the organisation's files (teams, agents, commands, the pack)",
                             "identity": "another caller's identity"}


class Decision(Record):
    """A denial. `resource` is what was touched (path, agent type, task), `rule` the rule that fired."""

    kind: Kind
    action: str
    resource: str
    rule: str
    reason: str

    @property
    def sensitive(self) -> bool:
        return self.kind in SENSITIVE

    def verdict(self, system_message: str | None = None) -> Deny:
        return Deny(self.reason, system_message)

    def audit_fields(self) -> dict[str, str]:
        return {"action": self.action, "resource": self.resource, "rule": f"{self.kind}:{self.rule}"}


def clip(text: str, limit: int = 160) -> str:
    """One line of at most `limit` characters, for reasons and audit fields."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
