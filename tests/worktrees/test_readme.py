"""README's "Worktrees" section matches the command, the config schema and the hook wiring."""

from __future__ import annotations

import json
import re

from orchestra.cli import build_parser
from orchestra.wiring import hooks_block

from tests.conftest import PACK, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def section() -> str:
    match = re.search(r"^## Worktrees\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, "README has no '## Worktrees' section"
    return match.group(1)


def table_commands() -> list[str]:
    return [cell.replace("\\|", "|") for cell in re.findall(r"^\| `(orchestra worktree [^`]+)` (?:/ `[^`]+` )?\|",
                                                            section(), re.M)]


def test_the_commands_table_lists_every_operation_and_each_parses() -> None:
    ops = build_parser()._subparsers._group_actions[0].choices["worktree"]._subparsers._group_actions[0].choices
    listed = table_commands()
    assert sorted({c.split()[2] for c in listed}) == sorted(ops)
    fill = {"ID": "t-1", "NAME": "task-t-1", "TASK": "t-1", "RUN": "a1", "SPRINT": "s1"}
    for command in listed:
        words = []
        for word in command.split()[1:]:
            word = word.strip("[]")
            if "|" in word:  # a choice list: take the first
                word = word.split("|")[0]
            words.append(fill.get(word, word))
        args = build_parser().parse_args(words)
        assert args.command == "worktree" and args.op == words[1], command


def test_the_config_example_uses_exactly_the_schema_keys() -> None:
    block = re.search(r"```yaml\n(.*?)```", section(), re.S).group(1)
    keys = {line.split(":", 1)[0] for line in block.splitlines() if line and not line.startswith(" ")}
    schema = json.loads((PACK / "schemas" / "worktrees.json").read_text())
    assert keys == set(schema["properties"])


def test_no_worktree_create_hook_is_wired_as_the_section_says() -> None:
    text = section()
    assert "no WorktreeCreate hook" in text
    wired = hooks_block()
    assert "WorktreeCreate" not in wired and "WorktreeRemove" in wired
    matchers = {g.get("matcher") for g in wired["PostToolUse"]
                if any("worktree_native.py" in " ".join(h["args"]) for h in g["hooks"])}
    assert matchers == {"EnterWorktree|ExitWorktree|Agent|Task"}
