"""The delegation lifecycle: every subagent tracked from the Agent call to its report.

Hooks hand their events to `handlers` (delegation: PreToolUse/PostToolUse Agent, SubagentStart,
SubagentStop, PostToolUse Write/Edit), `session` (SessionStart, Stop, SessionEnd; `orchestra.liveness` tells a
session killed outright) and `native` (TaskCreated,
TaskCompleted, TeammateIdle); `delegation` decides an Agent call with `tasks` (which task) and
`occupancy` (who is working), `completion` judges a report. State: `delegations.<tool_use_id>`, `agents.<agent_id>` (runs),
`tasks.<id>`, `sessions.<session_id>`; statuses are derived from recorded facts (`transitions`),
so events may arrive in any order and repeat. Other modules use:

- `delegation.STEPS`: the PreToolUse decision, a list of steps (security and worktrees add theirs);
- `delegation_arguments(tx, org, task_id)`: ready Agent arguments for a task (CLI, MCP);
- `agent_tree(tx)` / `task_view(tx, task_id)`: read models for `orchestra agents` / `task show`;
- `set_status(tx, task_id, status, ...)`: a status change by hand (CLI, MCP), checked against the transition
  table; with the team's `require_review`, a member's completion goes to review (`review`); a status the task
  has already is refused (`Unchanged`), as are a verdict on a task not in needs_review and findings with no
  review to join (`check_verdict`, also kept by `record_verdict` for findings given alone);
- `team_change.set_team(tx, org, task_id, team, ...)`: a task moved to another team of teams.yaml by hand (CLI);
- `apply_review(tx, reply)`: a review_complete reply settles the task its review request was about;
- `task_list(tx, ...)` / `record_report(tx, task_id, report, by=...)`: the task list, an agent's progress report.

Work on a completed or cancelled task (a delegation, a report; in `worktrees` and `bus`, a worktree and a
handoff) is refused with `models.check_unfinished`, the same words whichever edge asked. Hooks record facts
through `ledger` and none of these refusals: a report that arrives after the task was finished by hand is
recorded as before."""

from __future__ import annotations

from .review import check_verdict, record_verdict
from .views import (
    Unassigned,
    Unchanged,
    agent_tree,
    apply_review,
    delegation_arguments,
    record_report,
    set_status,
    task_list,
    task_view,
)

__all__ = ["Unassigned", "Unchanged", "agent_tree", "apply_review", "check_verdict", "delegation_arguments",
           "record_report", "record_verdict", "set_status", "task_list", "task_view"]
