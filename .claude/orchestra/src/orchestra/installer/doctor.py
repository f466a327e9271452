"""`orchestra doctor`: is this repo's pack whole and wired? Each check says what it found and, when
something is wrong, what to run; nothing is written (a missing state store is reported, not created)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .. import agentfiles, paths, wiring
from ..store.errors import StateError
from . import gitignored, jsondoc, managed, manifest, nesting, orgchecks, safety, settings
from .check import Check
from .errors import InstallError
from .source import (
    BACKUP_DIR,
    LOCAL_SETTINGS,
    MCP_CONFIG,
    SERVER_NAME,
    SETTINGS,
    is_our_server,
    is_our_statusline,
)

CLAUDE_BIN_ENV = "ORCHESTRA_CLAUDE_BIN"


def run_checks(root: Path) -> list[Check]:
    found: list[Check] = []
    checks = (_uv, _manifest, _nesting, _settings, _wiring, _hooks_on, _scripts, _mcp, _mcp_names, _warm,
              orgchecks.check_teams, orgchecks.check_policy, orgchecks.check_agents, orgchecks.check_commands,
              orgchecks.check_claude_md, orgchecks.check_state, _claude_doctor)
    if not (root / ".claude").is_dir() or not (_pack_dir(root).is_dir() or _leftovers(root)):
        checks = (_uv, _manifest)  # nothing of ours (never installed, or uninstalled): the install check says so
        if os.environ.get(paths.STATE_URL_ENV):  # a store named outside the project is looked at all the same
            checks += (orgchecks.check_state,)
    if _plugin_root() is not None and not _pack_dir(root).is_dir():  # the plugin's CLI on a project without the pack
        checks = (_uv, _plugin, _nesting, _hooks_on, orgchecks.check_teams, orgchecks.check_policy,
                  orgchecks.check_agents, orgchecks.check_commands, orgchecks.check_state, _claude_doctor)
    for check in checks:
        try:
            found += check(root)
        except (InstallError, StateError, ValueError, OSError) as exc:
            name = check.__name__.strip("_").removeprefix("check_").replace("_", " ")
            found.append(Check(name, "fail", "; ".join(str(exc).splitlines())))  # one error per line
    return found


def _uv(root: Path) -> list[Check]:
    version = ".".join(map(str, safety.check_uv()))
    return [Check("uv", "ok", f"uv {version} on PATH")]


def _plugin_root() -> Path | None:
    """The plugin this CLI runs from, when it runs as the plugin's (`CLAUDE_PLUGIN_ROOT`, as the plugin's
    commands and hooks set it)."""
    from ..paths import PLUGIN_ENV

    return Path(os.environ[PLUGIN_ENV]) if os.environ.get(PLUGIN_ENV) else None


def _plugin(root: Path) -> list[Check]:
    """A project that uses the pack as a plugin: the plugin's hooks, MCP server, agents and commands run, and
    nothing of the pack is installed in it to check."""
    plugin = _plugin_root()
    if not (plugin / "hooks" / "hooks.json").is_file():
        return [Check("plugin", "fail", f"{plugin}: no hooks/hooks.json, so it is not the Orchestra plugin (set "
                                        "CLAUDE_PLUGIN_ROOT to the plugin's root, a clone of Orchestra)")]
    return [Check("plugin", "ok", f"the plugin at {plugin} brings the hooks, the MCP server, the agents and the "
                                  f"commands; no pack is installed in {root}")]


def _pack_dir(root: Path) -> Path:
    return root / ".claude" / "orchestra"


def _leftovers(root: Path) -> list[str]:
    """The files that still wire the pack in: its hooks or status line in the settings, its MCP server."""
    found = [name for name in (SETTINGS, LOCAL_SETTINGS) if wiring.wired_scripts(root / name)
             or is_our_statusline(settings.read_key(root / name, "statusLine"))]
    servers = settings.read_key(root / MCP_CONFIG, "mcpServers")
    if isinstance(servers, dict) and is_our_server(servers.get(SERVER_NAME)):
        found.append(MCP_CONFIG)
    return found


def _install_command(root: Path) -> str:
    return f"`orchestra install {shlex.quote(str(root))}` (from a clone of Orchestra: `uv run orchestra install ...`)"


def _manifest(root: Path) -> list[Check]:
    if not _pack_dir(root).is_dir():
        found = _leftovers(root)
        if not found:
            return [Check("install", "fail", f"Orchestra is not installed in {root} (no .claude/orchestra/); "
                                             f"run {_install_command(root)}")]
        leftovers = " and ".join([", ".join(found[:-1]), found[-1]] if len(found) > 1 else found)
        return [Check("install", "fail", f".claude/orchestra/ (the pack's hooks and code) is gone, but {leftovers} "
                                         f"still {'wire' if len(found) > 1 else 'wires'} it, so its hooks fail in "
                                         "every session; run "
                                         f"{_install_command(root)} to put the pack back, or `orchestra "
                                         f"uninstall {shlex.quote(str(root))}` to take its entries out")]
    recorded = manifest.read(root)
    if recorded is None:
        return [Check("install", "ok", "no install manifest: a copied or development .claude/ (nothing to compare)")]
    missing = [rel for rel in recorded.files if not (root / rel).is_file()]
    removed = agentfiles.removed_members(root, missing)  # members taken out of teams.yaml, files and all
    defined = agentfiles.defined_names(root / ".claude" / "agents") if missing else set()
    moved = {rel for rel in missing if rel.startswith(".claude/agents/") and Path(rel).stem in defined}
    missing = [rel for rel in missing if rel not in removed | moved]  # moved: the agent's file is elsewhere
    edited = [rel for rel, entry in recorded.files.items() if (root / rel).is_file()
              and manifest.sha256((root / rel).read_bytes()) != entry["sha256"] and entry.get("kind") != "config"]
    found = [Check("install", "ok", f"Orchestra {recorded.pack_version}: {len(recorded.files)} files recorded")]
    if missing:
        found.append(Check("install", "fail", f"pack files missing: {', '.join(missing[:5])}"
                                              f"{' ...' if len(missing) > 5 else ''}; put them back with "
                                              f"{_install_command(root)}"))
    if edited:
        found.append(Check("install", "warn", f"pack files you edited (upgrades keep them): {', '.join(edited[:5])}"))
    if tracked := gitignored.tracked(root):
        found.append(Check("install", "warn", gitignored.advice(tracked)))
    if left_out := gitignored.ignored(root, recorded.files):
        found.append(Check("install", "warn", gitignored.ignored_advice(left_out)))
    return found


def _nesting(root: Path) -> list[Check]:
    """Another copy of the pack that Claude Code meets from here: one above this project, or one wired into
    the user's own settings (run in every project: twice here, and failing where there is no pack)."""
    found = [Check("install", "warn", nesting.nested_advice(root, outer)) for outer in nesting.enclosing_installs(root)]
    if _pack_dir(root).is_dir() and (plugin := nesting.enabled_plugin(root)):
        found.append(Check("install", "ok", nesting.plugin_advice(*plugin)))
    user = settings.scopes(root)[-1]
    if wiring.wired_scripts(user):
        home = user.parent.parent  # where an install put them, when the config dir is a `.claude`
        how = f" (`orchestra uninstall {shlex.quote(str(home))}` if the pack was installed there)" if (
            user.parent.name == ".claude") else ""
        found.append(Check("install", "fail", f"{user}: your user settings wire the pack's hooks, so they run in every "
                                              "project: twice in this one, and in a project without the pack they "
                                              f"block every prompt; take them out{how}"))
    return found


