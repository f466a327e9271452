"""The sixteen slash commands: names by folder, frontmatter, 0-based arguments, and `!` context lines that
call only the orchestra CLI and are pre-approved, exactly, by `allowed-tools`."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from orchestra import agentfiles, commandfiles

from .conftest import COMMAND_NAMES, REPO, command_name, command_paths, split_frontmatter

BIN = ".claude/orchestra/bin/orchestra"
# ARCHITECTURE.md §3 CLI spelling, plus `teams` (this package's own command).
CLI = {
    "init": None, "install": None, "uninstall": None, "doctor": None, "metrics": None, "report": None,
    "dashboard": None, "mcp": None, "demo": None, "teams": {"check"}, "agents": None,
    "state": {"get", "set", "export", "import"}, "sprint": {"load", "plan", "start", "status", "close"},
    "epic": {"load", "plan", "status"}, "task": {"list", "show", "delegate", "set-status"},
    "msg": {"send", "inbox", "ack", "ask", "answer", "handoff"},
    "worktree": {"create", "list", "assign", "release", "remove", "prune"}, "events": {"tail"},
    "audit": {"verify", "tail"},
}
ARG = re.compile(r"\$(\d+)|\$ARGUMENTS\[(\d+)\]")


def bangs(path: Path) -> list[str]:
    _, body = split_frontmatter(path)
    return re.findall(r"(?:^|(?<=\s))!`([^`]+)`", body, re.M)


def rules(meta: dict) -> list[str]:
    value = meta.get("allowed-tools", "")
    entries = re.findall(r"\w+\([^)]*\)|\w+", value) if isinstance(value, str) else value
    return list(entries)


def test_the_sixteen_commands_and_nothing_else():
    assert sorted(command_name(p) for p in command_paths()) == sorted(COMMAND_NAMES)


@pytest.mark.parametrize("path", command_paths(), ids=command_name)
def test_frontmatter(path: Path):
    meta, body = split_frontmatter(path)
    assert set(meta) <= {"description", "argument-hint", "allowed-tools", "disable-model-invocation"}
    assert isinstance(meta["description"], str) and len(meta["description"]) <= 100
    assert meta["description"].endswith(".") and "\n" not in meta["description"]
    # Users run these; keeping them out of the model's skill listing keeps every session's context small.
    assert meta["disable-model-invocation"] is True
    assert isinstance(meta.get("argument-hint", ""), str)
    takes_args = bool(ARG.search(body) or "$ARGUMENTS" in body)
    assert ("argument-hint" in meta) == takes_args


@pytest.mark.parametrize("path", command_paths(), ids=command_name)
def test_context_lines_call_only_the_orchestra_cli(path: Path):
    lines = bangs(path)
    assert lines, "every command pulls live context with a `!` line"
    for line in lines:
        words = shlex.split(line.replace("$", "_"))
        assert words[0] == BIN, line
        assert words[1] in CLI, line
        if CLI[words[1]] is not None and len(words) > 2 and not words[2].startswith(("-", "_")):
            assert words[2] in CLI[words[1]], line
        assert not re.search(r"[;&|<>`]|\$\(", line), f"one plain command per `!` line: {line}"


@pytest.mark.parametrize("path", command_paths(), ids=command_name)
def test_allowed_tools_pre_approve_exactly_what_runs(path: Path):
    meta, body = split_frontmatter(path)
    granted = rules(meta)
    assert granted and all(rule.startswith(f"Bash({BIN} ") and rule.endswith(":*)") for rule in granted)
    prefixes = [rule[len("Bash("):-len(":*)")] for rule in granted]
    for line in bangs(path):
        assert any(line == p or line.startswith(p + " ") for p in prefixes), f"{line} is not pre-approved"
    for prefix in prefixes:
        assert prefix in body, f"{prefix} is approved but neither run nor mentioned"
    assert len(prefixes) == len(set(prefixes))


@pytest.mark.parametrize("path", command_paths(), ids=command_name)
def test_arguments_are_zero_based(path: Path):
    meta, body = split_frontmatter(path)
    hint = meta.get("argument-hint", "")
    slots = re.findall(r"<[^>]+>|\[[^\]]+\]", hint)
    used = {int(a or b) for a, b in ARG.findall(body)}
    assert all(i < len(slots) for i in used), f"{sorted(used)} for hint {hint!r}"
    if used:
        assert 0 in used or "$ARGUMENTS" in body, "the first argument is $0"
    for i, slot in enumerate(slots):
        if slot.startswith("["):
            # Claude Code refuses a `!` line holding a missing $N; optional arguments go in as $ARGUMENTS.
            assert all(f"${i}" not in line for line in bangs(path)), slot


def test_the_pack_commands_pass_the_check():
    assert commandfiles.check_commands(REPO) == []


def test_check_commands_reports_unapproved_and_compound_lines(pack_copy):
    path = pack_copy / ".claude/commands/sprint/status.md"
    text = path.read_text()
    text = text.replace("allowed-tools: Bash(.claude/orchestra/bin/orchestra sprint status:*)",
                        "allowed-tools: Bash(.claude/orchestra/bin/orchestra sprint plan:*)")
    text += "\n!`.claude/orchestra/bin/orchestra sprint plan x && rm -rf /`\n"
    path.write_text(text)
    problems = commandfiles.check_commands(pack_copy)
    assert problems == [
        f"{path}:7: !`.claude/orchestra/bin/orchestra sprint status $ARGUMENTS` is not pre-approved by "
        "allowed-tools (a Bash(...) rule); it would abort the command",
        f"{path}:16: !`.claude/orchestra/bin/orchestra sprint plan x && rm -rf /` is not pre-approved by "
        "allowed-tools (a Bash(...) rule); it would abort the command",
    ]


def test_check_commands_reports_missing_frontmatter_and_description(pack_copy):
    bare = pack_copy / ".claude/commands/msg/inbox.md"
    bare.write_text("!`ls`\n")
    quiet = pack_copy / ".claude/commands/worktree/list.md"
    quiet.write_text(re.sub(r"description: .*\n", "", quiet.read_text()))
    listed = pack_copy / ".claude/commands/sprint/status.md"
    listed.write_text(listed.read_text().replace('argument-hint: "[sprint-id]"', "argument-hint: [sprint-id]"))
    assert commandfiles.check_commands(pack_copy) == [
        f"{bare}:1: description: missing; it is what `/` shows next to the command",
        f"{bare}:1: !`ls` is not pre-approved by allowed-tools (a Bash(...) rule); it would abort the command",
        f"{listed}:3: argument-hint: must be a string; quote it (a hint starting with `[` is read as a YAML list)",
        f"{quiet}:1: description: missing; it is what `/` shows next to the command",
    ]


def test_check_commands_reports_keys_claude_code_ignores(pack_copy):
    """`disable_model_invocation: true` is ignored, so the command sits in every session's context."""
    path = pack_copy / ".claude/commands/msg/inbox.md"
    path.write_text(path.read_text().replace("disable-model-invocation:", "disable_model_invocation:", 1)
                    .replace("---\n", "---\nwhen-to-use: Reading messages.\nicon: mail\n", 1))
    assert commandfiles.check_commands(pack_copy) == [
        f"{path}:2: when-to-use: not a command frontmatter key in Claude Code 2.1.328 (it is ignored); write when_to_use",
        f"{path}:3: icon: not a command frontmatter key in Claude Code 2.1.328 (it is ignored)",
        f"{path}:7: disable_model_invocation: not a command frontmatter key in Claude Code 2.1.328 (it is ignored); "
        "write disable-model-invocation"]


