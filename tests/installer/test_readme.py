"""README's Install and Plugin sections describe the commands that exist, with the flags they take."""

from __future__ import annotations

import re

from orchestra.cli import build_parser

from tests.installer.conftest import REPO


def section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(rf"^## {title}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def test_readme_install_commands_and_flags_exist() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices
    mentioned = re.findall(r"orchestra ((?:plugin )?[a-z]+)((?: [A-Z\[\]./-][^`\n#]*)?)",
                           section("Install") + section("Plugin"))
    assert {name for name, _ in mentioned} >= {"install", "uninstall", "doctor", "plugin build"}
    for name, rest in mentioned:
        if name not in commands and not name.startswith("plugin"):
            continue  # prose such as "orchestra server"
        parser = commands["plugin"]._subparsers._group_actions[0].choices["build"] if name == "plugin build" \
            else commands[name]
        for flag in re.findall(r"--[a-z-]+", rest):
            assert flag in parser._option_string_actions, f"README: `orchestra {name}` has no {flag}"
