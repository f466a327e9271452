"""The pack's hook wiring, generated from the `# orchestra-hook:` lines at the top of each hook script.

One source feeds `.claude/settings.json`, the installer's settings fragment and the plugin's
hooks.json, so the three cannot drift apart. `python -m orchestra.wiring --write` regenerates
the project's settings.json hooks in place, keeping every other key.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from .paths import MCP_SERVER, PACK_DIR, PLUGIN_MCP_SERVER

HOOKS_DIR = PACK_DIR / "hooks"
PROJECT_VAR = "${CLAUDE_PROJECT_DIR}"
PLUGIN_VAR = "${CLAUDE_PLUGIN_ROOT}"
# The orchestra MCP tools as the hook matchers name them: from .mcp.json or from the plugin.
MCP_TOOLS = f"mcp__({MCP_SERVER}|{PLUGIN_MCP_SERVER})__"
PLUGIN_MCP_TOOLS = f"mcp__{PLUGIN_MCP_SERVER}__"
_MARK = re.compile(r"^# orchestra-hook: (\{.*\})\s*$", re.M)
_SCRIPT_PATH = re.compile(r"\.claude/orchestra/hooks/([\w.-]+\.py)")
_ALLOWED = {"event", "matcher", "timeout", "onFailure", "async", "if", "statusMessage"}


class WiringError(ValueError):
    pass


def declarations(hooks_dir: Path = HOOKS_DIR) -> list[tuple[str, dict[str, Any]]]:
    """(script file name, declaration) for every wired hook, in a stable order."""
    out = []
    for script in sorted(hooks_dir.glob("*.py")):
        head = script.read_text(encoding="utf-8")[:4000]
        for match in _MARK.finditer(head):
            try:
                decl = json.loads(match.group(1))
            except ValueError as exc:
                raise WiringError(f"{script.name}: bad orchestra-hook line ({exc})") from None
            unknown = set(decl) - _ALLOWED
            if unknown or "event" not in decl or not isinstance(decl.get("timeout", 1), int | float):
                raise WiringError(f"{script.name}: orchestra-hook needs 'event' and only {sorted(_ALLOWED)}")
            out.append((script.name, decl))
    return out


def timeout_of(script: Path, event: str) -> float | None:
    """How long Claude Code waits for `script` on `event` (seconds), as its wiring declares (the `timeout`
    settings.json gets); None for a file that declares no such hook."""
    try:
        head = script.read_text(encoding="utf-8")[:4000]
    except (OSError, ValueError):
        return None
    for match in _MARK.finditer(head):
        try:
            decl = json.loads(match.group(1))
        except ValueError:
            continue
        if isinstance(decl, dict) and decl.get("event") == event and isinstance(decl.get("timeout", 30), int | float):
            return float(decl.get("timeout", 30))
    return None


def hooks_block(root_var: str = PROJECT_VAR, hooks_dir: Path = HOOKS_DIR) -> dict[str, list[dict[str, Any]]]:
    """The `hooks` object for settings.json (or a plugin's hooks.json with PLUGIN_VAR)."""
    block: dict[str, list[dict[str, Any]]] = {}
    for script, decl in declarations(hooks_dir):
        handler: dict[str, Any] = {
            "type": "command",
            "command": "uv",
            "args": ["run", "--quiet", "--script", f"{root_var}/.claude/orchestra/hooks/{script}"],
            "timeout": decl.get("timeout", 30),
        }
        for key in ("if", "onFailure", "async", "statusMessage"):
            if key in decl:
                handler[key] = decl[key]
        groups = block.setdefault(decl["event"], [])
        matcher = decl.get("matcher")
        group = next((g for g in groups if g.get("matcher") == matcher), None)
        if group is None:
            group = {"matcher": matcher, "hooks": []} if matcher else {"hooks": []}
            groups.append(group)
        group["hooks"].append(handler)
    return block


def without_project_server(block: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """`block` for a project whose `orchestra` MCP server is the user's own, not ours: the identity hook
    then takes only the plugin's tools, and the tool guard takes the user's like any other server's."""
    return {event: [{**group, "matcher": group["matcher"].replace(MCP_TOOLS, PLUGIN_MCP_TOOLS)}
                    if "matcher" in group else group for group in groups]
            for event, groups in block.items()}


def is_ours(handler: Any) -> bool:
    """Recognise a handler this pack wired (any version), so merges and uninstalls can find it. Anything
    else a settings file holds there (a string, `args` that is not a list) is the user's."""
    if not isinstance(handler, dict):
        return False
    text = " ".join([str(handler.get("command", "")), *map(str, _listed(handler.get("args")))])
    return ".claude/orchestra/hooks/" in text


def project_runs(claude_dir: Path, script: str) -> bool:
    """Whether the project's own settings (`settings.json` or `settings.local.json` in `claude_dir`) wire
    the pack's hook `script` (`pre_tool.py`) and the project has that script: the pack installed there
    runs it on every event it is wired to."""
    if not (claude_dir / "orchestra" / "hooks" / script).is_file():
        return False
    return any(script in wired_scripts(claude_dir / name) for name in ("settings.json", "settings.local.json"))


def wired_scripts(settings_path: Path) -> set[str]:
    """File names of the pack's hook scripts a settings file wires; none when it turns hooks off, or holds a
    `disableAllHooks` that is not a boolean (Claude Code then rejects the whole file)."""
    try:
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(settings, dict) or settings.get("disableAllHooks", False) is not False:
        return set()
    hooks = settings.get("hooks")
    groups = [g for gs in hooks.values() if isinstance(gs, list) for g in gs] if isinstance(hooks, dict) else []
    handlers = [h for g in groups if isinstance(g, dict) and isinstance(g.get("hooks"), list)
                for h in g["hooks"] if isinstance(h, dict)]
    words = [w for h in handlers for w in [h.get("command"), *_listed(h.get("args"))]]
    return {m.group(1) for w in words if (m := _SCRIPT_PATH.search(str(w)))}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def write_project_settings(settings_path: Path) -> None:
    from . import atomic

    settings = json.loads(settings_path.read_text(encoding="utf-8")) if settings_path.exists() else {}
    settings["hooks"] = hooks_block()
    atomic.write_text(settings_path, json.dumps(settings, indent=2) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write_project_settings(PACK_DIR.parent / "settings.json")
    else:
        print(json.dumps({"hooks": hooks_block()}, indent=2))
