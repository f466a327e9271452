"""Agent definition files and the frontmatter parsing slash commands share: the checks run by `orchestra teams
check` and `orchestra doctor` (Claude Code 2.1.328's rules, and agreement with teams.yaml)."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .agentvalues import AGENT_VALUES, YAML11_BOOLEANS, hooks_problems, value_problem

# Tool names a 2.1.328 agent's `tools` may list: the native Linux/macOS tool set (API request with
# ENABLE_TOOL_SEARCH=false), the legacy `Task` alias, the tools only a main thread or plan mode has,
# PowerShell (Windows) and the ones `--tools` can bring back (Grep, Glob).
CLAUDE_TOOLS = frozenset({
    "Agent", "Task", "Bash", "Read", "Edit", "Write", "NotebookEdit", "WebFetch", "WebSearch", "Skill",
    "TaskCreate", "TaskGet", "TaskList", "TaskUpdate", "TaskStop", "SendMessage", "ListAgents", "Monitor",
    "Workflow", "CronCreate", "CronDelete", "CronList", "ScheduleWakeup", "EnterWorktree", "ExitWorktree",
    "ToolSearch", "ReportFindings", "AskUserQuestion", "ExitPlanMode", "EnterPlanMode", "TodoWrite",
    "PowerShell", "Grep", "Glob",
})
SPAWN_TOOLS = frozenset({"Agent", "Task"})
ALL_TOOLS = "*"  # `tools: "*"` gives the agent every tool, as leaving `tools` out does
SERVER = paths.MCP_SERVER
MCP_PREFIX = f"mcp__{SERVER}__"
PROJECT_TOOL = re.compile(rf"mcp__{SERVER}(__\S+)?")  # a tool of the project's server, or the whole server
PLUGIN_MCP_PREFIX = f"mcp__{paths.PLUGIN_MCP_SERVER}__"  # the same tools when the server comes from the plugin
# The MCP server's tool contract (ARCHITECTURE.md §3); callers holding the live list pass it instead.
MCP_TOOLS = frozenset({
    "get_state", "list_tasks", "get_task", "update_task", "delegate_task", "send_message", "ask", "answer",
    "inbox", "ack", "handoff", "sprint_status", "plan_sprint", "assign_worktree", "release_worktree",
    "report_status",
})
# A reviewer records verdicts with update_task (or replies review_complete with send_message).
# Entries of `tools` granting every orchestra MCP tool: all tools, or the whole server by either name.
WHOLE_SERVER = frozenset({ALL_TOOLS} | {prefix + "*" for prefix in (MCP_PREFIX, PLUGIN_MCP_PREFIX)}
                         | {MCP_PREFIX[:-2], PLUGIN_MCP_PREFIX[:-2]})
VERDICT_TOOLS = WHOLE_SERVER | {prefix + tool for prefix in (MCP_PREFIX, PLUGIN_MCP_PREFIX)
                                for tool in ("update_task", "send_message")}
# Claude Code 2.1.328's model aliases (read in any case) and full ids, each with or without a 1M-context `[1m]`.
MODEL_ALIASES = frozenset({"sonnet", "opus", "haiku", "fable", "best", "sonnet[1m]", "opus[1m]", "fable[1m]",
                           "opusplan", "inherit"})
FULL_MODEL_ID = re.compile(r"^claude-[a-z0-9][a-z0-9.-]*(\[1[mM]\])?$")
AGENT_KEYS = frozenset({
    "name", "description", "tools", "disallowedTools", "model", "effort", "permissionMode", "mcpServers",
    "hooks", "maxTurns", "autoCompactWindow", "skills", "initialPrompt", "memory", "background",
    "omitClaudeMd", "isolation", "color", "observer", "observerMessage", "observeSubagents",
    "observeToolResults", "experimental",
})
AGENT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Abbreviations whose full stop ends no sentence: e.g., i.e., etc., vs., cf., U.S. (letters and dots), Dr. ...
ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|incl|approx|Dr|Mr|Mrs|Ms|St)\.(?=\s)|\b(?:[A-Za-z]\.){2,}(?=\s)")
# Every description is in the first request of every session: one sentence, and short.
DESCRIPTION_MAX = 160
# Claude Code's second try at frontmatter that is not YAML (`second_try`).
PLAIN_ENTRY = re.compile(r"([a-zA-Z_-]+):\s+(\S[^\r]*)")
YAML_INDICATOR = re.compile(r"[{}[\]*&#!|>%@`]|: ")
# Claude Code's frontmatter: a first line `---`, then everything up to the next `---`, wherever it stands.
OPENING = re.compile(r"---\s*\n")
FRONTMATTER = re.compile(r"---\s*\n(.*?)---\s*\n?", re.S)
# Claude Code's YAML (Bun's) takes a tab wherever a space may stand (after `key:` or before it, before a comment,
# in a flow list, inside a plain value), though not in the indentation that starts a line; PyYAML only a space.
INDENTED_LINE = re.compile(r"(?m)^([ \t]*)(\S.*)$")



class FrontmatterError(ValueError):
    """A definition file without frontmatter or with YAML Claude Code cannot parse; names file:line."""


@dataclass(frozen=True)
class Definition:
    """One markdown definition: its frontmatter mapping and the body below it."""

    path: Path
    meta: dict[str, Any]
    body: str
    lines: dict[str, int] = field(default_factory=dict)  # frontmatter key -> its line in the file
    body_line: int = 1  # the line of the file the body starts on
    repeated: dict[str, int] = field(default_factory=dict)  # a key written twice -> the line of its first
    plain: dict[str, str] = field(default_factory=dict)  # frontmatter key -> its value as written, when unquoted

    def at(self, key: str | None = None) -> str:
        """`file:line` of `key` (of the opening `---` when the key is absent), to prefix a problem with."""
        return f"{self.path}:{self.lines.get(key, 1) if key else 1}"


def read(path: Path, bare: bool = False) -> Definition:
    """The frontmatter and body of a definition file, split and parsed as Claude Code 2.1.328 does it. With
    `bare` (slash commands), a file without frontmatter is all body, as Claude Code loads such a command."""
    import yaml

    try:
        # Line ends kept as written: Claude Code's second parse leaves a line ending in CR alone.
        text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark is read as usual
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise FrontmatterError(f"{path}:{line}: not UTF-8 text (byte {exc.object[exc.start]:#04x}); save the file "
                               "as UTF-8") from None
    if not OPENING.match(text) and bare:
        return Definition(path, {}, re.sub(r"\r\n?", "\n", text))
    if not OPENING.match(text):
        raise FrontmatterError(f"{path}:1: no frontmatter (a first line `---`); Claude Code skips the file")
    block = FRONTMATTER.match(text)
    if block is None:
        raise FrontmatterError(f"{path}:1: frontmatter is not closed by a `---` line")
    first = text.count("\n", 0, block.start(1)) + 1  # the file's line the frontmatter starts on
    frontmatter = block.group(1)
    if frontmatter.rpartition("\n")[2].strip():
        cut = text.count("\n", 0, block.end(1)) + 1
        raise FrontmatterError(f"{path}:{cut}: `---` inside this line ends the frontmatter for Claude Code, which "
                               "drops the rest of the line and every key below it; write it without three dashes")
    frontmatter = INDENTED_LINE.sub(lambda line: line.group(1) + line.group(2).replace("\t", " "), frontmatter)
    try:
        meta = yaml.safe_load(frontmatter) or {}
    except yaml.YAMLError:
        try:
            frontmatter = second_try(frontmatter)
            meta = yaml.safe_load(frontmatter) or {}
        except yaml.YAMLError as exc:
            # An unclosed bracket or quote is detected lines later; its start (context_mark) is what to fix.
            mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
            line = mark.line + first if mark else 1
            crlf = (" (with CRLF line ends it does not retry with a plain value holding `: ` or `#` quoted: quote it, "
                    "or save the file with LF line ends)" if "\r" in frontmatter else "")
            raise FrontmatterError(f"{path}:{line}: frontmatter is not valid YAML ({getattr(exc, 'problem', exc)}); "
                                   f"Claude Code would drop every field but the file name{crlf}") from None
    if not isinstance(meta, dict):
        raise FrontmatterError(f"{path}:{first}: frontmatter must be a mapping of keys to values")
    node = yaml.compose(frontmatter)
    written = [(str(k.value), k.start_mark.line + first) for k, _ in node.value] if isinstance(node, yaml.MappingNode) \
        else []
    keys, repeated = dict(written), {}
    for key, line in reversed(written):
        if line != keys[key]:
            repeated[key] = line
    pairs = node.value if isinstance(node, yaml.MappingNode) else []
    plain = {str(k.value): v.value for k, v in pairs if isinstance(v, yaml.ScalarNode) and v.style is None}
    for key, value in pairs:  # the events under `hooks:`, each at its own line (`hooks.PreToolUse`)
        if key.value == "hooks" and isinstance(value, yaml.MappingNode):
            keys.update((f"hooks.{k.value}", k.start_mark.line + first) for k, _ in value.value)
    body = re.sub(r"\r\n?", "\n", text[block.end():])
    return Definition(path, meta, body, keys, text.count("\n", 0, block.end()) + 1, repeated, plain)


def readable(files: Iterable[Path], problems: list[str], bare: bool = False) -> Iterator[Definition]:
    """Each file read as a definition (see `read`); why one cannot be read (at its file and line) goes to `problems`."""
    for path in files:
        try:
            yield read(path, bare)
        except FrontmatterError as exc:
            problems.append(str(exc))


def second_try(frontmatter: str) -> str:
    """What Claude Code 2.1.328 parses when frontmatter is not valid YAML: every plain `key: value` line whose
    value holds a YAML indicator (`: `, `#`, `[`, `*`, ...) with the value double-quoted (a line ending in
    CR is left alone, as there), then leading tabs as two spaces each."""
    import yaml

    out = []
    for line in frontmatter.split("\n"):
        match = PLAIN_ENTRY.fullmatch(line)
        value = match.group(2) if match else ""
        if not match or value[0] in "\"'" and value.endswith(value[0]):
            out.append(line)
            continue
        if value.startswith("[") and value.endswith("]"):
            try:
                if isinstance(yaml.safe_load(value), list):
                    out.append(line)
                    continue
            except yaml.YAMLError:
                pass
        if YAML_INDICATOR.search(value):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            line = f'{match.group(1)}: "{escaped}"'
        out.append(line)
    return re.sub(r"(?m)^\t+", lambda tabs: "  " * len(tabs.group()), "\n".join(out))


def tool_names(value: Any) -> list[str]:
    """`tools` as Claude Code reads it: a comma/space string or a list; `Bash(git *)` -> `Bash`."""
    entries = re.findall(r"[^\s,(]+(?:\([^)]*\))?", value) if isinstance(value, str) else list(value or [])
    return [str(e).split("(", 1)[0].strip() for e in entries]


def tool_problems(tools: Any, mcp_tools: Iterable[str] = MCP_TOOLS) -> list[str]:
    """Names in an agent's `tools` that 2.1.328 or the orchestra MCP server does not provide."""
    if tools is None:
        return ["tools: empty, which Claude Code 2.1.328 takes as every tool (Agent too); list the tools the agent "
                "needs, or leave the key out"]
    if not isinstance(tools, str | list) or (isinstance(tools, list) and not all(isinstance(t, str) for t in tools)):
        return ["tools: must be a comma-separated string or a list of tool names"]
    exposed, out = set(mcp_tools), []
    for name in tool_names(tools):
        if prefix := next((p for p in (MCP_PREFIX, PLUGIN_MCP_PREFIX) if name.startswith(p)), None):
            tool = name[len(prefix):]
            if tool != "*" and tool not in exposed:
                out.append(f"tools: {name} is not a tool of the orchestra MCP server ({', '.join(sorted(exposed))})")
        elif name.startswith("mcp__") and name not in WHOLE_SERVER and (meant := misspelt_server(name, exposed)):
            out.append(f"tools: {name} misspells an orchestra MCP tool (Claude Code looks for a server "
                       f"{name[5:].partition('__')[0]!r} and the agent goes without it); write {meant}")
        elif not name.startswith("mcp__") and name not in CLAUDE_TOOLS and name != ALL_TOOLS:
            out.append(f"tools: {name!r} is not a Claude Code 2.1.328 tool")
    return out


