"""Epics: load into state, split features into sprints by dependencies and capacity, report progress.

The split is greedy and deterministic: sprint after sprint, take the most urgent feature whose
dependencies are planned (in an earlier sprint or this one) and that fits the points left — the
whole sprint's and its team's — until nothing more fits. A feature bigger than a whole sprint gets
a sprint of its own and a warning to split it. Features pinned to an existing sprint (`sprint:`)
are planned already.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..clock import now_iso
from ..models import PRIORITY_RANK, TERMINAL_TASK_STATUSES
from . import metrics
from .capacity import SprintPoints, checked_points, sprint_points
from .definitions import EpicDef, FeatureDef, load_epic, project_relative
from .progress import DEFAULT_SPRINT_DAYS
from .view import is_id, recorded_points


def _feature_dict(feature: FeatureDef) -> dict[str, Any]:
    return {"id": feature.id, "title": feature.title, "team": feature.team, "estimate": feature.estimate,
            "priority": feature.priority, "dependencies": list(feature.dependencies)}


def split(epic: EpicDef, capacity: SprintPoints, skip: set[str] = frozenset()) -> tuple[list[dict], list[str]]:
    """Sprints of the unpinned features not in `skip`, and warnings. Each sprint lists its features
    in planning order with its points per team."""
    pinned = {f.id for f in epic.features if f.sprint} | set(skip)
    todo = [f for f in epic.features if f.id not in pinned]
    graph = epic.graph()
    tail = dict(zip((graph.nodes[i].id for i in range(len(graph))), graph.tail, strict=True))
    position = {f.id: i for i, f in enumerate(epic.features)}
    planned = set(pinned)
    sprints: list[dict] = []
    warnings: list[str] = []
    while todo:
        points_left = capacity.total
        team_left = dict(capacity.per_team or {})
        chosen: list[FeatureDef] = []
        while True:
            candidates = sorted(
                (f for f in todo if all(d in planned for d in f.dependencies)),
                key=lambda f: (PRIORITY_RANK.get(f.priority, 2), -tail[f.id], position[f.id]),
            )
            # a sprint over its points (a feature too big for any) still takes features of no points
            fits = [f for f in candidates if f.estimate <= max(points_left, 0.0) + 1e-9
                    and (f.team not in team_left or f.estimate <= max(team_left[f.team], 0.0) + 1e-9)]
            if not fits and not chosen and candidates:
                fits = candidates[:1]  # too big for any sprint: alone, with a warning
                big, team_cap = fits[0], (capacity.per_team or {}).get(fits[0].team)
                limit = (f"its team's points per sprint ({big.team}: {team_cap:g} points in teams.yaml)"
                         if team_cap is not None and big.estimate > team_cap + 1e-9
                         and big.estimate <= capacity.total + 1e-9 else f"a sprint ({capacity.total:g} points)")
                warnings.append(f"{big.id} ({big.estimate:g} points) is bigger than {limit}; split it into "
                                "smaller features")
            if not fits:
                break
            feature = fits[0]
            chosen.append(feature)
            todo.remove(feature)
            planned.add(feature.id)
            points_left -= feature.estimate
            if feature.team in team_left:
                team_left[feature.team] -= feature.estimate
        teams: dict[str, float] = {}
        for feature in chosen:
            teams[feature.team or "unassigned"] = teams.get(feature.team or "unassigned", 0.0) + feature.estimate
        sprints.append({"number": len(sprints) + 1, "points": metrics.round_points(sum(f.estimate for f in chosen)),
                        "teams": {team: metrics.round_points(points) for team, points in teams.items()},
                        "features": [_feature_dict(f) for f in chosen]})
    return sprints, warnings


def _dates(epic: EpicDef, offset: int, sprints: list[dict], after: dt.date | None = None) -> None:
    """Give each planned sprint its calendar when the epic has a start date (after `offset` sprints), and
    never before `after` (the day after the epic's sprints in state end)."""
    first = dt.date.fromisoformat(epic.start) + dt.timedelta(days=epic.sprint_days * offset) if epic.start else None
    if after is not None:
        first = after if first is None else max(first, after)
    for sprint in sprints:
        sprint["id"] = f"{epic.id}-sprint-{offset + sprint['number']}"
        if first is not None:
            start = first + dt.timedelta(days=epic.sprint_days * (sprint["number"] - 1))
            sprint["start"] = start.isoformat()
            sprint["end"] = (start + dt.timedelta(days=epic.sprint_days - 1)).isoformat()


def _day_after(records: list[dict[str, Any]]) -> dt.date | None:
    """The day after the last of these sprints ends: its `end` (else 14 days from its start, or from the day
    it was started), or the day it closed when that came later; None when none of them has a calendar."""
    days = []
    for record in records:
        start, end, closed = (record.get("start") or (record.get("started_at") or "")[:10], record.get("end"),
                              (record.get("closed_at") or "")[:10])
        try:
            if end or start:
                days.append(dt.date.fromisoformat(end) if end
                            else dt.date.fromisoformat(start) + dt.timedelta(days=DEFAULT_SPRINT_DAYS - 1))
            if closed:
                days.append(dt.date.fromisoformat(closed))
        except (TypeError, ValueError):  # a date written into state by hand that is not one
            continue
    return max(days) + dt.timedelta(days=1) if days else None


def _capacity(tx, epic: EpicDef, org, option: float | None) -> SprintPoints:
    return sprint_points(option=option, epic_points=epic.sprint_points,
                         history=metrics.velocity(tx.items("sprints").values()), org=org,
                         teams=(f.team for f in epic.features))


def plan_view(tx, epic: EpicDef, org, *, points: float | None = None, skip: set[str] = frozenset(),
              earlier: set[str] = frozenset(), after: dt.date | None = None, left: dict[str, float] | None = None) -> dict:
    """The split of `epic` into sprints; the new ones are numbered and dated after the sprints features
    are pinned to and the `earlier` sprints of the epic (those in state), starting no earlier than `after`.
    `left`: the points still to do of features partly done, planned instead of their estimates."""
    capacity = _capacity(tx, epic, org, points)
    existing: dict[str, list[dict]] = {}
    for feature in epic.features:
        if feature.sprint:
            existing.setdefault(feature.sprint, []).append(_feature_dict(feature))
    todo = replace(epic, features=tuple(replace(f, estimate=left[f.id]) if f.id in (left or {}) else f
                                        for f in epic.features))
    sprints, warnings = split(todo, capacity, skip)
    _dates(epic, len(set(existing) | set(earlier)), sprints, after)
    graph = epic.graph()
    return {
        "epic": epic.id,
        "name": epic.name,
        "points": {"total": epic.points,
                   "in_existing_sprints": metrics.round_points(sum(f["estimate"] for fs in existing.values()
                                                                  for f in fs)),
                   "to_plan": metrics.round_points(sum(s["points"] for s in sprints))},
        "capacity": capacity.to_dict(),
        "existing": [{"sprint": sid, "points": metrics.round_points(sum(f["estimate"] for f in fs)), "features": fs}
                     for sid, fs in existing.items()],
        "sprints": sprints,
        "sprint_count": len(sprints),
        "critical_path": {"features": graph.critical_path(), "length": metrics.round_points(graph.length)},
        "warnings": warnings,
    }


def load_definition(ref: str | Path, root: Path | None = None) -> EpicDef:
    """The validated definition, with its features' teams checked against teams.yaml."""
    from .sprints import organization

    return load_epic(ref, root, organization(root))


def plan_epic(store, ref: str, root: Path | None = None, *, points: float | None = None) -> dict[str, Any]:
    """Split the epic `ref` (an id or a file) into sprints (read-only); see `split`."""
    from .sprints import organization

    epic = load_definition(ref, root)
    with store.snapshot() as tx:
        return plan_view(tx, epic, organization(root), points=points)


def register(store, ref: str, root: Path | None = None) -> dict[str, Any]:
    """`orchestra epic load`: validate the definition and record it in state (`epics.<id>`)."""
    epic = load_definition(ref, root)
    with store.transaction() as tx:
        current = tx.get(f"epics.{epic.id}", None) or {}
        record = {
            "name": epic.name, "goal": epic.goal, "project": epic.project, "start": epic.start,
            "sprint_days": epic.sprint_days, "sprint_points": epic.sprint_points,
            "definition": project_relative(epic.path, root), "points": epic.points,
            "features": [{**_feature_dict(f), "sprint": f.sprint} for f in epic.features],
            "sprints": sorted({f.sprint for f in epic.features if f.sprint} | set(current.get("sprints") or [])),
            "loaded_at": now_iso(),
        }
        if current:
            tx.update(f"epics.{epic.id}", record)
        else:
            tx.set(f"epics.{epic.id}", {**record, "status": "planning"})
        tx.append_event("epic_loaded", {"epic": epic.id, "features": len(epic.features), "points": epic.points})
        return tx.get(f"epics.{epic.id}")


def feature_progress(feature: FeatureDef, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """A feature's state from its tasks (tasks with `feature: <id>`)."""
    mine = [t for t in tasks if t.get("feature") == feature.id]
    total = sum(float(t.get("estimate", 1.0) or 0.0) for t in mine if t.get("status") != "cancelled")
    done = sum(float(t.get("estimate", 1.0) or 0.0) for t in mine if t.get("status") == "completed")
    statuses = {t.get("status", "queued") for t in mine}
    if statuses <= {"cancelled"}:  # no task, or only cancelled ones: its work is to be planned again
        state = "unplanned"
    elif statuses <= TERMINAL_TASK_STATUSES and "completed" in statuses:
        state = "complete"
    elif statuses - {"queued", "cancelled"}:
        state = "in_progress"
    elif any(t.get("sprint") for t in mine if t.get("status", "queued") == "queued"):
        state = "planned"
    else:  # its work was carried out of a closed sprint and no sprint holds it yet
        state = "unplanned"
    held_by = list(dict.fromkeys(t["sprint"] for t in mine if t.get("sprint")))  # the sprints its tasks are in now
    return {**_feature_dict(feature), "sprint": feature.sprint, "status": state, "tasks": [t["id"] for t in mine],
            "sprints": held_by,
            "task_points": metrics.round_points(total), "task_points_completed": metrics.round_points(done)}


def _unfinished_points(features: list[dict[str, Any]]) -> dict[str, float]:
    """The points of the unfinished tasks of each feature part of whose work is completed: what is left of it."""
    return {f["id"]: metrics.round_points(f["task_points"] - f["task_points_completed"]) for f in features
            if f["status"] != "complete" and f["task_points_completed"] > 0}


def in_open_sprints(feature: dict[str, Any], tasks: dict[str, dict[str, Any]], open_sprints: set[str]) -> bool:
    """Whether a sprint not yet complete holds all of a feature's unfinished work (it is being delivered,
    not left to plan); work carried out of a closed sprint and not yet listed again is left."""
    unfinished = [tasks[t] for t in feature["tasks"] if tasks[t].get("status") not in TERMINAL_TASK_STATUSES]
    return bool(unfinished) and all(t.get("sprint") in open_sprints for t in unfinished)


def epic_status(store, ref: str, root: Path | None = None, *, points: float | None = None) -> dict[str, Any]:
    """Progress of an epic: its features (from their tasks), its sprints, and a plan of what is left. A
    `points` that is no number of points is refused, not kept as the plan's error."""
    from .sprints import organization

    if points is not None:
        checked_points(points)

    with store.snapshot() as tx:
        record = tx.get(f"epics.{ref}", None) if is_id(ref) else None
        epic = load_definition((record or {}).get("definition") or ref, root)
        ids = {f.id for f in epic.features}
        # a task of another epic is not this one's, even when its feature has the same id
        tasks = [t for t in tx.items("tasks").values()
                 if t.get("epic") == epic.id or (not t.get("epic") and t.get("feature") in ids)]
        features = [feature_progress(f, tasks) for f in epic.features]
        complete = {f["id"] for f in features if f["status"] == "complete"}
        open_sprints = {sid for sid, s in tx.items("sprints").items() if s.get("status") != "complete"}
        by_id = {t["id"]: t for t in tasks}
        delivering = {f["id"] for f in features if in_open_sprints(f, by_id, open_sprints)}
        sprints = []
        records = sorted(tx.find("sprints", epic=epic.id), key=lambda s: (s.get("start") or "", s["id"]))
        for sprint in records:
            tally = recorded_points(tx, sprint)
            sprints.append({"sprint": sprint["id"], "status": sprint.get("status"), "points": tally["total"],
                            "completed_points": tally["completed"]})
        # `sprint:` pins a feature to a sprint only until that sprint starts: from then on its tasks say
        # whether the sprint delivers it (`delivering`); what it carried out or cancelled is planned again
        started = {sid for sid, s in tx.items("sprints").items() if s.get("status") not in ("planning", "ready")}
        unpinned = {f.sprint for f in epic.features if f.sprint in started}
        todo = replace(epic, features=tuple(replace(f, sprint=None) if f.sprint in started else f
                                            for f in epic.features))
        try:
            remaining = plan_view(tx, todo, organization(root), points=points, skip=complete | delivering,
                                  earlier={s["sprint"] for s in sprints} | unpinned, after=_day_after(records),
                                  left=_unfinished_points(features))
        except ValueError as exc:
            remaining = {"error": str(exc)}
    done_points = sum(f["estimate"] for f in features if f["status"] == "complete")
    overall = ("complete" if len(complete) == len(features)
               else "active" if any(s["status"] in ("active", "blocked", "review") for s in sprints) or complete
               else "planning")
    return {
        "epic": epic.id, "name": epic.name, "goal": epic.goal, "status": overall, "loaded": record is not None,
        "points": {"total": epic.points, "completed": metrics.round_points(done_points),
                   "remaining": metrics.round_points(epic.points - done_points)},
        "features": features, "sprints": sprints,
        "remaining_plan": remaining,
    }
