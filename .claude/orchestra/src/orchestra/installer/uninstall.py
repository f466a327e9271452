"""`orchestra uninstall`: remove exactly what the manifest lists, put back what install moved aside, and
return settings.json / .mcp.json byte for byte when nobody edited them since (else remove only our
entries). The state dir stays unless --purge: it holds the team's tasks, messages and audit log."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from . import jsondoc, leftworktrees, mcpconfig, settings
from .errors import InstallError
from .install import REPLACED, RESTORE
from .manifest import read, sha256
from .plan import Notice, Plan, Step
from .safety import check_inside, check_target
from .source import BACKUP_DIR, IGNORE, LOCAL_SETTINGS, MANIFEST, MCP_CONFIG, SERVER_NAME, SETTINGS

LOCAL_HINT = (f"fix {LOCAL_SETTINGS} (an object whose `hooks` maps events to lists) or take the pack's hooks out "
              "of it by hand, then run the uninstall again")


def plan_uninstall(target: Path, purge: bool = False) -> Plan:
    root = check_target(target, uninstall=True)
    old = read(root)
    if old is None and not (root / ".claude" / "orchestra").is_dir():
        return _unwire(root, purge)
    if old is None:
        raise InstallError(f"{root / MANIFEST}: not found, so nothing here was installed by `orchestra install`. "
                           "A copied .claude/ has no manifest: remove its files by hand")
    plan = Plan("uninstall", root, version=old.pack_version)
    moves: list[Step] = []
    for rel, recorded in sorted(old.files.items()):
        current = _current(root, rel)
        if current is None:
            continue
        if sha256(current) == recorded["sha256"]:
            plan.steps.append(Step("delete", rel, current, why="installed by the pack"))
        else:
            plan.notices.append(Notice("kept", rel, "you changed it since it was installed; kept as yours"))
    left: set[str] = set()
    for rel, backup in sorted(old.displaced.items()):
        freed = any(s.kind == "delete" and s.path == rel for s in plan.steps)
        if _current(root, backup) is None:
            plan.notices.append(Notice("left", rel, f"its backup {backup} is gone; nothing to put back"))
        elif _current(root, rel) is not None and not freed:
            left.add(backup)
            plan.notices.append(Notice("left", backup, f"not put back: {rel} holds a file that is not ours now"))
        else:
            moves.append(Step("move", backup, _current(root, backup), dest=rel, why="put back what install moved"))
            plan.notices.append(Notice("restored", rel, f"your file is back (from {backup})"))
    plan.steps += moves
    deleting = len(plan.steps)
    _config(plan, root, SETTINGS, old.settings, settings.UNINSTALL_HINT,
            lambda data, entry: settings.unmerge(data, entry.get("displaced_statusLine"), str(root / SETTINGS)))
    _config(plan, root, MCP_CONFIG, old.mcp, mcpconfig.UNINSTALL_HINT,
            lambda data, entry: mcpconfig.unmerge(data, entry.get("displaced"), str(root / MCP_CONFIG)))
    _local(plan, root)
    _restored(plan, SETTINGS, (old.settings or {}).get("displaced_statusLine"), lambda data: data.get("statusLine"),
              "your statusLine is back")
    _restored(plan, MCP_CONFIG, (old.mcp or {}).get("displaced"),
              lambda data: (data.get("mcpServers") or {}).get(SERVER_NAME), "your own `orchestra` MCP server is back")
    # Unwired first, files after: a run killed partway never leaves hooks (guards that block when their
    # script cannot start) wired to scripts it has already deleted.
    plan.steps = plan.steps[deleting:] + plan.steps[:deleting]
    for path in sorted((root / BACKUP_DIR).rglob("*")) if (root / BACKUP_DIR).is_dir() else []:
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel in left or any(s.path == rel for s in plan.steps):
            continue
        if rel.startswith(RESTORE + "/"):
            plan.steps.append(Step("delete", rel, path.read_bytes(), why="install's restore point, used"))
        elif rel.startswith(REPLACED + "/"):
            plan.notices.append(Notice("left", rel, "your edited copy of a pack file, replaced by --force"))
        else:  # a backup no manifest lists any more (an earlier install's); only its owner may delete it
            plan.notices.append(Notice("left", rel, "a backup of a file of yours from an earlier install; kept"))
    if any(n.kind == "left" and n.path.startswith(BACKUP_DIR + "/") for n in plan.notices):
        _keep_ignore(plan)
    plan.steps.append(Step("delete", MANIFEST, _current(root, MANIFEST), why="install manifest"))
    state = root / old.state_dir
    if purge and state.is_dir():
        for path in sorted(state.rglob("*"), reverse=True):
            if path.is_file() or path.is_symlink():
                plan.steps.append(Step("delete", path.relative_to(root).as_posix(), _bytes(path), why="--purge"))
            elif path.is_dir():
                plan.remove_dirs.append(path.relative_to(root).as_posix())
        plan.remove_dirs.append(old.state_dir)
    elif state.is_dir():
        plan.notices.append(Notice("kept", old.state_dir, "the team's state (tasks, messages, audit log); "
                                                          "--purge deletes it with the pack, or delete the folder "
                                                          "by hand later"))
    backup_dirs = [p.relative_to(root).as_posix() for p in (root / BACKUP_DIR).rglob("*") if p.is_dir()] if (
        root / BACKUP_DIR).is_dir() else []
    kept = set() if purge else {p.as_posix() for p in Path(old.state_dir).parents}
    plan.notices += leftworktrees.notices(root)
    plan.remove_dirs += sorted({*old.dirs, *backup_dirs} - kept, key=lambda d: (-d.count("/"), d))
    return plan


def _unwire(root: Path, purge: bool = False) -> Plan:
    """`.claude/orchestra/` deleted by hand, its manifest with it, while the settings or `.mcp.json` still
    run its scripts (every hook then fails): take our entries out. Their bytes before install were kept
    in that folder, so only our entries go; nothing else is known to be ours."""
    plan = Plan("uninstall", root)
    for rel, hint, unmerge in ((SETTINGS, settings.UNINSTALL_HINT, settings.unmerge),
                               (MCP_CONFIG, mcpconfig.UNINSTALL_HINT, mcpconfig.unmerge)):
        _unwire_file(plan, root, rel, hint, lambda data, entry, unmerge=unmerge, rel=rel: unmerge(data, None,
                                                                                                  str(root / rel)))
    _local(plan, root)
    if not plan.steps:
        state = root / ".claude" / "state"
        kept = (f"; the state it kept in {state} is no longer the pack's to delete: remove it by hand "
                f"(rm -rf {shlex.quote(str(state))}) if you no longer need it") if purge and state.is_dir() else ""
        raise InstallError(f"{root / MANIFEST}: not found, so nothing here was installed by `orchestra install`, "
                           f"and none of {SETTINGS}, {LOCAL_SETTINGS} and {MCP_CONFIG} wires the pack{kept}")
    plan.notices.append(Notice("left", ".claude", "the pack's folder .claude/orchestra/ was already gone, and "
                                                  "with it the list of what it installed: delete its agents, "
                                                  "commands and teams.yaml by hand if you do not want them"))
    return plan


def _local(plan: Plan, root: Path) -> None:
    """The pack's hooks a user wired in settings.local.json (kept out of the committed file): taken out, or
    after the uninstall every session runs guards whose scripts are gone, and they block. Install never
    writes that file, so there are no bytes to restore: only our entries go, in the file's own form."""
    _unwire_file(plan, root, LOCAL_SETTINGS, LOCAL_HINT,
                 lambda data, entry: settings.unmerge(data, None, str(root / LOCAL_SETTINGS)))


