"""Sprint and epic definitions: find, parse and validate `.claude/sprints/*.yaml` and `.claude/epics/*.yaml`.

Validation is the JSON Schema (schemas/sprint.json, schemas/epic.json) plus what a schema cannot
say: duplicate ids, unknown dependency ids, cycles, teams unknown to teams.yaml, and assignees
that are not on their team.
Every error names file:line.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import paths
from ..store.document import long_id
from .graph import CycleError, DuplicateIdError, GraphError, Node, TaskGraph, UnknownDependencyError
from .metrics import round_points

SUFFIXES = (".yaml", ".yml")
MAX_POINTS = 1_000_000  # per task or feature: sums of any realistic plan stay exact and finite
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")  # as in schemas/sprint.json and epic.json


class DefinitionError(ValueError):
    """A sprint or epic file is missing or invalid; the message names file:line and what to change."""


@dataclass(frozen=True)
class TaskDef:
    id: str
    title: str
    type: str = "implementation"
    team: str | None = None
    assignee: str | None = None
    estimate: float = 1.0
    priority: str = "normal"
    dependencies: tuple[str, ...] = ()
    acceptance: dict[str, Any] = field(default_factory=dict)
    spec: str | None = None
    description: str | None = None
    feature: str | None = None
    worktree_strategy: str | None = None

    def node(self) -> Node:
        return Node(self.id, self.estimate, self.dependencies, self.priority, self.team, self.assignee)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dependencies"] = list(self.dependencies)
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True)
class SprintDef:
    id: str
    path: Path
    tasks: tuple[TaskDef, ...]
    name: str = ""
    goal: str = ""
    epic: str | None = None
    project: str | None = None
    start: str | None = None
    end: str | None = None
    capacity: dict[str, int] = field(default_factory=dict)

    @property
    def points(self) -> float:
        return round_points(sum(t.estimate for t in self.tasks))

    def graph(self, done: Sequence[str] = ()) -> TaskGraph:
        finished = set(done)
        return TaskGraph((t.node() for t in self.tasks if t.id not in finished), finished)


@dataclass(frozen=True)
class FeatureDef:
    id: str
    title: str
    estimate: float
    team: str | None = None
    priority: str = "normal"
    dependencies: tuple[str, ...] = ()
    description: str | None = None
    sprint: str | None = None

    def node(self) -> Node:
        return Node(self.id, self.estimate, self.dependencies, self.priority, self.team)


@dataclass(frozen=True)
class EpicDef:
    id: str
    path: Path
    features: tuple[FeatureDef, ...]
    name: str = ""
    goal: str = ""
    project: str | None = None
    start: str | None = None
    sprint_days: int = 14
    sprint_points: float | None = None

    @property
    def points(self) -> float:
        return round_points(sum(f.estimate for f in self.features))

    def graph(self) -> TaskGraph:
        return TaskGraph(f.node() for f in self.features)


def definitions_dir(kind: str, root: Path | None = None) -> Path:
    """`.claude/sprints` or `.claude/epics` of the project."""
    return paths.claude_dir(root) / f"{kind}s"


def project_relative(path: Path, root: Path | None = None) -> str:
    """`path` relative to the project root when inside it (what state records), else absolute."""
    base = (root or paths.project_root()).resolve()
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path.resolve())


def definition_files(kind: str, root: Path | None = None) -> list[Path]:
    folder = definitions_dir(kind, root)
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()) if folder.is_dir() else []


def find_definition(kind: str, ref: str, root: Path | None = None) -> Path:
    """The file for `ref`: a path, `.claude/<kind>s/<ref>.yaml`, or the file whose `id:` is `ref`."""
    candidate = Path(ref)
    if candidate.suffix in SUFFIXES:
        for path in ((root or paths.project_root()) / candidate, candidate):
            if _is_file(path):
                return path.resolve()
        if candidate.parent != Path("."):  # a path, not an id that ends in .yaml
            raise DefinitionError(f"{kind} file {ref}: no such file (in {root or paths.project_root()} or the "
                                  f"current folder); restore it, or load the {kind} from another file")
    folder = definitions_dir(kind, root)
    for suffix in SUFFIXES:
        if _is_file(folder / f"{ref}{suffix}"):
            return folder / f"{ref}{suffix}"
    for path in definition_files(kind, root):
        if _declared_id(path) == ref:
            return path
    if too_long := long_id(ref, kind):  # the store would refuse it: no file can name it
        raise DefinitionError(too_long)
    known = ", ".join(p.stem for p in definition_files(kind, root)) or "none"
    raise DefinitionError(f"{kind} {ref!r}: no such file in {folder} and no file declares `id: {ref}` "
                          f"(known: {known})")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a ref longer than a file name may be is no file
        return False


def declared_id(path: Path) -> str:
    """The sprint (or epic) id a definition file declares: its `id:`, else its name."""
    return _declared_id(path) or path.stem


def _declared_id(path: Path) -> str | None:
    """The `id:` of a definition without parsing the whole YAML (cheap scan of top-level lines)."""
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("id:"):
                return line[3:].split("#")[0].strip().strip("'\"") or None
    except OSError:
        return None
    return None


def check_unique_ids(definitions: Sequence[SprintDef | EpicDef], kind: str) -> None:
    """Refuse two files that declare the same sprint (or epic) id: loading both would keep only the last."""
    from ..yamlcheck import line_of

    first: dict[str, Path] = {}
    for definition in definitions:
        other = first.setdefault(definition.id, definition.path)
        if other != definition.path:
            line = line_of(definition.path.read_text(encoding="utf-8"), ["id"]) or 1
            raise DefinitionError(f"{definition.path}:{line}: {kind} id {definition.id} is also declared by {other}; "
                                  f"give each {kind} file its own id")


def load_sprint(ref: str | Path, root: Path | None = None, org=None) -> SprintDef:
    """Parse and validate one sprint definition. `org` (teams.Organization) enables assignee checks."""
    path = find_definition("sprint", str(ref), root)
    raw, text = _read(path, "sprint")
    _check_estimates(path, text, raw, "tasks")
    tasks = tuple(_task(t) for t in raw["tasks"])
    _check_graph(path, text, "tasks", [t.node() for t in tasks])
    if org is not None:
        _check_people(path, text, tasks, org)
        tasks = _teams_of_assignees(tasks, org)
        for team in raw.get("capacity") or {}:
            _check_team(path, text, ["capacity", team], "capacity", team, org)
    _check_features(path, text, tasks, raw.get("epic"), root)
    return SprintDef(
        id=_id(path, raw, "sprint"), path=path, tasks=tasks, name=raw.get("name", ""), goal=raw.get("goal", ""),
        epic=raw.get("epic"), project=raw.get("project"), start=raw.get("start"), end=raw.get("end"),
        capacity=dict(raw.get("capacity") or {}),
    )


def load_epic(ref: str | Path, root: Path | None = None, org=None) -> EpicDef:
    """Parse and validate one epic definition. `org` (teams.Organization) enables team checks."""
    path = find_definition("epic", str(ref), root)
    raw, text = _read(path, "epic")
    _check_estimates(path, text, raw, "features")
    features = tuple(
        FeatureDef(id=f["id"], title=f["title"], estimate=float(f["estimate"]), team=f.get("team"),
                   priority=f.get("priority", "normal"), dependencies=tuple(f.get("dependencies") or ()),
                   description=f.get("description"), sprint=f.get("sprint"))
        for f in raw["features"]
    )
    _check_graph(path, text, "features", [f.node() for f in features])
    if org is not None:
        for i, feature in enumerate(features):
            if feature.team:
                _check_team(path, text, ["features", i, "team"], feature.id, feature.team, org)
    return EpicDef(
        id=_id(path, raw, "epic"), path=path, features=features, name=raw.get("name", ""),
        goal=raw.get("goal", ""), project=raw.get("project"), start=raw.get("start"),
        sprint_days=int(raw.get("sprint_days", 14)), sprint_points=raw.get("sprint_points"),
    )


def _read(path: Path, kind: str) -> tuple[dict[str, Any], str]:
    from ..yamlcheck import read_mapping, validate_yaml

    raw, text = read_mapping(path, DefinitionError)
    raw = _plain(raw)
    validate_yaml(raw, text, path, kind, DefinitionError)
    if raw.get("start") and raw.get("end") and raw["end"] < raw["start"]:
        raise DefinitionError(f"{path}:{_line(text, ['end'])}: end {raw['end']} is before start {raw['start']}")
    return raw, text


def check_end(sprint: SprintDef, first_day: str) -> None:
    """A sprint without `start:` starts on the day it is started (`first_day`, YYYY-MM-DD): an `end:` before
    that day could never hold, so it is refused rather than moved to that day."""
    if sprint.end and not sprint.start and sprint.end < first_day:
        line = _line(sprint.path.read_text(encoding="utf-8"), ["end"])
        raise DefinitionError(f"{sprint.path}:{line}: end {sprint.end} is before {first_day}, the day sprint "
                              f"{sprint.id} starts (it has no `start:`, so it starts the day it is started); write "
                              f"a later `end:`, or a `start:` on or before it")


def _id(path: Path, raw: dict[str, Any], kind: str) -> str:
    """The file's `id:`, else its name; a name that is not an id would break state keys and task tags."""
    if "id" in raw:
        return raw["id"]
    if not ID.fullmatch(path.stem):
        raise DefinitionError(f"{path}:1: the file name makes {path.stem!r} the {kind} id, which is not an id "
                              f"(letters, digits, - and _, starting with a letter or digit, at most 100); "
                              f"add a line `id: {re.sub(r'[^A-Za-z0-9_-]+', '-', path.stem).strip('-_')[:100] or kind}` "
                              f"or rename the file")
    return path.stem