def disallowed_problems(value: Any, mcp_tools: Iterable[str] = MCP_TOOLS) -> list[str]:
    """Names in an agent's `disallowedTools` that take nothing away: Claude Code matches them exactly, so a
    misspelt one leaves the agent the tool it was meant to lose."""
    if value is None:
        return []
    if not isinstance(value, str | list) or (isinstance(value, list) and not all(isinstance(t, str) for t in value)):
        return ["disallowedTools: must be a comma-separated string or a list of tool names"]
    out = []
    for name in tool_names(value):
        if name.startswith("mcp__") and name not in WHOLE_SERVER and (meant := misspelt_server(name, set(mcp_tools))):
            out.append(f"disallowedTools: {name} misspells an orchestra MCP tool (Claude Code looks for a server "
                       f"{name[5:].partition('__')[0]!r}, so it takes nothing away); write {meant}")
        elif not name.startswith("mcp__") and name not in CLAUDE_TOOLS and name != ALL_TOOLS:
            out.append(f"disallowedTools: {name!r} is not a Claude Code 2.1.328 tool, so it takes nothing away")
    return out


def misspelt_server(name: str, exposed: set[str]) -> str | None:
    """The orchestra tool (or whole server) an `mcp__` entry naming some other server was meant to be:
    the same letters with `_`, `-` or case written differently, or a server name like `orchestr`."""
    squashed = re.sub(r"[^a-z0-9]", "", name.lower())
    for prefix in (MCP_PREFIX, PLUGIN_MCP_PREFIX):
        for meant in [prefix[:-2], *(prefix + tool for tool in sorted(exposed))]:
            if re.sub(r"[^a-z0-9]", "", meant.lower()) == squashed:
                return meant
    server, _, tool = name[5:].partition("__")
    if tool not in exposed | {"", "*"} or not ("orchestr" in server.lower() or difflib.SequenceMatcher(
            None, server.lower(), SERVER).ratio() >= 0.8):
        return None
    prefix = PLUGIN_MCP_PREFIX if "plugin" in server.lower() else MCP_PREFIX
    return prefix + tool if tool else prefix[:-2]


