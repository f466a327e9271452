"""Slash-command definition files: the checks `orchestra teams check` runs on them (Claude Code 2.1.328's
frontmatter keys, `!` commands their `allowed-tools` must approve, programs they run in plugin form)."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import paths
from .agentfiles import Definition, markdown_files, readable, repeated_keys, unknown_key

# Slash command (skill) frontmatter keys 2.1.328 reads; the rest, `disable_model_invocation` too, it ignores.
COMMAND_KEYS = frozenset({
    "name", "description", "when_to_use", "argument-hint", "arguments", "disable-model-invocation",
    "user-invocable", "allowed-tools", "disallowed-tools", "disallowedTools", "model", "effort", "context", "agent",
    "background", "fallback", "hooks", "paths", "shell", "version", "metadata", "license", "compatibility",
})
BANG_LINE = re.compile(r"(?:^|(?<=\s))!`([^`]+)`", re.M)
BANG_BLOCK = re.compile(r"^```!\n(.*?)^```", re.M | re.S)


def command_files(root: Path | None = None) -> list[Path]:
    return markdown_files(paths.claude_dir(root) / "commands")


def bang_commands(body: str) -> list[str]:
    """Shell commands a command body runs before the prompt is sent (`` !`cmd` `` and ```! blocks)."""
    return [command for _, command in bang_lines(body)]


def bang_lines(body: str) -> list[tuple[int, str]]:
    """`bang_commands` with the 0-based line of the body each stands on."""
    found = [(body.count("\n", 0, m.start(1)), m.group(1).strip()) for m in BANG_LINE.finditer(body)]
    for block in BANG_BLOCK.finditer(body):
        first = body.count("\n", 0, block.start(1))
        found += [(first + i, line.strip()) for i, line in enumerate(block.group(1).splitlines()) if line.strip()]
    return found


def bash_rules(allowed_tools: Any) -> list[str]:
    entries = re.findall(r"[^\s,(]+(?:\([^)]*\))?", allowed_tools) if isinstance(allowed_tools, str) else (
        list(allowed_tools or []))
    return [e[5:-1] for e in map(str, entries) if e.startswith("Bash(") and e.endswith(")")]


def bash_allowed(command: str, rules: Iterable[str]) -> bool:
    """Whether a `Bash(rule)` approves `command`: `prefix:*` and `prefix *` match the prefix and any
    arguments, other globs match the whole command, anything else must be equal. Compound commands
    (`;`, `&&`, `|`) are never counted as approved here: keep one command per `!` line."""
    if re.search(r"[;&|`]|\$\(", command):
        return False
    for rule in rules:
        prefix = rule[:-2] if rule.endswith(":*") else rule[:-2] if rule.endswith(" *") else None
        if prefix is not None and (command == prefix or command.startswith(prefix + " ")):
            return True
        if prefix is None and ("*" in rule and fnmatch.fnmatchcase(command, rule) or command == rule):
            return True
    return False


def command_problems(definition: Definition) -> list[str]:
    """Frontmatter problems of one slash command, and `!` commands its `allowed-tools` does not approve;
    each prefixed with the file and the line of its key or `!` command."""
    meta, found, at = definition.meta, [], definition.at
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        found.append(f"{at('description')}: description: missing; it is what `/` shows next to the command")
    if not isinstance(meta.get("argument-hint", ""), str):
        found.append(f"{at('argument-hint')}: argument-hint: must be a string; quote it (a hint starting with `[` "
                     "is read as a YAML list)")
    names = meta.get("arguments", "")
    if not isinstance(names, str) and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        found.append(f"{at('arguments')}: arguments: must be a list of names or a string of them; Claude Code takes no "
                     "names from any other form, so each $<name> in the command stays as written")
    allowed = meta.get("allowed-tools", "")
    if not isinstance(allowed, str | list):
        found.append(f"{at('allowed-tools')}: allowed-tools: must be a string or a list of tool rules")
        allowed = ""
    found += [f"{at(key)}: {unknown_key(key, COMMAND_KEYS, 'a command')}" for key in map(str, meta)
              if key not in COMMAND_KEYS]
    found += repeated_keys(definition)
    rules = bash_rules(allowed)
    found += [f"{definition.path}:{definition.body_line + line}: !`{cmd}` is not pre-approved by allowed-tools "
              "(a Bash(...) rule); it would abort the command"
              for line, cmd in bang_lines(definition.body) if not bash_allowed(cmd, rules)]
    return found


def check_commands(root: Path | None = None) -> list[str]:
    problems: list[str] = []
    for definition in readable(command_files(root), problems, bare=True):  # a command may be a prompt alone
        problems += command_problems(definition)
        if os.environ.get(paths.PLUGIN_ENV):
            problems += missing_programs(definition, paths.claude_dir(root).parent)
    return problems


def missing_programs(definition: Definition, project: Path) -> list[str]:
    """In plugin form, `!` commands running a program by a path relative to the project (where Claude Code runs
    them) that is not there: `.claude/orchestra/bin/orchestra` (templates/command.md) in a plugin-only project."""
    found = []
    for line, command in bang_lines(definition.body):
        program = command.split(maxsplit=1)[0].strip("\"'") if command.split() else ""
        if "/" in program and not program.startswith(("/", "~", "$")) and not (project / program).exists():
            found.append(f"{definition.path}:{definition.body_line + line}: !`{command}` runs {program}, which this "
                         f"project does not have, so the command would abort; with Orchestra as a plugin, run "
                         f"{paths.PACK_DIR / 'bin' / 'orchestra'}")
    return found
