"""`orchestra install`: plan the pack into a repository without touching what is not ours.

Rules (pre-commit's, applied file by file): a path we would write that holds a user's file, or an
agent of theirs with the same name as ours, is kept and reported unless --force, which moves it to
the backup dir for uninstall to put back. A pack file the user edited since we wrote it is kept on
upgrade. An unchanged second install plans nothing at all.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import agentfiles, teams, wiring
from ..teams import TeamsError, build, load_raw
from . import gitignored, jsondoc, managed, mcpconfig, nesting, settings
from .errors import InstallError
from .manifest import Manifest, read, sha256
from .nextsteps import next_steps
from .plan import Notice, Plan, Step
from .safety import check_inside, check_target, check_uv
from .source import (
    BACKUP_DIR,
    CODE_DIR,
    IGNORE,
    MANIFEST,
    MCP_CONFIG,
    SETTINGS,
    SOURCE_ROOT,
    TEAMS,
    Pack,
    PackFile,
    load_pack,
    mcp_server_entry,
)

DISPLACED = f"{BACKUP_DIR}/displaced"  # user files moved aside by --force, put back by uninstall
REPLACED = f"{BACKUP_DIR}/replaced"  # the user's edits of pack files replaced by --force, left for them
RESTORE = f"{BACKUP_DIR}/restore"  # settings.json / .mcp.json as they are to be after uninstall


def plan_install(target: Path, source: Path = SOURCE_ROOT, force: bool = False,
                 statusline: bool = False) -> Plan:
    root = check_target(target)
    nesting.check_not_user_config(root)
    check_uv()
    old = read(root)
    own = root == Path(source).resolve()
    if own and old is None:
        raise InstallError(f"{root}: this is the checkout the pack is installed from; its .claude/ is the pack "
                           "itself (rewire it with `uv run python -m orchestra.wiring --write`; a repo the pack "
                           f"was copied into: install from a clone, `uv run orchestra install {root}` there)")
    # An installed repo's own `orchestra install .` (doctor's advice to rewire it): its pack files, edited or
    # not, stay as they are and as recorded; settings.json, .mcp.json and the state dir are wired again.
    pack = load_pack(source, files=not own)
    if own:  # what it recorded, whatever its pyproject.toml or settings.json (if any) say now
        pack = replace(pack, version=old.pack_version,
                       statusline=pack.statusline or (old.settings or {}).get("statusLine"))
    return _Planner(root, pack, old or Manifest(), force, rewire=own).plan(statusline)


class _Planner:
    def __init__(self, root: Path, pack: Pack, old: Manifest, force: bool, rewire: bool = False) -> None:
        self.root, self.pack, self.old, self.force, self.rewire = root, pack, old, force, rewire
        self.new = Manifest(pack.version, displaced=dict(old.displaced), state_dir=old.state_dir)
        self.result = Plan("install", root, version=pack.version)
        self.moves: list[Step] = []
        self.writes: list[Step] = []
        self.deletes: list[Step] = []
        self.created_dirs: set[str] = {d for d in old.dirs if (root / d).is_dir()}
        self.pack_only: dict[Path, bool] = {}  # folder -> whether it holds only the pack's files
        self.edited_code: list[str] = []  # files of the pack's code the user edited and this pack changes
        self.mixed: list[str] = []  # files of the pack's code held by files that are not this pack's
        self.copy = False  # --force over a copied pack of another version: all of it is moved aside

    def plan(self, statusline: bool) -> Plan:
        if self.rewire:
            self.new.files, self.new.not_installed = dict(self.old.files), list(self.old.not_installed)
            self._missing_in_place()
        else:
            self._pack_files()
        server = self._merge_server()  # first: whose `orchestra` server it is decides how the hooks are wired
        self._settings(statusline, project_server=not server[1].kept_foreign)
        self._mcp(*server)
        self._state_dir()
        if paths := gitignored.tracked(self.root):
            self._notice("left", CODE_DIR, gitignored.advice(paths))
        if left_out := gitignored.ignored(self.root, self.new.files):
            self._notice("left", CODE_DIR, gitignored.ignored_advice(left_out))
        for outer in nesting.enclosing_installs(self.root):
            self._notice("left", str(outer), nesting.nested_advice(self.root, outer))
        if plugin := nesting.enabled_plugin(self.root):
            self._notice("left", str(plugin[0]), nesting.plugin_advice(*plugin).removeprefix(f"{plugin[0]}: "))
        self.new.dirs = sorted(self.created_dirs)
        self.result.steps = self.moves + self.writes + self.deletes
        manifest, current = self.new.to_bytes(), self._current(MANIFEST)
        if current != manifest:  # last, so an interrupted install is redone, never half-recorded
            self.result.steps.append(Step("write", MANIFEST, current, manifest, 0o644, why="install manifest"))
        self.result.scripts = [rel for rel in self.pack.scripts() if rel in self.new.files]
        if not self.result.noop:
            self.result.next_steps = next_steps(self.root, self.pack.root)
        return self.result

    # -- pack files --------------------------------------------------------------------------------

    def _pack_files(self) -> None:
        # --force over a copied pack of another version (no manifest; code that differs from this pack's)
        self.copy = self.force and not self.old.files and any(
            _is_code(item.rel) and self._current(item.rel) not in (None, item.data)
            for item in self.pack.files)
        foreign_agents = self._foreign_agents()
        self.removed = agentfiles.removed_members(self.root, [rel for rel in self.old.files
                                                              if self._current(rel) is None])
        for item in self.pack.files:
            self._pack_file(item, foreign_agents)
        self._refuse_a_mix()
        self._unlisted_agents()
        self._dropped_files()

    def _pack_file(self, item: PackFile, foreign_agents: dict[str, str]) -> None:
        rel, current = item.rel, self._current(item.rel)
        recorded = self.old.files.get(rel)
        entry = {"sha256": sha256(item.data), "mode": item.mode, "kind": item.kind}
        if current is None and rel in self.removed:
            self.new.files[rel] = recorded  # still ours: re-created once teams.yaml lists the agent again
            return self._notice("kept", rel, "you deleted it and teams.yaml no longer lists the agent; "
                                             "not re-created")
        if current is None:
            name = _agent_name(self.pack.root / rel) if rel.startswith(".claude/agents/") else None
            clash = foreign_agents.get(name) if name else None
            if clash and clash != rel:
                if not self.force:
                    self.new.not_installed.append(rel)
                    return self._notice("kept", clash, f"your agent has the name of ours ({rel}); ours is not "
                                                       "installed. --force moves yours to the backup dir")
                self._displace(clash, f"agent with the same name as {rel}")
            self._write(rel, None, item.data, item.mode, "re-created" if recorded else "new pack file")
        elif recorded is not None and sha256(current) == recorded["sha256"]:
            if current != item.data or self._mode(rel) != item.mode:
                self._write(rel, current, item.data, item.mode, "upgraded")
        elif current == item.data:
            if recorded is None and self.copy:  # all of a copied pack goes aside, so uninstall puts it all back
                self._displace(rel, "a copied pack's file")
                self._write(rel, None, item.data, item.mode, "replaced (--force)")
            elif recorded is None:
                self._notice("adopted", rel, "already identical to the pack's file; now recorded as ours")
                self._track_dirs(rel)
        elif item.kind == "config":
            if recorded is None:
                self.new.not_installed.append(rel)
                return  # their own teams.yaml: the organisation is theirs to define
            entry = recorded  # edited: theirs now, still recognised as edited on the next upgrade
        elif recorded is not None:
            if not self.force:
                if _is_code(rel) and sha256(item.data) != recorded["sha256"]:
                    self.edited_code.append(rel)
                self._notice("kept", rel, "you changed this pack file since it was installed; kept. "
                                          "--force replaces it and keeps your version in the backup dir")
                entry = recorded
            else:
                self._move(rel, self._free(f"{REPLACED}/{rel}"), "your edited copy, replaced by --force")
                self._notice("backed-up", rel, f"your edited copy moved to {self.moves[-1].dest}")
                self._write(rel, None, item.data, item.mode, "replaced (--force)")
        else:
            if not self.force:
                self.new.not_installed.append(rel)
                if _is_code(rel):
                    self.mixed.append(rel)
                return self._notice("kept", rel, "a file of yours is where the pack has one; kept and not "
                                                 "installed. --force moves yours to the backup dir")
            self._displace(rel, "user file at a pack path")
            self._write(rel, None, item.data, item.mode, "replaced (--force)")
        self.new.files[rel] = entry

    def _missing_in_place(self) -> None:
        """The repo's own install (a rewire) puts no pack file back: each one that is gone is named with why,
        a member's agent file only while teams.yaml can tell it from a member the user took out."""
        gone = sorted(rel for rel in self.old.files if self._current(rel) is None)
        removed = agentfiles.removed_members(self.root, gone)
        try:
            build(load_raw(self.root / TEAMS))
            readable = True
        except TeamsError as exc:
            readable = False
            if TEAMS not in gone and any(rel.startswith(".claude/agents/") for rel in gone):
                self._notice("left", TEAMS, f"cannot be read: {str(exc).splitlines()[0]}")
        for rel in gone:
            if rel in removed:
                continue
            if rel == TEAMS:
                self._notice("left", rel, "missing; the organisation (its teams, their orchestrators and members) "
                                          f"comes from it: put yours back, or {teams.missing_advice(self.root / TEAMS)}")
            elif not readable and rel.startswith(".claude/agents/") and rel.endswith(".md"):
                self._notice("left", rel, "missing, or a member you took out of the organisation: teams.yaml "
                                          "cannot be read, so this install cannot tell which (once it reads, "
                                          "doctor names only the files of members it lists)")
            else:
                self._notice("left", rel, "missing; this repo's own install rewires it and no more (install from "
                                          "a clone of Orchestra to put it back)")

    def _refuse_a_mix(self) -> None:
        """Files of the pack's code that are not this pack's (a copied pack of another version, a pack whose
        manifest is gone; the user's edits of files this pack changes): installed beside them, the two
        versions would mix into code that does not run."""
        if self.edited_code and not self.mixed:
            raise InstallError(f"{self.root / CODE_DIR}: this pack changes files of its code that you edited "
                               f"({_listed(self.edited_code)}): kept beside the new version of the rest, your copies "
                               "would mix two versions into a pack that does not run (a guard hook that cannot start "
                               f"blocks every tool call). Install with --force (your copies move to {REPLACED}/), "
                               "or restore them first")
        if not self.mixed:
            return
        raise InstallError(f"{self.root / CODE_DIR}: holds another version of the pack ({_listed(self.mixed)} "
                           "differ from this pack's and no install manifest lists them); installed beside "
                           "it, the two versions would mix into a pack that does not run. Install with --force "
                           f"(your copies move to {DISPLACED}/), or remove {CODE_DIR}/ first")

    def _unlisted_agents(self) -> None:
        """Agents this install adds that the user's own teams.yaml (kept as it is) does not list: they fail
        `doctor` and the organisation's checks until the user adds them to a team or deletes them."""
        if any(step.path == TEAMS for step in self.writes):
            return  # teams.yaml is the pack's and written now: it lists every agent of the pack
        added = [step.path for step in self.writes if step.path.startswith(".claude/agents/") and step.before is None]
        unlisted = sorted(agentfiles.removed_members(self.root, added))
        if unlisted:
            names = ", ".join(Path(rel).stem for rel in unlisted)
            self._notice("kept", TEAMS, f"your teams.yaml does not list the pack's agents installed now ({names}): "
                                        "add them to a team (the pack's templates/teams.yaml has their entries), "
                                        "or delete their files (upgrades then leave them out)")

    def _dropped_files(self) -> None:
        """Files an older pack installed that this one no longer has."""
        shipped = {item.rel for item in self.pack.files}
        members = self._listed_members([rel for rel in self.old.files if rel not in shipped])
        for rel, recorded in sorted(self.old.files.items()):
            if rel in shipped:
                continue
            current = self._current(rel)
            if current is None:
                continue
            moved = self._moved_agent(rel)
            if rel in members and moved is None:  # deleted, a member of their organisation would have no agent
                self._notice("kept", rel, f"no longer in the pack, but your teams.yaml lists {Path(rel).stem}: kept "
                                          "as yours (delete it once you take the agent out of teams.yaml)")
            elif sha256(current) == recorded["sha256"]:
                self.deletes.append(Step("delete", rel, current, why="no longer in the pack"))
            elif moved is not None:
                self._notice("kept", rel, f"no longer in the pack, which now has {Path(moved).stem} at {moved}; you "
                                          "changed it, so it is kept, and the two define the same agent (Claude Code "
                                          f"loads only one): carry your changes over to {moved} and delete this file")
            else:
                self._notice("kept", rel, "no longer in the pack but you changed it; kept as yours")
        deleted = {step.path for step in self.deletes}
        for folder in sorted(self.created_dirs, key=lambda d: -d.count("/")):
            inside = [p.relative_to(self.root).as_posix() for p in (self.root / folder).rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts]
            written = any(step.path.startswith(folder + "/") for step in self.writes + self.moves)
            if any(rel.startswith(folder + "/") for rel in deleted) and set(inside) <= deleted and not written:
                self.result.remove_dirs.append(folder)
        self.created_dirs -= set(self.result.remove_dirs)

    def _moved_agent(self, rel: str) -> str | None:
        """Where this pack installs the agent the dropped file `rel` defines (the pack moved it to another
        folder), if it does: kept too, the two would define one agent twice."""
        if not (rel.startswith(".claude/agents/") and rel.endswith(".md")):
            return None
        name = _agent_name(self.root / rel)
        installed = (item.rel for item in self.pack.files if item.rel in self.new.files and item.rel != rel
                     and item.rel.startswith(".claude/agents/") and item.rel.endswith(".md"))
        return next((other for other in installed if _agent_name(self.pack.root / other) == name), None) if name else None

    def _listed_members(self, dropped: list[str]) -> set[str]:
        """Of the agent files a newer pack dropped, those whose agent the user's own teams.yaml (kept as it
        is, not the pack's written now) lists."""
        agents = [rel for rel in dropped if rel.startswith(".claude/agents/") and rel.endswith(".md")]
        if not agents or any(step.path == TEAMS for step in self.writes) or not (self.root / TEAMS).is_file():
            return set()
        return set(agents) - agentfiles.removed_members(self.root, agents)

    def _foreign_agents(self) -> dict[str, str]:
        """Agent name -> path for agent files that are not ours (a name clash shadows one of the two)."""
        found: dict[str, str] = {}
        agents = self.root / ".claude" / "agents"
        for path in sorted(agents.rglob("*.md")) if agents.is_dir() else []:
            rel = path.relative_to(self.root).as_posix()
            name = _agent_name(path) if rel not in self.old.files else None
            if name is not None:
                found.setdefault(name, rel)
        return found

    def _displace(self, rel: str, why: str) -> None:
        backup = self._free(f"{DISPLACED}/{rel}")
        self._move(rel, backup, why)
        self.new.displaced[rel] = backup
        self._notice("backed-up", rel, f"moved to {backup}; uninstall puts it back")

    # -- settings.json, .mcp.json, state --------------------------------------------------------------

    def _settings(self, replace_statusline: bool, project_server: bool) -> None:
        where = self.root / SETTINGS
        doc = jsondoc.read(check_inside(self.root, SETTINGS), settings.HINT)
        previous = self.old.settings or {}
        hooks = self.pack.hooks if project_server else wiring.without_project_server(self.pack.hooks)
        merged = settings.merge(doc.data, hooks, self.pack.statusline, replace_statusline,
                                previous.get("displaced_statusLine"), str(where))
        if merged.kept_statusline:
            self._notice("kept", SETTINGS, "your statusLine is kept; --statusline replaces it (yours is kept "
                                           "for uninstall to restore)")
        elif merged.displaced_statusline != previous.get("displaced_statusLine"):
            self._notice("backed-up", SETTINGS, "your statusLine is replaced by the pack's (--statusline); "
                                                "uninstall puts yours back")
        settings.validate(merged.settings, str(where))
        for off in settings.hooks_off(self.root):
            shown = off.path.relative_to(self.root).as_posix() if off.path.is_relative_to(self.root) else str(off.path)
            advice = "remove it to use the pack" if off.value is True else "write true or false"
            if off.managed:
                advice = managed.ADVICE
            self._notice("kept", shown, f"{off.describe().removeprefix(f'{off.path}: ')}; {advice}")
        after = self._config_file(doc, merged.settings, previous, settings.has_ours,
                                  lambda data: settings.unmerge(data, merged.displaced_statusline), "hooks merged")
        if after is None:
            return
        self.new.settings = {**after, "hooks": merged.owned, "statusLine": merged.statusline,
                             "displaced_statusLine": merged.displaced_statusline}

    def _merge_server(self) -> tuple[jsondoc.JsonDoc, mcpconfig.Merge]:
        doc = jsondoc.read(check_inside(self.root, MCP_CONFIG), mcpconfig.HINT)
        previous = self.old.mcp or {}
        return doc, mcpconfig.merge(doc.data, mcp_server_entry(), self.force, previous.get("displaced"),
                                    str(self.root / MCP_CONFIG))

    def _mcp(self, doc: jsondoc.JsonDoc, merged: mcpconfig.Merge) -> None:
        previous = self.old.mcp or {}
        if merged.kept_foreign:
            self._notice("kept", MCP_CONFIG, "your own `orchestra` MCP server is kept, and its tools get the "
                                             "ordinary tool guard; the pack's tools stay unavailable until you "
                                             "rename it or install with --force")
        elif merged.displaced != previous.get("displaced"):
            self._notice("backed-up", MCP_CONFIG, "your own `orchestra` MCP server is replaced by the pack's "
                                                  "(--force); uninstall puts yours back")
        after = self._config_file(doc, merged.config, previous, lambda data: mcpconfig.unmerge(data) != data,
                                  lambda data: mcpconfig.unmerge(data, merged.displaced), "orchestra server merged")
        if after is None:
            return
        self.new.mcp = {**after, "server": None if merged.kept_foreign else mcp_server_entry(),
                        "displaced": merged.displaced}

    def _config_file(self, doc: jsondoc.JsonDoc, data: dict[str, Any], previous: dict[str, Any], has_ours,
                     unmerge, why: str) -> dict[str, Any] | None:
        """Plan a user JSON file's new bytes and the bytes uninstall restores; their manifest fields."""
        rel = doc.path.relative_to(self.root).as_posix()
        after = doc.raw if data == doc.data and doc.exists else jsondoc.dump(data, doc.style)
        if not doc.exists and data == doc.data:
            return None
        if after != doc.raw:
            self._write(rel, doc.raw, after, None if doc.exists else 0o644, why)
        backup = f"{RESTORE}/{rel}"
        if doc.exists and previous.get("written_sha256") == sha256(doc.raw):
            restore = previous.get("restore")  # untouched since we wrote it: the old restore point holds
        elif not doc.exists:
            restore = None
        else:
            keep = self.copy or not has_ours(doc.data)  # a copied pack comes back whole, and its wiring with it
            original = doc.raw if keep else jsondoc.dump(unmerge(doc.data), doc.style)
            if self._current(backup) != original:
                self._write(backup, self._current(backup), original, 0o644, f"{rel} as uninstall restores it")
            restore = backup
        if restore is None and self._current(backup) is not None:
            self.deletes.append(Step("delete", backup, self._current(backup), why="stale restore point"))
        return {"written_sha256": sha256(after), "restore": restore}

    def _state_dir(self) -> None:
        state = self.new.state_dir
        check_inside(self.root, state, is_file=False)
        self._track_dirs(state)  # `.claude` itself, when the install creates it
        if not (self.root / state).is_dir():
            self.result.make_dirs.append((state, 0o700))
        ignore = f"{state}/.gitignore"
        if self._current(ignore) is None:
            self.writes.append(Step("write", ignore, None, b"*\n", 0o644, "state dir ignores itself"))

    # -- helpers ----------------------------------------------------------------------------------------

    def _current(self, rel: str) -> bytes | None:
        path = check_inside(self.root, rel)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InstallError(f"{path}: cannot read ({exc.strerror})") from None

    def _mode(self, rel: str) -> int:
        return 0o755 if (self.root / rel).stat().st_mode & 0o111 else 0o644

    def _write(self, rel: str, before: bytes | None, after: bytes, mode: int | None, why: str) -> None:
        check_inside(self.root, rel)
        self._track_dirs(rel)
        self.writes.append(Step("write", rel, before, after, mode, why=why))

    def _move(self, rel: str, dest: str, why: str) -> None:
        check_inside(self.root, dest)
        self._track_dirs(dest)
        self.moves.append(Step("move", rel, self._current(rel), dest=dest, why=why))

    def _free(self, rel: str) -> str:
        """`rel`, or `rel.1`, `rel.2`... whichever neither exists nor is planned (a backup is never overwritten)."""
        planned = {step.dest for step in self.moves}
        candidate, n = rel, 0
        while os.path.lexists(self.root / candidate) or candidate in planned:
            n += 1
            candidate = f"{rel}.{n}"
        return candidate

    def _track_dirs(self, rel: str) -> None:
        """Record the folders on the way to `rel` that the install makes, or that an install killed partway
        made (they hold nothing but the pack's files): uninstall removes them once they are empty."""
        folder = Path(rel).parent
        while folder != Path(".") and folder.as_posix() not in self.created_dirs:
            if (self.root / folder).is_dir() and (folder == Path(".claude") or self.copy  # a copy's: it comes back
                                                  or not self._pack_only(folder)):
                break
            self.created_dirs.add(folder.as_posix())
            folder = folder.parent

    def _pack_only(self, folder: Path) -> bool:
        """Whether `folder` holds only the pack's files, byte for byte (and temp files of a killed write)."""
        if folder not in self.pack_only:
            shipped = {item.rel: item.data for item in self.pack.files}
            self.pack_only[folder] = all(
                path.read_bytes() == shipped.get(path.relative_to(self.root).as_posix())
                or path.name.startswith(".") and path.name.endswith(".tmp")
                for path in (self.root / folder).rglob("*") if path.is_file() and "__pycache__" not in path.parts)
        return self.pack_only[folder]

    def _notice(self, kind, rel: str, message: str) -> None:
        self.result.notices.append(Notice(kind, rel, message))


def _is_code(rel: str) -> bool:
    """A file of the pack's code, which runs as one version or not at all (its .gitignore does not run, and
    an uninstall that left backups leaves it behind)."""
    return rel.startswith(CODE_DIR + "/") and rel != IGNORE


def _listed(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _agent_name(path: Path) -> str | None:
    try:
        name = agentfiles.read(path).meta.get("name")
    except (agentfiles.FrontmatterError, OSError, UnicodeDecodeError):
        return None
    return name if isinstance(name, str) else None