def _read_settings(root: Path) -> dict[str, Any]:
    return jsondoc.read(root / SETTINGS, "fix it so Claude Code can read it").data


def _settings(root: Path) -> list[Check]:
    if not (root / SETTINGS).exists():
        return [Check("settings", "fail", f"{root / SETTINGS}: not found, so no hook of the pack runs; "
                                          f"{_rewire(root)}")]
    settings.validate(_read_settings(root), str(root / SETTINGS), hint="fix it so Claude Code can read it",
                      subject="not")
    return [Check("settings", "ok", f"{SETTINGS}: hooks and statusLine match Claude Code's schema")]


def _rewire(root: Path) -> str:
    if manifest.read(root) is not None:
        return "run `orchestra install .` to rewire"
    if not _pack_dir(root).is_dir():
        return f"run {_install_command(root)}"
    return (f"run {_install_command(root)} to rewire (it takes over a copied pack; in Orchestra's own "
            "checkout, `uv run python -m orchestra.wiring --write`)")


def _wiring(root: Path) -> list[Check]:
    if not (root / SETTINGS).exists() or not _pack_dir(root).is_dir():
        return []  # the settings check or the install check says so
    block = wiring.hooks_block(wiring.PROJECT_VAR, root / ".claude" / "orchestra" / "hooks")
    expected = _entries(wiring.without_project_server(block) if _foreign_server(root) else block)
    wired = {(event, matcher, json.dumps(handler, sort_keys=True))
             for event, matcher, handler in _handlers(_read_settings(root)) if wiring.is_ours(handler)}
    if expected != wired:
        names = sorted({_script(e) for e in expected ^ wired})
        return [Check("wiring", "fail", f"hook wiring differs from the hook scripts' declarations for "
                                        f"{', '.join(names)}; {_rewire(root)}")]
    return [Check("wiring", "ok", f"{len(expected)} hook handlers wired as the scripts declare")]