def model_problem(model: Any) -> str | None:
    """Claude Code takes an alias in any case (`Opus`, `opus[1m]`), a full id as written."""
    if isinstance(model, str) and (model.strip().lower() in MODEL_ALIASES or FULL_MODEL_ID.match(model.strip())):
        return None
    return (f"model: {model!r} is not sonnet, opus, haiku, fable, best, opusplan, inherit (an alias may end in [1m]) or "
            "a full claude-... model id")


def description_problem(description: Any) -> str | None:
    if not isinstance(description, str) or not description.strip():
        return "description: missing; Claude Code skips an agent without one (it says when to delegate)"
    text = " ".join(description.split())
    if not re.fullmatch(r"[^.!?]+(?:[.!?](?!\s)[^.!?]*)*[.!?]", ABBREVIATION.sub(lambda m: m.group().replace(".", ""),
                                                                             text)):
        return "description: write exactly one sentence ending with a full stop"
    if len(text) > DESCRIPTION_MAX:
        return f"description: {len(text)} characters; keep it under {DESCRIPTION_MAX}, it is in every session's context"
    return None


def ungranted_tools(tools: Any, body: str) -> list[str]:
    """Orchestra MCP tools the agent's instructions call that its `tools` list does not grant (by either name)."""
    if not isinstance(tools, str | list):
        return []
    listed = set(tool_names(tools))
    if listed & WHOLE_SERVER:
        return []
    granted = {name.rpartition("__")[2] for name in listed if name.startswith((MCP_PREFIX, PLUGIN_MCP_PREFIX))}
    called = dict.fromkeys(re.findall(rf"(?:{MCP_PREFIX}|{PLUGIN_MCP_PREFIX})\w+", body))
    return [f"tools: the instructions call {tool}, which this list does not grant" for tool in called
            if tool.rpartition("__")[2] not in granted]