def _plain(value: Any) -> Any:
    """YAML turns `2026-12-01` into a date (and `2026-12-01T09:00:00Z` into a datetime); definitions keep ISO
    strings, as JSON does."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):  # a time of day too: kept whole, so a date field refuses it
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _check_estimates(path: Path, text: str, raw: dict[str, Any], key: str) -> None:
    """Story points are finite numbers: YAML's `.nan` and `.inf` pass the schema's `minimum: 0`, and
    estimates near the largest float add up to infinity."""
    for i, item in enumerate(raw[key]):
        estimate = item.get("estimate", 1.0)
        if not math.isfinite(estimate) or estimate > MAX_POINTS:
            raise DefinitionError(f"{path}:{_line(text, [key, i, 'estimate'])}: {item['id']}: estimate {estimate} "
                                  f"is not a number of points; write a finite number up to {MAX_POINTS:,}, such as 3")


def _task(raw: dict[str, Any]) -> TaskDef:
    return TaskDef(
        id=raw["id"], title=raw["title"], type=raw.get("type", "implementation"), team=raw.get("team"),
        assignee=raw.get("assignee"), estimate=float(raw.get("estimate", 1.0)),
        priority=raw.get("priority", "normal"), dependencies=tuple(raw.get("dependencies") or ()),
        acceptance=dict(raw.get("acceptance") or {}), spec=raw.get("spec"), description=raw.get("description"),
        feature=raw.get("feature"), worktree_strategy=raw.get("worktree_strategy"),
    )


def _line(text: str, parts: list[Any]) -> int:
    from ..yamlcheck import line_of

    return line_of(text, parts) or 1


def _check_graph(path: Path, text: str, key: str, nodes: list[Node]) -> None:
    """Duplicate ids, unknown dependencies and cycles, each reported at the line that causes it."""
    positions = {}
    for i, node in enumerate(nodes):
        if node.id in positions:
            first = _line(text, [key, positions[node.id], "id"])
            raise DefinitionError(f"{path}:{_line(text, [key, i, 'id'])}: duplicate id {node.id!r} "
                                  f"(first defined at line {first}); ids must be unique")
        positions[node.id] = i
    try:
        TaskGraph(nodes)
    except UnknownDependencyError as exc:
        task, dep = exc.ids
        i = positions[task]
        line = _line(text, [key, i, "dependencies", list(nodes[i].dependencies).index(dep)])
        raise DefinitionError(f"{path}:{line}: {task} depends on {dep!r}, which is not defined in this file; "
                              f"known ids: {', '.join(positions)}") from None
    except CycleError as exc:
        first, second = exc.ids[0], exc.ids[1]
        i = positions[second]
        line = _line(text, [key, i, "dependencies", list(nodes[i].dependencies).index(first)])
        raise DefinitionError(f"{path}:{line}: {exc}; remove one of these dependencies") from None
    except (DuplicateIdError, GraphError) as exc:  # pragma: no cover - duplicates are caught above
        raise DefinitionError(f"{path}: {exc}") from None


def _check_team(path: Path, text: str, where: list[Any], owner: str, team: str, org) -> None:
    """`team` (named by `owner` at `where` in the file) must be one teams.yaml defines, when it defines any."""
    if org.teams and team not in org.teams:
        raise DefinitionError(f"{path}:{_line(text, where)}: {owner}: unknown team {team!r}; teams.yaml defines "
                              f"{', '.join(sorted(org.teams))}")


def _teams_of_assignees(tasks: tuple[TaskDef, ...], org) -> tuple[TaskDef, ...]:
    """A task with an assignee and no `team` is the assignee's team's work: its waves, the delegation gate
    (which counts the member's team) and its team assignment say so."""
    def team_of(task: TaskDef) -> str | None:
        member = org.member(task.assignee) if task.assignee and not task.team else None
        return member.team if member else None

    return tuple(replace(task, team=team) if (team := team_of(task)) else task for task in tasks)


def _check_people(path: Path, text: str, tasks: Sequence[TaskDef], org) -> None:
    """A task's team must exist and its assignee must be on that team, when teams.yaml knows them."""
    for i, task in enumerate(tasks):
        if task.team:
            _check_team(path, text, ["tasks", i, "team"], task.id, task.team, org)
        member = org.member(task.assignee) if task.assignee else None
        if task.assignee and org.agents and member is None:
            raise DefinitionError(f"{path}:{_line(text, ['tasks', i, 'assignee'])}: {task.id}: unknown assignee "
                                  f"{task.assignee!r}; add it to teams.yaml or use one of "
                                  f"{', '.join(sorted(org.agents))}")
        if member and task.team and member.team != task.team:
            raise DefinitionError(f"{path}:{_line(text, ['tasks', i, 'assignee'])}: {task.id}: assignee "
                                  f"{task.assignee!r} is on team {member.team!r}, not {task.team!r}")


def _check_features(path: Path, text: str, tasks: Sequence[TaskDef], epic_id: str | None, root: Path | None) -> None:
    """A task's `feature` must be one its sprint's epic defines, when that epic has a file here: a mistyped one
    would never count towards the feature in `epic status`."""
    named = [(i, task) for i, task in enumerate(tasks) if task.feature]
    if not named or not epic_id:
        return
    try:
        epic = load_epic(epic_id, root)
    except DefinitionError:  # no file for it here, or a broken one: `epic load` says what is wrong with it
        return
    known = {f.id for f in epic.features}
    for i, task in named:
        if task.feature not in known:
            raise DefinitionError(f"{path}:{_line(text, ['tasks', i, 'feature'])}: {task.id}: feature "
                                  f"{task.feature!r} is not a feature of epic {epic_id} ({epic.path}); its "
                                  f"features: {', '.join(sorted(known))}")
