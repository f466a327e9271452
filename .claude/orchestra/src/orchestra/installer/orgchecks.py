"""`orchestra doctor`'s checks of the organisation and its state: teams.yaml, policy.yaml, the agent
files, and the state store (looked at only: a missing store is reported, not created)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .. import agentfiles, paths, teams
from ..store.errors import StateError
from . import manifest
from .check import Check


def check_teams(root: Path) -> list[Check]:
    raw = teams.load_raw(teams.teams_file(root))
    org = teams.build(raw)
    return [Check("teams", "ok", f"teams.yaml: {len(org.teams)} teams, {len(org.agents)} agents")]


def check_policy(root: Path) -> list[Check]:
    """The guards fail closed, so a policy.yaml they cannot read blocks every tool call: say so before a
    session does. Entries that change nothing (a typo in an agent name, a grant) are warnings."""
    from ..security import policy as policies
    from ..security import policycheck

    path = policies.policy_file(root)
    if not path.exists():
        return []
    raw = policies.load_raw(path)
    try:
        org = teams.build(teams.load_raw(teams.teams_file(root)))
    except teams.TeamsError:
        org = None  # the teams check reports it
    found = policycheck.warnings(root, path, raw, org) if org is not None else []
    if found:
        return [Check("policy", "warn", "; ".join(found[:5]) + _more(found))]
    return [Check("policy", "ok", f"{path.name}: valid; it narrows the roles of teams.yaml")]


def check_agents(root: Path) -> list[Check]:
    check_agents = getattr(teams, "check_agents", None)
    if check_agents is None:
        return []
    problems, yours = check_agents(root), _own_agents(root)
    theirs = [p for p in problems if any(p.startswith(f"{path}:") for path in yours)]
    problems = [p for p in problems if p not in theirs]
    in_teams = _in_teams(root, yours)  # yours, but put in a team: part of the organisation
    adopted = [p for p in theirs if any(p.startswith(f"{path}:") for path in in_teams)]
    theirs = [p for p in theirs if p not in adopted]
    found = [Check("agents", "fail", "; ".join(problems[:5]) + _more(problems)) if problems else
             Check("agents", "ok", "agent files agree with Claude Code's rules and teams.yaml")]
    if adopted:
        found.append(Check("agents", "warn", "your own agent files that teams.yaml lists: "
                                             + "; ".join(adopted[:5]) + _more(adopted)))
    if theirs:  # the organisation in teams.yaml is the pack's; an agent of the user's need not be in it
        found.append(Check("agents", "ok", "your own agent files (not the pack's) are yours to keep in line: "
                                           + "; ".join(theirs[:5]) + _more(theirs)))
    return found


def check_commands(root: Path) -> list[Check]:
    """Slash commands as `orchestra teams check` reads them: one whose `!` line `allowed-tools` does not approve
    aborts when it is run (a warning: nothing else depends on it)."""
    from .. import commandfiles

    problems, files = commandfiles.check_commands(root), commandfiles.command_files(root)
    if not files:
        return []
    if problems:
        return [Check("commands", "warn", "; ".join(problems[:5]) + _more(problems))]
    return [Check("commands", "ok", f"{len(files)} command files: every ! line is "
                                    "pre-approved")]


def _in_teams(root: Path, paths: list[Path]) -> list[Path]:
    """Of the agent files `paths`, those whose agent (file or frontmatter name) teams.yaml lists."""
    try:
        org = teams.build(teams.load_raw(teams.teams_file(root)))
    except teams.TeamsError:
        return []
    found = []
    for path in paths:
        try:
            name = agentfiles.read(path).meta.get("name")
        except (agentfiles.FrontmatterError, OSError, UnicodeDecodeError):
            name = None
        if org.member(path.stem) or (isinstance(name, str) and org.member(name)):
            found.append(path)
    return found


def _own_agents(root: Path) -> list[Path]:
    """Agent files the install did not put there; none when there is no manifest to tell (a copied pack)."""
    recorded = manifest.read(root)
    if recorded is None:
        return []
    return [path for path in agentfiles.agent_files(root) if path.relative_to(root).as_posix() not in recorded.files]


# The project's memory files Claude Code reads at its start, where the main thread learns how to work.
MEMORY_FILES = ("CLAUDE.md", ".claude/CLAUDE.md", "CLAUDE.local.md")


def check_claude_md(root: Path) -> list[Check]:
    """Install leaves CLAUDE.md alone and no hook briefs the main thread: the snippet of templates/CLAUDE.md in
    one of the project's memory files is what tells it to work through the teams."""
    if name := memory_file_about_orchestra(root):
        return [Check("claude.md", "ok", f"{name} tells the main thread about Orchestra")]
    return [Check("claude.md", "warn", "CLAUDE.md does not mention Orchestra, so the main thread is not told to work "
                                       "through the teams (/sprint:start, /task:delegate); append the snippet: "
                                       f"{append_snippet(root, paths.PACK_DIR.parents[1])}")]


def memory_file_about_orchestra(root: Path) -> str | None:
    """The first of the project's memory files that mentions Orchestra."""
    for name in MEMORY_FILES:
        try:
            if "orchestra" in (root / name).read_text(encoding="utf-8", errors="replace").lower():
                return name
        except OSError:
            continue
    return None