def test_check_commands_reports_a_key_written_twice_at_its_last_line(pack_copy):
    """Claude Code 2.1.328 keeps the last of two writings of a frontmatter key, without a word."""
    path = pack_copy / ".claude/commands/msg/inbox.md"
    path.write_text(path.read_text().replace("---\n", "---\nargument-hint: <who>\n", 1))
    assert commandfiles.check_commands(pack_copy) == [
        f"{path}:4: argument-hint: written again (first at line 2); Claude Code keeps only this last value, so "
        "merge them into one"]


def test_a_command_without_frontmatter_is_a_prompt_as_claude_code_loads_it(pack_copy):
    """Claude Code 2.1.328 lists `.claude/commands/data/brief.md` holding only a prompt as /data:brief and runs it
    with $ARGUMENTS filled in; it is no file Claude Code skips."""
    brief = pack_copy / ".claude/commands/data/brief.md"
    brief.parent.mkdir()
    brief.write_bytes(b"Summarise the data pipeline for $ARGUMENTS.\r\n")
    definition = agentfiles.read(brief, bare=True)
    assert (definition.meta, definition.body) == ({}, "Summarise the data pipeline for $ARGUMENTS.\n")
    assert commandfiles.check_commands(pack_copy) == [
        f"{brief}:1: description: missing; it is what `/` shows next to the command"]
    with pytest.raises(agentfiles.FrontmatterError, match="no frontmatter"):  # an agent file needs one
        agentfiles.read(brief)