def _hooks_on(root: Path) -> list[Check]:
    """Claude Code runs no hook at all where the settings turn hooks off, and none of a settings file it
    rejects: wired or not, nothing is tracked and no guard runs."""
    found = []
    for off in settings.hooks_off(root, project_wired=_plugin_root() is None or _pack_dir(root).is_dir()):
        if off.managed:
            advice = managed.ADVICE
        elif off.value is True:
            advice = "remove it, or set it to false in .claude/settings.local.json"
        else:
            advice = "write true or false" + (" (false, or no key, to use the pack)" if off.stops_pack else "")
        found.append(Check("wiring", "fail" if off.stops_pack else "warn", f"{off.describe()}; {advice}"))
    return found


def _foreign_server(root: Path) -> bool:
    """Whether `.mcp.json` has an `orchestra` server of the user's own (the install then wires our MCP hook
    only onto the plugin's tools); a file that cannot be read is the `mcp` check's to report."""
    try:
        servers = jsondoc.read(root / MCP_CONFIG, "").data.get("mcpServers")
    except InstallError:
        return False
    return isinstance(servers, dict) and servers.get(SERVER_NAME) is not None and not is_our_server(
        servers[SERVER_NAME])


def _scripts(root: Path) -> list[Check]:
    data = _read_settings(root)
    broken = []
    for event, _, handler in _handlers(data):
        broken += [f"{event}: {path}" for path in _missing_paths(root, handler)]
    try:  # the project's own hooks kept out of git run as well; a file Claude Code cannot read runs none
        local = jsondoc.read(root / LOCAL_SETTINGS, "").data
    except InstallError:
        local = {}
    for event, _, handler in _handlers(local):
        broken += [f"{LOCAL_SETTINGS} {event}: {path}" for path in _missing_paths(root, handler)]
    status_line = data.get("statusLine")
    broken += [f"statusLine: {p}" for p in (_missing_paths(root, status_line) if isinstance(status_line, dict) else [])]
    if broken:
        return [Check("scripts", "fail", f"settings run files that do not exist: {'; '.join(broken)}")]
    backups = root / BACKUP_DIR  # copies kept for the user, never run
    unresolved = [problem for script in sorted((root / ".claude" / "orchestra").rglob("*"))
                  if script.is_file() and "__pycache__" not in script.parts and not script.is_relative_to(backups)
                  for problem in _source_problems(script)]
    if unresolved:
        return [Check("scripts", "fail", "; ".join(unresolved))]
    return [Check("scripts", "ok", "every script the settings run exists, and every uv script's package "
                                   "source resolves inside the project")]