def _unwire_file(plan: Plan, root: Path, rel: str, hint: str, unmerge) -> None:
    """Our entries out of `rel`, which no install recorded."""
    try:
        _config(plan, root, rel, {"restore": None}, hint, unmerge)
    except InstallError:
        try:  # read where it is, also through a link out of the project (only a write there is refused)
            wires = b".claude/orchestra/" in (root / rel).read_bytes()
        except OSError:
            wires = False
        if wires:  # it may wire the pack: it must be fixed
            raise
        # a file of yours Claude Code cannot read either, naming nothing of the pack: not ours to judge


def _keep_ignore(plan: Plan) -> None:
    """Backups stay behind for their owner: so does the rule that keeps them out of git."""
    if any(s.path == IGNORE for s in plan.steps):
        plan.steps = [s for s in plan.steps if s.path != IGNORE]
        plan.notices.append(Notice("kept", IGNORE, f"keeps the backups left in {BACKUP_DIR}/ out of git; "
                                                   "delete both when you no longer need them"))


def _config(plan: Plan, root: Path, rel: str, entry: dict | None, hint: str, unmerge) -> None:
    if not entry:
        return
    doc = jsondoc.read(check_inside(root, rel), hint)
    if not doc.exists:
        return
    restore = entry.get("restore")
    if sha256(doc.raw) == entry.get("written_sha256"):
        if restore is None:
            plan.steps.append(Step("delete", rel, doc.raw, why="did not exist before install"))
            return
        original = _current(root, restore)
        if original is not None:
            if original != doc.raw:
                plan.steps.append(Step("write", rel, doc.raw, original, why="restored to its bytes before install"))
            return
    data = unmerge(doc.data, entry)
    if data != doc.data:
        plan.steps.append(Step("write", rel, doc.raw, jsondoc.dump(data, doc.style), why="our entries removed"))


def _restored(plan: Plan, rel: str, displaced, value_of, message: str) -> None:
    """Say so when the rewrite of `rel` puts back what install replaced in it (--statusline, --force)."""
    step = next((s for s in plan.steps if s.path == rel and s.kind == "write"), None)
    if displaced is None or step is None:
        return
    try:
        back = value_of(json.loads(step.after.decode("utf-8-sig"))) == displaced
    except (ValueError, AttributeError):  # bytes put back as they were, whatever they hold
        return
    if back:
        plan.notices.append(Notice("restored", rel, message))


def _current(root: Path, rel: str) -> bytes | None:
    try:
        return check_inside(root, rel).read_bytes()
    except FileNotFoundError:
        return None


def _bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