def unknown_key(key: str, known: Iterable[str], kind: str) -> str:
    """A frontmatter key Claude Code ignores, with the spelling it reads when only case, `-` or `_` differ."""
    spelled = {re.sub(r"[-_]", "", k).lower(): k for k in sorted(known)}
    meant = spelled.get(re.sub(r"[-_]", "", key).lower())
    return (f"{key}: not {kind} frontmatter key in Claude Code 2.1.328 (it is ignored)"
            + (f"; write {meant}" if meant else ""))


def repeated_keys(definition: Definition) -> list[str]:
    """Frontmatter keys written twice, at the last writing: Claude Code keeps its value and drops the others."""
    return [f"{definition.at(key)}: {key}: written again (first at line {first}); Claude Code keeps only this last "
            "value, so merge them into one" for key, first in definition.repeated.items()]


def builtin_clash(name: Any) -> str | None:
    """Why an agent may not be called `name`: Claude Code 2.1.328 has a built-in agent of that name."""
    from .lifecycle.config import BUILTIN_AGENT_TYPES

    if isinstance(name, str) and name in BUILTIN_AGENT_TYPES:
        return (f"name: {name!r} is one of Claude Code's built-in agents, which this file would replace in every "
                "session; rename it")
    return None


def agent_problems(definition: Definition, mcp_tools: Iterable[str] = MCP_TOOLS) -> list[str]:
    """Frontmatter problems of one agent file, each prefixed with the file and the line of its key."""
    meta, path = definition.meta, definition.path
    found: list[tuple[str, str]] = []
    name = meta.get("name")
    if "name" not in meta:
        found.append(("name", "name: missing; Claude Code takes an agent file without one for notes and skips it"))
    elif not isinstance(name, str) or not AGENT_NAME.match(name):
        found.append(("name", f"name: {name!r} must be lowercase letters, digits and hyphens"))
    elif name != path.stem:
        found.append(("name", f"name: {name!r} differs from the file name {path.stem!r}; rename one of them"))
    if (clash := builtin_clash(name)) is not None:
        found.append(("name", clash))
    found += [("description", p) for p in [description_problem(meta.get("description"))] if p]
    if "tools" in meta:
        found += [("tools", p) for p in tool_problems(meta["tools"], mcp_tools)]
        found += [("tools", p) for p in ungranted_tools(meta["tools"], definition.body)]
    if "disallowedTools" in meta:
        found += [("disallowedTools", p) for p in disallowed_problems(meta["disallowedTools"], mcp_tools)]
    if "model" in meta and (problem := model_problem(meta["model"])):
        found.append(("model", problem))
    # Claude Code's YAML (1.2) reads an unquoted yes, no, on or off as that word, where PyYAML (1.1) reads a boolean.
    read = {**meta, **{key: raw for key, raw in definition.plain.items() if raw.lower() in YAML11_BOOLEANS}}
    found += [(key, p) for key in AGENT_VALUES if key in read and (p := value_problem(key, read[key]))]
    hooks = hooks_problems(meta)
    found += hooks
    found += [(str(key), unknown_key(str(key), AGENT_KEYS, "an agent")) for key in meta if key not in AGENT_KEYS
              and str(key) not in dict(hooks)]
    return [f"{definition.at(key)}: {p}" for key, p in found] + repeated_keys(definition)