def _source_problems(script: Path) -> list[str]:
    """A uv script's `[tool.uv.sources]` path entries that do not lead to a Python project."""
    try:
        head = script.read_text(encoding="utf-8")[:3000]
    except (OSError, UnicodeDecodeError):
        return []
    block = re.search(r"^# /// script\n(.*?)^# ///$", head, re.M | re.S)
    found = []
    for relative in re.findall(r'path\s*=\s*"([^"]+)"', block.group(1) if block else ""):
        project = (script.parent / relative).resolve()
        if not (project / "pyproject.toml").is_file():
            found.append(f"{script}: its package source {relative!r} resolves to {project}, which has no "
                         "pyproject.toml; reinstall the pack")
    return found


def _handlers(data: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    """(event, matcher, handler) for each hook handler of the settings `data` in Claude Code's shape; what
    is there in another shape (`hooks` a string, a handler that is no object) is the settings check's to name."""
    hooks = data.get("hooks")
    return [(event, group.get("matcher", ""), handler)
            for event, groups in (hooks.items() if isinstance(hooks, dict) else ())
            for group in _as_list(groups) if isinstance(group, dict)
            for handler in _as_list(group.get("hooks")) if isinstance(handler, dict)]


def _entries(block: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(event, group.get("matcher", ""), json.dumps(handler, sort_keys=True))
            for event, groups in block.items() for group in groups for handler in group.get("hooks", [])}


def _script(entry: tuple[str, str, str]) -> str:
    match = re.search(r"hooks/([\w.-]+\.py)", entry[2])
    return match.group(1) if match else entry[0]


def _missing_paths(root: Path, handler: dict[str, Any]) -> list[str]:
    """Paths under ${CLAUDE_PROJECT_DIR} / $CLAUDE_PROJECT_DIR a handler runs that are not there."""
    words = [str(handler.get("command", "")), *map(str, _as_list(handler.get("args")))]
    found = []
    for word in words:
        for match in re.finditer(r'\$\{?CLAUDE_PROJECT_DIR(?::-[^}]*)?\}?(/[^"\s]+)', word):
            path = root / match.group(1).lstrip("/")
            if not path.is_file():
                found.append(match.group(0))
    return found


def _mcp(root: Path) -> list[Check]:
    doc = jsondoc.read(root / MCP_CONFIG, "fix it so Claude Code can read it")
    server = doc.data.get("mcpServers", {}).get(SERVER_NAME) if isinstance(doc.data.get("mcpServers"), dict) else None
    if server is None:
        return [Check("mcp", "warn", f"{MCP_CONFIG} has no `{SERVER_NAME}` server; agents cannot reach the "
                                     f"mcp__orchestra__ tools; {_rewire(root)}")]
    if not is_our_server(server):
        return [Check("mcp", "warn", f"{MCP_CONFIG}: `{SERVER_NAME}` is a server of yours, not the pack's")]
    missing = _missing_paths(root, server)
    if missing:
        return [Check("mcp", "fail", f"{MCP_CONFIG}: `{SERVER_NAME}` runs {missing[0]}, which does not exist")]
    off = [path for path in settings.scopes(root)
           if SERVER_NAME in _as_list(settings.read_key(path, "disabledMcpjsonServers"))]
    if off:
        return [Check("mcp", "warn", f"{off[0]}: `disabledMcpjsonServers` lists `{SERVER_NAME}`, so Claude Code "
                                     "does not start the pack's server and agents cannot reach the "
                                     "mcp__orchestra__ tools; take it off that list")]
    blocked = managed.server_blocked(SERVER_NAME, server)
    if blocked:
        return [Check("mcp", "warn", f"{blocked}, and agents cannot reach the mcp__orchestra__ tools; "
                                     f"{managed.ADVICE}")]
    return [Check("mcp", "ok", f"{MCP_CONFIG}: `{SERVER_NAME}` server wired")]


def _mcp_names(root: Path) -> list[Check]:
    """Orchestra's server registered under a name the identity hook (pre_mcp.py) does not match, in .mcp.json or
    the user's ~/.claude.json (user and local scope): its tools carry no caller stamp."""
    user = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home()) / ".claude.json"
    found = []
    for path, scope in ((root / MCP_CONFIG, MCP_CONFIG), (user, f"{user} (user)"), (user, f"{user} (local)")):
        try:
            data = jsondoc.read(path, "").data
        except InstallError:
            continue  # .mcp.json is the `mcp` check's to report, ~/.claude.json Claude Code's
        holder = _project_entry(data, root) if scope.endswith("(local)") else data
        servers = holder.get("mcpServers") if isinstance(holder, dict) else None
        found += [f"`{name}` in {scope}" for name, entry in (servers.items() if isinstance(servers, dict) else ())
                  if name != SERVER_NAME and _runs_orchestra(entry)]
    if not found:
        return []
    return [Check("mcp", "warn", f"Orchestra's MCP server is registered as {', '.join(found)}: the identity hook "
                                 f"stamps who is calling only into the tools of `{SERVER_NAME}`, so the server "
                                 "refuses what these tools would write and the tool guard refuses a caller written "
                                 f"into them; rename it to `{SERVER_NAME}` or remove it")]