def test_check_commands_reports_named_arguments_claude_code_cannot_read(pack_copy):
    """Claude Code 2.1.328 fills in $task and $who from `arguments: [task, who]` or `arguments: task who`; from a
    mapping it takes no names, and `$task` reaches the prompt (or a `!` line's shell) as written."""
    listed = pack_copy / ".claude/commands/msg/inbox.md"
    listed.write_text(listed.read_text().replace("---\n", "---\narguments: [recipient]\n", 1))
    spaced = pack_copy / ".claude/commands/msg/ask.md"
    spaced.write_text(spaced.read_text().replace("---\n", "---\narguments: recipient question\n", 1))
    mapped = pack_copy / ".claude/commands/task/delegate.md"
    mapped.write_text(mapped.read_text().replace("---\n", "---\narguments:\n  task: the task id\n", 1))
    assert commandfiles.check_commands(pack_copy) == [
        f"{mapped}:2: arguments: must be a list of names or a string of them; Claude Code takes no names from any "
        "other form, so each $<name> in the command stays as written"]


@pytest.mark.parametrize(("command", "rule", "allowed"), [
    ("orchestra sprint status", "orchestra sprint status:*", True),
    ("orchestra sprint status s-1", "orchestra sprint status:*", True),
    ("orchestra sprint statuses", "orchestra sprint status:*", False),
    ("orchestra sprint plan", "orchestra sprint status:*", False),
    ("git log -1", "git *", True),
    ("git", "git *", True),
    ("gitk", "git *", False),
    ("npm run test", "npm run t*", True),
    ("ls", "ls", True),
    ("ls -la", "ls", False),
    ("orchestra sprint status; rm x", "orchestra sprint status:*", False),
    ("orchestra sprint status $(whoami)", "orchestra sprint status:*", False),
    ("orchestra sprint status | cat", "orchestra sprint status:*", False),
])
def test_bash_rule_matching(command: str, rule: str, allowed: bool):
    assert commandfiles.bash_allowed(command, [rule]) is allowed


def test_bang_commands_reads_inline_and_fenced_forms():
    body = "Intro !`one a`\n!`two`\nnot!`three`\n```!\nfour x\nfive\n```\n"
    assert commandfiles.bang_commands(body) == ["one a", "two", "four x", "five"]
    assert commandfiles.bang_lines(body) == [(0, "one a"), (1, "two"), (4, "four x"), (5, "five")]
    assert commandfiles.bash_rules("Bash(a b:*), Read Bash(c)") == ["a b:*", "c"]
    assert commandfiles.bash_rules(["Bash(x:*)", "Agent"]) == ["x:*"]


def _fillings(hint: str) -> list[list[str]]:
    """Argument lists a user may type for `hint`: every required slot filled, optional ones with and without."""
    slots = re.findall(r"<[^>]+>|\[[^\]]+\]", hint)
    word = ["--json" if "option" in slot else f"arg{i}" for i, slot in enumerate(slots)]
    required = [w for w, s in zip(word, slots, strict=True) if s.startswith("<")]
    return [required, word] if len(required) < len(word) else [word]


@pytest.mark.parametrize("path", command_paths(), ids=command_name)
def test_context_lines_parse_with_every_argument_the_hint_allows(path: Path):
    from orchestra.cli import build_parser

    meta, _ = split_frontmatter(path)
    for given in _fillings(meta.get("argument-hint", "")):
        for line in bangs(path):
            line = ARG.sub(lambda m, given=given: given[int(m.group(1) or m.group(2))], line)
            argv = shlex.split(line.replace("$ARGUMENTS", " ".join(given)))[1:]
            try:
                build_parser().parse_args(argv)
            except SystemExit as exc:  # `--help` exits 0; a refusal exits 2
                assert exc.code == 0, f"/{command_name(path)} {' '.join(given)}: the CLI refuses `{line}`"


def test_the_overview_command_shows_the_agents_at_work():
    """`/orchestra:status` promises agents at work: neither `sprint status` without an id (a list of
    sprints) nor `msg inbox` names them."""
    [path] = [p for p in command_paths() if command_name(p) == "orchestra:status"]
    assert f"{BIN} agents" in bangs(path)
