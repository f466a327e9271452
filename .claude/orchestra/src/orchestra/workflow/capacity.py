"""How much work fits: parallel tasks per team and member (for waves), points per sprint (for epics).

Parallel limits come from teams.yaml (`max_parallel_agents` per team, `capacity` per member), the
same numbers the delegation gate enforces, so a wave an orchestrator launches at once is never
refused for capacity. A sprint file's `capacity:` can lower or raise a team's limit for that sprint.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .graph import DEFAULT_TEAM_CAPACITY, Capacity

# Velocity is the mean of the last few complete sprints: recent enough to follow a changing team.
VELOCITY_WINDOW = 3
# Why work named to a member or team of capacity 0 is in a wave: the gate that would refuse it is off.
PLANNED_ANYWAY = ("planned all the same, as the capacity gate is off (`gates: {capacity: false}` in teams.yaml) "
                  "and lets its delegation through")


def parallel_capacity(org, overrides: dict[str, int] | None = None) -> Capacity:
    teams = {name: team.settings.max_parallel_agents for name, team in org.teams.items()}
    teams.update(overrides or {})
    members = {name: member.capacity for name, member in org.agents.items()}
    return Capacity(teams=teams, members=members, default_team=DEFAULT_TEAM_CAPACITY)


def capacity_dict(capacity: Capacity, teams: Iterable[str | None], members: Iterable[str | None]) -> dict:
    """The limits that apply to the given teams and assignees, for machine output."""
    return {
        "teams": {t or "": capacity.team_limit(t) for t in sorted(set(teams), key=str)},
        "members": {m: capacity.members[m] for m in sorted({m for m in members if m}) if m in capacity.members},
    }


@dataclass(frozen=True)
class SprintPoints:
    """Points one sprint holds, where the number came from, and per-team caps when teams.yaml set them."""

    total: float
    source: str  # "option", "epic", "velocity", "teams.yaml"
    per_team: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"points": self.total, "source": self.source, "per_team": self.per_team}


def team_points(org) -> dict[str, float]:
    """`points_per_sprint` of each team's settings in teams.yaml, where set."""
    return {name: float(team.settings.points_per_sprint) for name, team in org.teams.items()
            if team.settings.points_per_sprint}


def velocity_points(history: list[dict[str, Any]]) -> float | None:
    """Mean points completed over the last VELOCITY_WINDOW complete sprints, a sprint that completed
    nothing included (None without history)."""
    recent = [float(h.get("points") or 0.0) for h in history[-VELOCITY_WINDOW:]]
    return sum(recent) / len(recent) if recent else None


def checked_points(option: float) -> float:
    """`--points` as given, refused when it is no number of points (nan, inf, 0 or less)."""
    if not math.isfinite(option) or option <= 0:
        raise ValueError(f"--points {option:g}: must be a finite number more than 0")
    return float(option)


def sprint_points(*, option: float | None, epic_points: float | None, history: list[dict[str, Any]],
                  org, teams: Iterable[str | None]) -> SprintPoints:
    """Points per sprint: `--points` > the epic's `sprint_points` > velocity history > teams.yaml."""
    if option is not None:
        return SprintPoints(checked_points(option), "option")
    if epic_points:
        return SprintPoints(float(epic_points), "epic")
    velocity = velocity_points(history)
    if velocity:
        return SprintPoints(velocity, "velocity")
    configured = team_points(org)
    involved = {t for t in teams if t}
    per_team = {t: configured[t] for t in sorted(involved) if t in configured}
    if per_team and involved <= set(per_team):
        return SprintPoints(sum(per_team.values()), "teams.yaml", per_team)
    missing = ", ".join(sorted(involved - set(per_team))) or "the epic's teams"
    recent = min(len(history), VELOCITY_WINDOW)
    why = (f"the last {recent} closed sprint{'s' if recent > 1 else ''} completed no points, so velocity gives none"
           if recent else "no velocity history yet")
    raise ValueError(f"no sprint capacity known: set `sprint_points` in the epic, `points_per_sprint` in the "
                     f"settings of {missing} in teams.yaml, or pass --points ({why})")
