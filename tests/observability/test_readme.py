"""README's "Dashboard", "Status line" and "Reports" sections match the commands and the settings."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from orchestra.cli import build_parser

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


PLACEHOLDERS = {"ID": "sprint-3", "DIR": "out", "TYPE": "task_completed"}


def commands(text: str) -> list[list[str]]:
    """The `uv run orchestra ...` lines of a section's shell blocks, optional parts ([...]) included,
    placeholders filled in."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if "uv run orchestra" in line:
                words = [w.rstrip(".").strip("[]") for w in shlex.split(line[line.index("uv run orchestra"):])[3:]]
                out.append([PLACEHOLDERS.get(w, w) for w in words if w])
    return out


@pytest.mark.parametrize("title", ["Dashboard", "Reports"])
def test_every_command_shown_parses(title: str) -> None:
    shown = commands(section(title))
    assert shown
    parser = build_parser()
    for argv in shown:
        args = parser.parse_args(argv)
        assert args.command == argv[0]


def test_the_status_line_block_is_what_settings_wire() -> None:
    block = re.search(r"```json\n(.*?)```", section("Status line"), re.S).group(1)
    shown = json.loads("{" + block + "}")["statusLine"]
    assert shown == json.loads((REPO / ".claude/settings.json").read_text())["statusLine"]


def test_every_metric_key_is_documented(sample, store) -> None:
    from orchestra.metrics import collect

    documented = {key.strip("`") for row in re.findall(r"^\| (`[^|]+) \|", section("Dashboard"), re.M)
                  for key in row.split(", ")}
    assert documented == set(collect(store, sample))
