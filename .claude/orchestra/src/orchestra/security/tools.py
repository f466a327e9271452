"""Decisions on ordinary tool calls: secret paths, protected state files, and (through `launches`) the
state-changing CLI and new Claude Code sessions started from Bash.

Pure functions of (policy, caller, tool input, working directory); `guard.py` wires them into the
hook. Bash is read through `shell.parse`; a word counts as naming a path when the word itself, a
piece of it between quotes, `=`, `$(`, `:` and the like, or its brace or glob expansion resolves to
one; search patterns are not paths (`searches`), and the globs choosing which files a search reads
(`grep --include`, `rg -g`, Grep's `glob`) must not name secret files. Protected state files are
written by no agent, the organisation's files (teams.yaml, agents, commands, the pack) by the main
thread only. Reading them is allowed; a Bash pipeline that names one must be read-only.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import searches, shell
from .decisions import Decision, clip
from .destinations import COPIERS, copied_to, copy_operands, git_checks_out, unpacked_into
from .globs import GLOB_CHARS, fnmatch_form
from .launches import claude_session, cli_call
from .pathrules import Resolver
from .policy import Caller, Policy
from .pushes import push_call

READ_TOOLS: dict[str, tuple[str, ...]] = {"Read": ("file_path",), "Grep": ("path", "glob")}
# Fields that are globs choosing files to read (as `rg --glob`), checked as globs too.
FILTER_FIELDS: dict[str, tuple[str, ...]] = {"Grep": ("glob",)}
WRITE_TOOLS: dict[str, tuple[str, ...]] = {
    "Write": ("file_path",), "Edit": ("file_path",), "MultiEdit": ("file_path",), "NotebookEdit": ("notebook_path",),
}
# Tools that schedule a prompt for the session's main thread to run later (a subagent's crons belong to
# its parent session): for a subagent, a way to have the main thread act for it.
SCHEDULING_TOOLS = frozenset({"CronCreate"})
# Tools whose `command` is a shell command line. Monitor runs it as Bash does, in the background.
SHELL_TOOLS = frozenset({"Bash", "Monitor", "PowerShell"})

READ_ONLY_PROGRAMS = frozenset({
    "cat", "bat", "less", "more", "head", "tail", "grep", "egrep", "fgrep", "rg", "ag", "ack", "zcat", "zgrep",
    "wc", "ls", "stat", "file", "jq", "sha256sum", "sha1sum", "sha512sum", "md5sum", "shasum", "cksum",
    "b2sum", "diff", "cmp", "test", "[", "echo", "printf", "true", "false", "pwd", "realpath", "readlink",
    "basename", "dirname", "du", "tree", "nl", "od", "xxd", "hexdump", "strings", "column", "cut", "tr",
    "uniq", "cd", "pushd", "popd", "type", "which", "whoami", "date", "comm", "paste", "fold", "tac", "rev",
})
READ_ONLY_GIT = frozenset({"status", "log", "diff", "show", "blame", "ls-files", "ls-tree", "rev-parse",
                           "grep", "describe", "shortlog", "cat-file", "check-ignore"})
# Options with which a program of the list above writes a file after all (`tree -o F`, `less -o F`, `xxd -r`).
WRITING_OPTIONS: dict[str, tuple[str, ...]] = {"tree": ("-o",), "less": ("-o", "-O", "--log-file", "--LOG-FILE"),
                                               "xxd": ("-r",)}
# git subcommands that change the index and history but none of the files they name (`git add .claude/policy.yaml`).
INDEX_ONLY_GIT = frozenset({"add", "commit"})
FIND_ACTIONS = frozenset({"-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf", "-fls"})
# Commands that remove or change a whole directory named as an argument (`rm -rf .claude`).
DESTRUCTIVE = frozenset({"rm", "rmdir", "mv", "shred", "unlink", "chmod", "chown", "chgrp", "truncate"})
_PIECES = re.compile(r"[\s'\"`$(){}\[\];,=<>|&:@\\]+")
_UNKNOWN_DIR = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/+")
_BRACES = re.compile(r"\{([^{}]*,[^{}]*)\}")
# Expansions the reader leaves unexpanded (a variable the line does not set, `$@`, a substitution's output).
_EXPANSIONS = re.compile(r"\$\{[^{}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\$[@*1-9]|`[^`]*`|\$\((?:[^()]|\([^()]*\))*\)")
MAX_EXPANSIONS = 64


def decide(policy: Policy, caller: Caller, root: Path, tool_name: str | None, tool_input: dict,
           cwd: str) -> Decision | None:
    """Deny (a Decision) or allow (None) one ordinary tool call."""
    resolver = Resolver(root)
    if tool_name in WRITE_TOOLS:
        raws = _strings(tool_input, WRITE_TOOLS[tool_name])
        return (_first(_protected(policy, caller, resolver, tool_name, raw, [cwd]) for raw in raws)
                or _first(_secret(policy, caller, resolver, tool_name, raw, [cwd], "write") for raw in raws))
    if tool_name in READ_TOOLS:
        raws = _strings(tool_input, READ_TOOLS[tool_name])
        filters = _strings(tool_input, FILTER_FIELDS.get(tool_name, ()))
        return (_first(_secret(policy, caller, resolver, tool_name, raw, [cwd], "read") for raw in raws)
                or _first(_secret_filter(policy, caller, glob, f"{tool_name} with glob") for glob in filters))
    if tool_name in SHELL_TOOLS and isinstance(tool_input.get("command"), str):
        return decide_command(policy, caller, resolver, tool_input["command"], cwd, tool_name)
    if tool_name in SCHEDULING_TOOLS and caller.agent_type and not caller.permissions.can_spawn_agents:
        return Decision("spawn", "spawn", tool_name, "can_spawn_agents", (
            f"Orchestra policy: {tool_name} schedules a prompt that the main session runs later, as the main "
            f"thread, and {caller.label} (role {caller.role}) may not start other agents or work (can_spawn_agents "
            "is false). Do the work now, or ask your orchestrator (send_message) to plan it; if you must wait, "
            "finish with `STATUS: blocked` and say what for."))
    return None


def decide_command(policy: Policy, caller: Caller, resolver: Resolver, command: str, cwd: str,
                   tool_name: str = "Bash") -> Decision | None:
    home = os.path.expanduser("~")
    script = shell.parse(command, {"HOME": home, "PWD": cwd})
    if tool_name == "PowerShell":  # not a POSIX shell: every word is a possible path and a possible write
        script = shell.Script([shell.Command(tuple(command.split()), tuple(command.split()))], complete=False)
    cwds = _working_dirs(script.commands, cwd, home)
    writing = _writing_pipelines(script)
    fed = _fed_to_xargs_writers(script)
    for cmd in script.commands:
        if not caller.permissions.can_access_secrets:
            for raw in _path_words(cmd, cwds):
                if found := _secret(policy, caller, resolver, tool_name, raw, cwds, "exec", command):
                    return found
            for glob in searches.filter_globs(cmd.argv):
                if found := _secret_filter(policy, caller, glob, f"`{clip(command)}` with", "exec"):
                    return found
        for raw in (c for target in cmd.writes for c in candidates(target, cwds)):
            if found := _protected(policy, caller, resolver, tool_name, raw, cwds, command):
                return found
        if cmd.pipeline in writing:
            for raw in _path_words(cmd, cwds, skip_patterns=False, skip_executed=True):
                if found := _protected(policy, caller, resolver, tool_name, raw, cwds, command, read_only_hint=True):
                    return found
        for raw in (c for target in copied_to(cmd) for c in candidates(target, cwds)):  # after the named files
            if found := _protected(policy, caller, resolver, tool_name, raw, cwds, command):
                return found
        if found := _ancestor(policy, caller, resolver, cmd, cwds, command, fed.get(id(cmd))):
            return found
        if cmd.program == "git" and _git_clean_ignored(cmd.argv):
            return _state_denial(".claude/state", "git clean -x",
                                 f"`{clip(command)}` would delete git-ignored files, and Orchestra's state dir "
                                 "(.claude/state) is git-ignored. Use `git clean` without -x/-X, or name the paths.")
        if found := cli_call(caller, cmd, cwds) or claude_session(caller, cmd, command) \
                or push_call(policy, caller, cmd, command, cwds, script.commands):
            return found
    return None


# -- paths ------------------------------------------------------------------------------------------

def _secret(policy: Policy, caller: Caller, resolver: Resolver, tool: str, raw: str, cwds: list[str],
            action: str, command: str | None = None) -> Decision | None:
    if caller.permissions.can_access_secrets or not raw:
        return None
    for absolute, subject in resolver.subjects(raw, cwds):
        pattern = policy.secrets.match(subject, absolute)
        if pattern is None:
            continue
        shown = raw if raw == subject or os.path.isabs(raw) else f"{raw} ({subject})"
        shown = re.sub(rf"\$\{{?(?i:{shell.SUBSTITUTION})\}}?", "$(...)", shown)  # what a command prints
        via = f"`{clip(command)}` names" if command else f"{tool} on"
        return _secret_denial(caller, action, subject, pattern, f"{via} `{shown}`, which matches")
    return None


def _secret_filter(policy: Policy, caller: Caller, glob: str, via: str, action: str = "read") -> Decision | None:
    """A glob choosing the files a search reads (`rg -g '.e*'`, Grep's `glob`) that picks out secret files."""
    if caller.permissions.can_access_secrets:
        return None
    for form in (glob, *_expand_braces(glob)):
        folded = form.lower().lstrip("/")
        pattern = policy.secrets.named_by(form) if GLOB_CHARS.intersection(form) else policy.secrets.match(folded)
        if pattern is not None:
            return _secret_denial(caller, action, clip(form), pattern,
                                  f"{via} the file filter `{form}`, which picks out files of")
    return None


def _secret_denial(caller: Caller, action: str, subject: str, pattern: str, what: str) -> Decision:
    return Decision("secret", action, subject, pattern, (
        f"Orchestra policy: {what} the secret path pattern `{pattern}`. "
        f"{caller.label} (role {caller.role}) has no can_access_secrets, so secret files may not be "
        "read, written, copied or listed by name in any way. Do not look for another route to it. If the "
        "task needs a secret value, ask your orchestrator or the human (send_message / ask) to provide it "
        "through the environment, or finish with `STATUS: blocked` and `BLOCKER: needs access to "
        f"{subject}`."))


def _protected(policy: Policy, caller: Caller, resolver: Resolver, tool: str, raw: str, cwds: list[str],
               command: str | None = None, read_only_hint: bool = False) -> Decision | None:
    """A write to a file the caller may not write: protected state for anyone, the organisation's files
    for subagents."""
    if not raw:
        return None
    for kind, rules in policy.unwritable(caller):
        for absolute, subject in resolver.subjects(raw, cwds):
            pattern, copy = rules.match(subject, absolute), ""
            if pattern is None and caller.agent_type and (found := resolver.in_worktree(rules, absolute, subject)):
                pattern, copy = found[1], _worktree_copy(found[0])
            if pattern is None:
                continue
            what = f"`{clip(command)}` would change" if command else f"{tool} would change"
            hint = (" Reading it is allowed with a read-only command on its own (cat, grep, jq, head, tail, ...), "
                    "not piped into other programs." if read_only_hint else "")
            return _write_denial(policy, kind, caller, subject, pattern, f"{what} `{subject}`{copy}.{hint}")
    return None


def _worktree_copy(merged: str) -> str:
    return (f", the worktree's copy of `{merged}`, which becomes the project's own when the branch is merged, "
            "so it is guarded as the project's file is")


def _write_denial(policy: Policy, kind: str, caller: Caller, subject: str, pattern: str, what: str) -> Decision:
    if kind == "state" and pattern in policy.own_protected:
        return Decision("state", "write", subject, pattern, (
            f"Orchestra policy: {what} It is protected by `{pattern}` in `protected_paths` of {policy.source}: "
            "nobody writes it through Claude Code, the main thread included. If it must change, the human edits "
            "it outside Claude Code; an agent asks its orchestrator or the human (send_message / ask), or "
            "finishes with `STATUS: blocked` and says what should change."))
    if kind == "state":
        return _state_denial(subject, pattern, what)
    return Decision("organisation", "write", subject, pattern, (
        f"Orchestra policy: {what} This file defines the organisation (teams and roles, agents, commands) or "
        f"is Orchestra's own code (protected by `{pattern}`). Only the human's main session changes these, "
        f"never a subagent such as {caller.label} (role {caller.role}), so that no agent can rewrite its own "
        "permissions or instructions. Reading them is allowed. If a change is needed, ask your orchestrator or "
        "the human (send_message / ask), or finish with `STATUS: blocked` and say what should change."))


def _state_denial(subject: str, pattern: str, what: str) -> Decision:
    from ..agentfiles import mcp_tool  # a denial only

    return Decision("state", "write", subject, pattern, (
        f"Orchestra policy: {what} This is Orchestra's state, hook settings or audit trail (protected by "
        f"`{pattern}`), which no agent writes directly. Change tasks and messages through the orchestra MCP "
        f"tools ({mcp_tool('update_task')}, send_message, ...); settings and policy changes are for the human: "
        "if one is needed, ask your orchestrator or the human (send_message / ask)."))


def _ancestor(policy: Policy, caller: Caller, resolver: Resolver, cmd: shell.Command, cwds: list[str],
              command: str, listed: list[str] | None = None) -> Decision | None:
    """`rm -rf .cl*`, `mv .claude x`, `find .claude -delete`: a command removing or changing wholesale a
    directory that holds files the caller may not write (its arguments expanded as the shell would).
    `listed`: directories whose files this command lists for an `xargs` that changes them."""
    targets, whole_tree_ok = (listed, True) if listed else wholesale_targets(cmd)
    if not targets:
        return None
    worktrees = resolver.worktrees() if caller.agent_type else ()  # their copies count for subagents
    holders = [(kind, held, pattern) for kind, rules in policy.unwritable(caller)
               for held, pattern in [*rules.holders(resolver.roots).items(), *rules.holders(worktrees, True).items()]]
    for raw in (c for target in targets for c in candidates(target, cwds)):
        for absolute, _subject in resolver.subjects(raw, cwds):
            if whole_tree_ok and any(r == absolute or r.startswith(absolute.rstrip(os.sep) + os.sep)
                                     for r in (*resolver.roots, *worktrees)):
                continue  # `find . -name '*.pyc' -delete`: a whole-tree find is not read as naming them
            folded = absolute.rstrip(os.sep).lower() + os.sep
            for kind, held, pattern in holders:
                if (held.lower() + os.sep).startswith(folded):
                    inside = resolver.subject(held)
                    return _write_denial(policy, kind, caller, inside, pattern, f"`{clip(command)}` would remove "
                                                                                f"or change `{raw}`, which holds `{inside}`.")
    return None


def wholesale_targets(cmd: shell.Command) -> tuple[list[str], bool]:
    """What a command removes or changes wholesale: rm/chmod/... arguments, mv's sources, where cp/mv/ln/install
    put their sources, the start directories of a `find` that deletes or changes, the directory rsync, `tar -x`
    and `unzip` write into, the paths `git checkout`/`restore` replace. True: the project root itself is exempt."""
    args = list(cmd.argv[1:])
    operands = [a for a in args if not a.startswith("-")]
    if cmd.program in COPIERS:  # `mv x .` changes `./x`, not the whole directory; mv's sources go
        return [*(copy_operands(cmd)[0] if cmd.program == "mv" else ()), *copied_to(cmd)], False
    if cmd.program in DESTRUCTIVE:
        return operands, False
    if cmd.program == "find" and _find_deletes(args):
        while args and args[0] in ("-H", "-L", "-P"):
            args.pop(0)
        starts = list(itertools.takewhile(lambda a: not a.startswith(("-", "(", "!")), args))
        return starts or ["."], True
    if cmd.program == "rsync" and any(a.startswith("--delete") for a in args):
        return operands[-1:], False
    if cmd.program == "rsync" and len(operands) > 1:  # `rsync -a x/ .claude/`: x's files land in .claude
        return [operands[-1] if s.endswith("/") else os.path.join(operands[-1], os.path.basename(s))
                for s in operands[:-1]], True
    if (into := unpacked_into(cmd.program, args)) is not None:
        return [into], True
    if cmd.program == "git" and git_checks_out(args):  # `git checkout OLD -- .claude`: its files replaced
        return operands[1:], True
    return [], False


def _fed_to_xargs_writers(script: shell.Script) -> dict[int, list[str]]:
    """`find .claude -name '*.yaml' | xargs sed -i ...`: the operands of each command whose output an `xargs`
    later in its pipeline hands to a program that changes files, by the command's id."""
    changing = {c.pipeline for c in script.commands if "xargs" in c.wrappers and c.argv and not is_read_only(c)}
    return {id(c): [a for a in c.argv[1:] if not a.startswith("-")] for c in script.commands
            if c.pipeline in changing and "xargs" not in c.wrappers and c.argv}


def _find_deletes(args: list[str]) -> bool:
    """Does this `find` delete or change what it finds (`-delete`, `-exec rm`, `-exec sed -i`)?"""
    if "-delete" in args:
        return True
    for i, arg in enumerate(args):
        if arg in ("-exec", "-execdir", "-ok", "-okdir"):
            run = tuple(itertools.takewhile(lambda a: a not in (";", "+"), args[i + 1:]))
            if run and (run[0].rsplit("/", 1)[-1] in DESTRUCTIVE or not is_read_only(shell.Command(run, run))):
                return True
    return False


# -- words ------------------------------------------------------------------------------------------

def _path_words(cmd: shell.Command, cwds: list[str], skip_patterns: bool = True,
                skip_executed: bool = False) -> Iterator[str]:
    """Every string in the command that might name a file, with expansions. `skip_executed`: leave out
    the program and the script an interpreter runs (running `.claude/orchestra/bin/orchestra` does not
    change it; reading it as a script might still print a secret, so the secret check keeps them)."""
    skipped = list(searches.non_path_words(cmd.argv)) if skip_patterns else []
    skipped += searches.excluded_words(cmd.argv)  # `tar --exclude=.env`: left out, never touched
    # Program names are looked up on PATH, not in the working directory; a file read through `<` is no program,
    # nor is an assignment (`X=.env`, `files=(a .env)`).
    programs = {*cmd.argv[:1], *(w for w in cmd.words[:1] if not shell.is_assignment(w))}
    skipped += [w for w in programs if "/" not in w and w not in cmd.reads]
    if skip_executed and cmd.argv:
        script = shell.script_index(cmd.argv)
        skipped += [cmd.argv[0], *([cmd.argv[script]] if script is not None else [])]
    for word in (*cmd.words, *cmd.writes):
        if word in skipped:
            skipped.remove(word)
            continue
        yield from candidates(word, cwds)


def candidates(word: str, cwds: list[str]) -> Iterator[str]:
    """The word, its pieces between shell punctuation, and their brace and glob expansions."""
    if "://" in word:
        if not word.lower().startswith("file://"):
            return
        word = word[len("file://"):]
    seen: set[str] = set()
    forms = [word, *_expand_braces(word)]
    if "$" in word or "`" in word:  # `.e${X}nv`, `.e$(true)nv`: what is left when the expansions come out empty
        forms += [bare for form in forms if (bare := _EXPANSIONS.sub("", form)) != form]
    for form in forms:
        # Below a variable the reader cannot expand (`$CLAUDE_PROJECT_DIR/.claude/settings.json`), the rest may
        # start anywhere, the working directory included.
        below = [form[m.end():] for m in _UNKNOWN_DIR.finditer(form)]
        for piece in (form, *_PIECES.split(form), *below):
            if piece.startswith("-") and not piece.startswith("--"):
                piece = piece[2:]  # a value glued to a short option: `-f.env`, `-o/tmp/x`
            if piece and piece not in seen and not piece.startswith("-"):
                seen.add(piece)
                yield piece
                if GLOB_CHARS.intersection(piece):
                    yield from _glob(piece, cwds)


def _expand_braces(word: str) -> list[str]:
    out, todo = [], [word]
    while todo and len(out) < MAX_EXPANSIONS:
        current = todo.pop()
        match = _BRACES.search(current)
        if not match:
            if current != word:
                out.append(current)
            continue
        for option in match.group(1).split(","):
            todo.append(current[:match.start()] + option + current[match.end():])
    return out


def _glob(pattern: str, cwds: list[str]) -> list[str]:
    found: list[str] = []
    for cwd in cwds:
        found += glob.glob(os.path.join(cwd, os.path.expanduser(fnmatch_form(pattern))))[:MAX_EXPANSIONS]
    return found


# -- commands ---------------------------------------------------------------------------------------

def _working_dirs(commands: Iterable[shell.Command], cwd: str, home: str) -> list[str]:
    """The start directory and every directory a `cd` in the line may move to (checked from all)."""
    cwds = [cwd]
    for cmd in commands:
        if cmd.program in ("cd", "pushd") and len(cwds) < 8:
            args = [a for a in cmd.argv[1:] if not a.startswith("-")]
            target = os.path.expanduser(args[0]) if args else home
            targets = [target, *(target[m.end():] for m in _UNKNOWN_DIR.finditer(target))]
            cwds += [os.path.normpath(os.path.join(c, t)) for c in list(cwds) for t in targets]
    return list(dict.fromkeys(cwds))


def is_read_only(cmd: shell.Command) -> bool:
    if not cmd.argv:
        return "xargs" not in cmd.wrappers  # a `sh -c` string is judged as its own commands
    program, args = cmd.program, cmd.argv[1:]
    if program == "sort":
        return not any(a == "-o" or a.startswith(("-o", "--output")) for a in args)
    if program == "find":
        return not FIND_ACTIONS.intersection(args)
    if program == "git":
        sub = next((a for a in args if not a.startswith("-")), "")
        if any(a.startswith("--output") for a in args):  # `git diff --output=FILE`
            return False
        return sub in READ_ONLY_GIT or sub in INDEX_ONLY_GIT or (sub == "rm" and "--cached" in args)
    if program in WRITING_OPTIONS and any(a.startswith(WRITING_OPTIONS[program]) for a in args):
        return False
    if program == "uniq" and len([a for a in args if not a.startswith("-") or a == "-"]) > 1:
        return False  # `uniq IN OUT` writes OUT
    return program in READ_ONLY_PROGRAMS


def _writing_pipelines(script: shell.Script) -> set[int]:
    """Pipelines with any command that is not known to be read-only (all of them if parsing failed)."""
    if not script.complete:
        return {c.pipeline for c in script.commands}
    return {c.pipeline for c in script.commands if not is_read_only(c) or c.writes}


def _git_clean_ignored(argv: tuple[str, ...]) -> bool:
    args = list(argv[1:])
    if not args or args[0] != "clean":
        return False
    return any(a.startswith("-") and not a.startswith("--") and ("x" in a or "X" in a) for a in args[1:])


def _strings(tool_input: dict, keys: tuple[str, ...]) -> list[str]:
    return [v for k in keys if isinstance(v := tool_input.get(k), str) and v]


def _first(decisions: Iterable[Decision | None]) -> Decision | None:
    return next((d for d in decisions if d is not None), None)