def append_snippet(root: Path, clone: Path) -> str:
    """The command that appends templates/CLAUDE.md (of the clone at `clone`, where it has one) to CLAUDE.md."""
    import shlex

    template = clone / "templates" / "CLAUDE.md"
    source = shlex.quote(str(template)) if template.is_file() else "templates/CLAUDE.md (of a clone of Orchestra)"
    return f"`cat {source} >> {shlex.quote(str(root / 'CLAUDE.md'))}`"


def _more(items: list[str]) -> str:
    return f" (and {len(items) - 5} more)" if len(items) > 5 else ""


def check_state(root: Path) -> list[Check]:
    url = paths.state_url(root)
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return _state_on_server(root, url)
    if scheme in ("sqlite", "json") and not Path(rest).exists():
        blocked = _unwritable(Path(rest))
        if blocked:
            return [Check("state", "warn", f"{url}: not created yet, and no session or command can create it: "
                                           f"{blocked}; make it writable, or name a store that can be with "
                                           "ORCHESTRA_STATE_URL")]
        return [Check("state", "warn", f"{url}: not created yet; the first session creates it "
                                       "(or run `orchestra init`)")]
    from ..store import open_store

    with tempfile.TemporaryDirectory(prefix="orchestra-doctor-") as scratch:
        copy = url
        if scheme in ("sqlite", "json"):
            # The stores move an unreadable file aside when they open it; doctor only looks, so it
            # reads a copy (with the SQLite write-ahead log, which holds the latest commits).
            source = Path(rest)
            for path in (source, *(source.with_name(source.name + s) for s in ("-wal",))):
                if path.exists():
                    shutil.copy2(path, Path(scratch) / path.name)
            copy = f"{scheme}://{Path(scratch) / source.name}"
        try:
            with open_store(copy) as store, store.snapshot() as tx:
                version, stray = tx.get("schema_version", None), _stray_work(root, tx)
        except StateError as exc:
            if scheme not in ("sqlite", "json"):  # a URL no store can be opened from: nothing is moved aside
                return [Check("state", "fail", str(exc).removeprefix("state URL "))]
            reason = str(exc).split("; moved aside", 1)[0].split(": ", 1)[-1]
            return [Check("state", "fail", f"{url}: {reason}; the next session will move it aside and start "
                                           "empty, so restore it from a backup or `orchestra state import` first")]
    blocked = _unwritable(Path(rest), written=True) if scheme in ("sqlite", "json") else ""
    if blocked:  # read-only: commands and guards read it; every hook that records fails, saying so
        return [Check("state", "warn", f"{url}: readable (schema_version {version}), but no session or command "
                                       f"can write it: {blocked}; make it writable, or name a store that can be "
                                       "with ORCHESTRA_STATE_URL"), *stray]
    return [Check("state", "ok", f"{url}: readable (schema_version {version})"), *stray]


def _unwritable(store: Path, written: bool = False) -> str:
    """Why the store file cannot be made or written where it is named (a read-only disk, a directory this user may not
    write), judged at the nearest directory that exists; "" when nothing says so. `written`: the file exists,
    and must be writable too."""
    from ..store.errors import disk_trouble

    folder = store.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return ""  # a file in the way: the store's own error names it
    trouble = disk_trouble(folder)
    if trouble:
        return f"{trouble} ({folder})"
    if not os.access(folder, os.W_OK):
        return f"its directory {folder} is not writable for this user"
    return f"the file is read-only for this user ({store})" if written and not os.access(store, os.W_OK) else ""


def _stray_work(root: Path, tx) -> list[Check]:
    """Open work in state under a team teams.yaml no longer has (renamed or removed), or assigned to a member it
    no longer has: a warning naming it."""
    from ..workflow.strayteams import stray_assignees, stray_messages, stray_work

    if not teams.teams_file(root).exists():
        return []
    try:
        org = teams.build(teams.load_raw(teams.teams_file(root)))
    except teams.TeamsError:
        return []  # the teams check reports it
    found = stray_work(tx, org.teams) + stray_assignees(tx, org) + stray_messages(tx, org)
    return [Check("teams", "warn", "; ".join(found[:5]) + _more(found))] if found else []


def _state_on_server(root: Path, url: str) -> list[Check]:
    """A PostgreSQL store, named without its password; looked at only (create=False: no tables made)."""
    from ..store import open_store
    from ..store.postgres import redacted

    shown = redacted(url)
    try:
        with open_store(url, create=False) as store, store.snapshot() as tx:
            version, stray = tx.get("schema_version", None), _stray_work(root, tx)
    except StateError as exc:
        reason = str(exc).removeprefix("state URL ").removeprefix(f"{shown}: ")
        if "no state store there" in reason:
            return [Check("state", "warn", f"{shown}: {reason}, or let the first session create it "
                                           "(or run `orchestra init`)")]
        if "of an earlier Orchestra" in reason:  # readable, and brought up to date by the next writer
            return [Check("state", "warn", f"{shown}: {reason}")]
        return [Check("state", "fail", f"{shown}: {reason}")]
    return [Check("state", "ok", f"{shown}: readable (schema_version {version})"), *stray]
