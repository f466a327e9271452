"""Which worktree a task works in: its strategy, the scope that strategy picks, and the branch and
directory names derived from the scope's ids.

| strategy | scope      | branch                         | example              |
|----------|------------|--------------------------------|----------------------|
| epic     | the epic   | `feature/<epic id>`            | `feature/payments`   |
| sprint   | the sprint | `sprint-<n>-<sprint name>`     | `sprint-3-payments`  |
| task     | the task   | `task-<task id>`               | `task-oauth`         |
| team     | the team   | `team-<team name>-work`        | `team-frontend-work` |

`<n>` is the number in a sprint id like `sprint-3` (else the whole id); a `task-` the id already
starts with is not repeated. Names are lowercased with every run of other characters turned into
one `-`. The directory (and the worktree's id in state) is the branch with `/` turned into `-`. A name
longer than 200 characters is cut to 193 plus `-` and six hex digits of a hash of the scope.
Ids that give one name (tasks `foo` and `task-foo`, `T_1` and `t-1`) are told apart by `distinct()`:
the name plus `-` and six hex digits of a hash of the strategy and id (`task-foo-1b2c3d`).
A task without an epic falls back from `epic` to `sprint`, one without a sprint to `task`.
Pure functions over state records: no git, no store writes.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from ..record import Record

Strategy = Literal["epic", "sprint", "task", "team", "none"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
# Roles that coordinate or review across worktrees; only the other roles are confined to one.
UNCONFINED_ROLES = frozenset({"orchestrator", "reviewer"})

_OTHER = re.compile(r"[^a-z0-9]+")
# A directory name, a ref and `<name>.setup.log` must each stay within the file system's 255 bytes: a
# longer name (a long sprint name, team name) is cut, with a hash of the scope so cut names stay apart.
MAX_NAME = 200


class Scope(Record):
    """What one worktree is for: a strategy and the id of the epic, sprint, task or team it serves."""

    strategy: str
    ident: str
    label: str = ""  # a display name used in the branch (the sprint's name)
    tag: str = ""  # set by `distinct()`: tells this scope's names from another scope's that slug alike

    @property
    def branch(self) -> str:
        plain = self._plain_branch()
        if len(plain) > MAX_NAME:
            plain = f"{plain[:MAX_NAME - 7].rstrip('-/')}-{_digest(f'{self.strategy}:{self.ident}:{self.label}')}"
        return f"{plain}-{self.tag}" if self.tag else plain

    def _plain_branch(self) -> str:
        if self.strategy == "epic":
            return f"feature/{slug(self.ident)}"
        if self.strategy == "sprint":
            match = re.fullmatch(r"sprint[-_]?(\d+)", self.ident, re.I)
            number = match.group(1) if match else slug(self.ident)
            name = slug(self.label)
            return f"sprint-{number}-{name}" if name else f"sprint-{number}"
        if self.strategy == "team":
            return f"team-{slug(self.ident)}-work"
        ident = slug(self.ident)
        return ident if ident.startswith("task-") else f"task-{ident}"

    def distinct(self) -> Scope:
        """This scope with names no other scope shares: a hash of its strategy and id added to them."""
        return Scope(self.strategy, self.ident, self.label, _digest(f"{self.strategy}:{self.ident}"))

    def serves(self, record: dict[str, Any]) -> bool:
        """`record` (a `worktrees.<name>` state record) is this scope's worktree."""
        return (record.get("scope"), record.get("scope_id")) == (self.strategy, self.ident)

    @property
    def name(self) -> str:
        """The worktree's directory name under the worktree root, and its id in state."""
        return self.branch.replace("/", "-")


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:6]


def slug(text: str | None) -> str:
    return _OTHER.sub("-", (text or "").lower()).strip("-")


def strategy_for(task: dict[str, Any], team_strategy: str | None) -> str:
    """The task's own `worktree_strategy` wins over its team's; without either there is no worktree."""
    chosen = task.get("worktree_strategy") or team_strategy or "none"
    return chosen if chosen in STRATEGIES else "none"


def scope_for(task: dict[str, Any], strategy: str, sprint: dict[str, Any] | None = None,
              team: str | None = None) -> Scope | None:
    """The scope `strategy` gives `task` (`sprint` is the task's sprint record, for its name and epic)."""
    if strategy == "none":
        return None
    if strategy == "team":
        name = task.get("team") or team
        return Scope("team", name) if name else Scope("task", task["id"])
    if strategy == "epic":
        epic = task.get("epic") or (sprint or {}).get("epic")
        if epic:
            return Scope("epic", epic)
        strategy = "sprint"
    if strategy == "sprint" and task.get("sprint"):
        return Scope("sprint", task["sprint"], (sprint or {}).get("name") or "")
    return Scope("task", task["id"])