def markdown_files(folder: Path) -> list[Path]:
    """The `.md` files under `folder`, sorted; a folder named `*.md` is searched, not read as one."""
    return sorted(path for path in folder.rglob("*.md") if path.is_file()) if folder.is_dir() else []


def agent_files(root: Path | None = None) -> list[Path]:
    return markdown_files(paths.claude_dir(root) / "agents")


def agent_file_exists(root: Path, name: str) -> bool:
    """Whether a `<name>.md` lies where Claude Code finds agents: the project's, the user's or CLAUDE_CONFIG_DIR's."""
    homes = [root / ".claude" / "agents", Path.home() / ".claude" / "agents"]
    if os.environ.get("CLAUDE_CONFIG_DIR"):
        homes.append(Path(os.environ["CLAUDE_CONFIG_DIR"]) / "agents")
    return any(next(home.rglob(f"{name}.md"), None) for home in homes if home.is_dir())


def missing_agent_files(org: Any, names: Iterable[str], root: Path | None = None) -> str | None:
    """A warning naming the agents of `names` (of teams.yaml) Claude Code has no file for (project, user or
    plugin agents), e.g. a team pasted from templates/team.yaml without its agent files: a delegation to one
    fails. None when every one has its file."""
    root = root or paths.project_root()
    shipped = plugin_agent_names(root)
    missing = [f".claude/agents/{org.member(n).team}/{n}.md" for n in dict.fromkeys(names)
               if org.member(n) is not None and n not in shipped and not agent_file_exists(root, n)]
    if not missing:
        return None
    it, one, each = ("it", "it", "it") if len(missing) == 1 else ("them", "one", "each")
    return (f"no agent file for {', '.join(missing)}: Claude Code cannot start {it}, so delegating to {one} fails. "
            f"Create {each} from Orchestra's templates/agent.md (an orchestrator from a director's file, a reviewer "
            "from tech-lead's), then run `orchestra teams check`")