def _project_entry(data: dict[str, Any], root: Path) -> Any:
    projects = data.get("projects")
    if not isinstance(projects, dict):
        return None
    return projects.get(str(root.resolve()), projects.get(str(root)))


def _runs_orchestra(entry: Any) -> bool:
    """Does this server entry start Orchestra's MCP server (the pack's launcher, or `orchestra mcp`)?"""
    if is_our_server(entry):
        return True
    words = [str(w) for w in [entry.get("command"), *_as_list(entry.get("args"))]] if isinstance(entry, dict) else []
    names = [Path(w).name for w in words]
    return "orchestra-mcp" in names or any(names[i:i + 2] == ["orchestra", "mcp"] for i in range(len(names)))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _warm(root: Path) -> list[Check]:
    """Whether hooks of this installation run warm now (README, "Warm hooks"); never a failure."""
    import socket

    from ..warm import client

    if client.disabled():
        return [Check("warm hooks", "ok", f"off ({client.DISABLE_ENV}=0): every hook runs in its own process")]
    if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):
        return [Check("warm hooks", "ok", "this platform cannot fork: every hook runs in its own process")]
    directory = client.socket_dir()
    if os.path.lexists(directory) and not client.private(directory):
        return [Check("warm hooks", "warn", f"{directory} is not a directory private to you, so warm hooks stay "
                                            "off; remove it and the next MCP server makes it anew")]
    package = root / ".claude" / "orchestra" / "src" / "orchestra"
    if not package.is_dir():
        return [Check("warm hooks", "warn", f"{package} not found: no hook can run, warm or not")]
    path = client.socket_path(str(package))
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(path)
        except OSError:
            return [Check("warm hooks", "ok", "no warm server running: the next session's MCP server starts one")]
    return [Check("warm hooks", "ok", f"a warm server answers this installation's hooks ({path})")]


def _claude_doctor(root: Path) -> list[Check]:
    claude = os.environ.get(CLAUDE_BIN_ENV) or shutil.which("claude")
    if not claude:
        return [Check("claude doctor", "ok", "Claude Code CLI not found; skipped")]
    try:
        proc = subprocess.run([claude, "doctor"], cwd=root, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return [Check("claude doctor", "warn", f"could not run `{claude} doctor` ({exc})")]
    section = re.search(r"^Invalid settings\n((?:[- ].*\n?)*)", proc.stdout, re.M)
    invalid = [line[2:] for line in (section.group(1).splitlines() if section else []) if line.startswith("- ")]
    ours = [line for line in invalid if str(root) in line]
    if ours:
        return [Check("claude doctor", "fail", "; ".join(ours))]
    if invalid:
        return [Check("claude doctor", "warn", "settings outside this project: " + "; ".join(invalid))]
    return [Check("claude doctor", "ok", "Claude Code reports no invalid settings")]