def session_agent_type(name: str, root: Path | None = None) -> str:
    """The `subagent_type` that starts agent `name`. When the pack runs as a plugin (CLAUDE_PLUGIN_ROOT),
    the agents it ships are `orchestra:<name>` (README, "Plugin"), unless the project defines its own
    agent of that name; otherwise, and for every agent the plugin does not ship, `name` itself."""
    from .teams import PLUGIN_PREFIX

    if not os.environ.get(paths.PLUGIN_ENV) or ":" in name:
        return name
    if name in defined_names(paths.claude_dir(root) / "agents"):
        return name
    return PLUGIN_PREFIX + name if name in defined_names(paths.PACK_DIR.parent / "agents") else name


def defined_names(folder: Path) -> set[str]:
    """The frontmatter names of the agent files under `folder`."""
    names = set()
    for path in markdown_files(folder):
        try:
            name = read(path).meta.get("name")
        except (FrontmatterError, OSError, UnicodeDecodeError):
            continue
        if isinstance(name, str):
            names.add(name)
    return names


def removed_members(root: Path, rels: Iterable[str]) -> set[str]:
    """Of the agent files `rels` (paths under .claude/agents/, named `<agent>.md`), those whose agent
    teams.yaml no longer lists: a member the user removed, file and all. Empty when teams.yaml cannot
    be read: then nothing says the member is gone."""
    from .teams import TeamsError, build, load_raw, teams_file

    agents = [rel for rel in rels if rel.startswith(".claude/agents/") and rel.endswith(".md")]
    if not agents:
        return set()
    try:
        org = build(load_raw(teams_file(root)))
    except TeamsError:
        return set()
    return {rel for rel in agents if org.member(Path(rel).stem) is None}


def check_agents(root: Path | None = None, mcp_tools: Iterable[str] = MCP_TOOLS) -> list[str]:
    """Agent files against 2.1.328's frontmatter rules and teams.yaml, both ways. [] when all agree."""
    from .lifecycle import config as lifecycle_config
    from .teams import TeamsError, build, load_raw, teams_file

    problems: list[str] = []
    try:
        org = build(load_raw(teams_file(root)))
    except TeamsError as exc:
        return str(exc).splitlines()  # one problem per error, each at its own file:line
    agents_dir = paths.claude_dir(root) / "agents"
    shipped = plugin_agent_names(root)
    plugin_only = bool(shipped) and not serves_orchestra(paths.claude_dir(root).parent)
    external = lifecycle_config.load(org).external_agent_types  # delegated to from outside the teams
    by_name: dict[str, Path] = {}
    for definition in readable(agent_files(root), problems):
        path = definition.path
        problems += agent_problems(definition, mcp_tools)
        name = definition.meta.get("name")
        if not isinstance(name, str):
            continue
        at = definition.at("name")
        if name in by_name:
            problems.append(f"{at}: agent {name!r} is also defined in {by_name[name]}; Claude Code loads only one")
            continue
        by_name[name] = path
        member = org.member(name)
        if member is None and name not in external:
            problems.append(f"{at}: agent {name!r} is not in teams.yaml; add it to a team or delete the file")
        if member is None:
            continue
        folder = path.parent.relative_to(agents_dir).parts
        if folder and folder[0] in org.teams and folder[0] != member.team:
            problems.append(f"{at}: teams.yaml puts {name!r} in team {member.team!r}; move the file to "
                            f"agents/{member.team}/")
        problems += [f"{definition.at('tools')}: tools: {p}" for p in role_tool_problems(definition, member.role,
                                                                                            plugin_only)]
        if member.role == "orchestrator" and SPAWN_TOOLS & set(tool_names(definition.meta.get("disallowedTools"))):
            problems.append(f"{definition.at('disallowedTools')}: disallowedTools: orchestrator {name!r} needs Agent "
                            "to delegate, and this list takes it away")
    named = {path: name for name, path in by_name.items()}
    for name, member in sorted(org.agents.items()):
        if name not in by_name and name not in shipped:
            expected = f".claude/agents/{member.team}/{name}.md"
            other = named.get(agents_dir / member.team / f"{name}.md")
            where = (f"{expected} names {other!r}" if other else f"{expected} cannot be read as one, see above"
                     if (agents_dir / member.team / f"{name}.md").is_file() else f"expected {expected}")
            problems.append(f"{_listed_at(root, org, member)}: {member.team} {member.role} {name!r} has no agent "
                            f"file ({where})")
    return problems


def role_tool_problems(definition: Definition, role: str, plugin_only: bool) -> list[str]:
    """What a member's `tools` lacks or names wrongly for its role in teams.yaml, and in a plugin-only project."""
    name, tools = definition.meta["name"], definition.meta.get("tools", "")
    listed = set(tool_names(tools)) if tools is not None else {ALL_TOOLS}  # `tools:` alone: every tool
    found = [f"{tool} names no tool in plugin form, where this project has no orchestra server of its own "
             f"(.mcp.json): write {PLUGIN_MCP_PREFIX[:-2]}{project.group(1) or ''}"
             for tool in sorted(listed) if plugin_only and (project := PROJECT_TOOL.fullmatch(tool))]
    spawns = SPAWN_TOOLS & listed
    if spawns and role != "orchestrator":
        found.append(f"only orchestrators may list Agent; {name!r} is a {role}")
    if "tools" in definition.meta and not spawns | (listed & {ALL_TOOLS}) and role == "orchestrator":
        found.append(f"orchestrator {name!r} needs Agent to delegate")
    if "tools" in definition.meta and role == "reviewer" and not listed & VERDICT_TOOLS:
        found.append(f"reviewer {name!r} needs {mcp_tool('update_task')} to record review verdicts")
    return found


def plugin_agent_names(root: Path | None = None) -> set[str]:
    """In plugin form (README, "Plugin"), the agents the plugin ships as `orchestra:<name>`: teams.yaml names
    them with no file in the project. Empty outside plugin form."""
    shipped = paths.PACK_DIR.parent / "agents"
    if not os.environ.get(paths.PLUGIN_ENV) or shipped.resolve() == (paths.claude_dir(root) / "agents").resolve():
        return set()
    return defined_names(shipped)


def serves_orchestra(project: Path) -> bool:
    """Whether the project's .mcp.json has a server named `orchestra` (the installed pack's)."""
    import json

    try:
        servers = json.loads((project / ".mcp.json").read_text(encoding="utf-8")).get("mcpServers")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(servers, dict) and SERVER in servers


def mcp_tool(name: str) -> str:
    """An orchestra MCP tool as an agent's `tools` names it: by its plugin name when the pack runs as a plugin
    (README, "Plugin")."""
    return (PLUGIN_MCP_PREFIX if os.environ.get(paths.PLUGIN_ENV) else MCP_PREFIX) + name


def _listed_at(root: Path | None, org: Any, member: Any) -> str:
    """`teams.yaml:line` where `member` is named (its team's `orchestrator` or its `members` entry)."""
    from .teams import teams_file
    from .yamlcheck import line_of

    team = org.teams[member.team]
    where = (["teams", team.name, "orchestrator"] if team.orchestrator == member.name
             else ["teams", team.name, "members", team.members.index(member.name), "name"])
    path = teams_file(root)
    return f"{path}:{line_of(path.read_text(encoding='utf-8'), where) or 1}"
