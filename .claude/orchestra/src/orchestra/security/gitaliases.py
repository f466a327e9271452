"""The git commands a git command line runs once git has read its aliases, and git settings the guards need, read
the way git reads them.

An alias is given on the line (`git -c alias.nuke='branch -D' nuke x`) or in any config file git reads for the
directory the command runs in (`git config alias.nuke "branch -D"`, `alias.up = "!git push"`): git itself is
asked (`git -C <cwd> [the line's -C, -c, --git-dir, --work-tree] config --get alias.NAME`, with the line's
`GIT_CONFIG*`/`GIT_DIR` assignments), so includes, the worktree's config, global and system config count as they
do for git. A word git runs as its own command (`status`, `commit`, `lfs` ...) is never an alias, as in git, and
costs no git process. A word that is neither is run as the command git guesses it means when `help.autocorrect`
says so: it is read as the commands git would pick, by git's own measure of likeness. A `!` alias is read as the shell runs it, with the
words after it as `"$@"` and, when they are plain words, as `$1`, `$2` ...; aliases of aliases are followed.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import NamedTuple

from . import shell
from .destinations import GIT_VALUED, git_subcommand

# git's own commands (builtins, its scripts, the usual `git-NAME` programs): git runs them before any alias.
NAMES = """
add am annotate apply archive bisect blame branch bugreport bundle cat-file check-attr check-ignore check-
mailmap check-ref-format checkout checkout-index cherry cherry-pick citool clean clone column commit commit-
graph commit-tree config count-objects credential credential-cache credential-store daemon describe diagnose
diff diff-files diff-index diff-tree difftool fast-export fast-import fetch fetch-pack filter-branch fmt-
merge-msg for-each-ref for-each-repo format-patch fsck fsck-objects gc get-tar-commit-id gitk grep gui hash-
object help hook http-backend http-fetch http-push imap-send index-pack init init-db instaweb interpret-
trailers lfs log ls-files ls-remote ls-tree mailinfo mailsplit maintenance merge merge-base merge-file
merge-index merge-octopus merge-one-file merge-ours merge-recursive merge-resolve merge-subtree merge-tree
mergetool mktag mktree multi-pack-index mv name-rev notes p4 pack-objects pack-redundant pack-refs patch-id
prune prune-packed pull push quiltimport range-diff read-tree rebase receive-pack reflog remote repack
replace request-pull rerere reset restore rev-list rev-parse revert rm send-email send-pack shell shortlog
show show-branch show-index show-ref sparse-checkout stage stash status stripspace submodule subtree svn
switch symbolic-ref tag unpack-file unpack-objects update-index update-ref update-server-info upload-archive
upload-pack var verify-commit verify-pack verify-tag version whatchanged worktree write-tree
"""
COMMANDS = frozenset(NAMES.split())
# `help.autocorrect` values with which git only suggests a command for an unknown word
NO_CORRECTION = frozenset({"", "0", "never", "show", "false", "no", "off"})
# git's common commands: a word that begins one of them is not corrected (git lists them)
COMMON = frozenset({"add", "bisect", "branch", "clone", "commit", "diff", "fetch", "grep", "init", "log", "merge",
                    "mv", "pull", "push", "rebase", "reset", "restore", "rm", "show", "status", "switch", "tag"})
SIMILARITY_FLOOR = 7  # git corrects to a command only closer than this
ALIAS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
# the options of git, before its subcommand, that choose the repository or its config: passed on to `git config`
REPOSITORY_OPTIONS = ("-C", "-c", "--git-dir", "--work-tree")
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
ENVIRONMENT = re.compile(r"(GIT_CONFIG[A-Z0-9_]*|GIT_DIR|GIT_WORK_TREE|GIT_COMMON_DIR|GIT_CEILING_DIRECTORIES)=(.*)",
                         re.S)
# what sets variables for the commands after it
SETTERS = frozenset({"export", "declare", "typeset", "readonly", "local"})
# `git WORD` where WORD is one of git's commands, followed by nothing a shell would glue to it
PLAIN = re.compile(r"[ \t]+([a-z][a-z0-9-]*)(?=[\s;&|)]|\Z)")
GIT_WORD = re.compile(r"(?<![\w.-])git(?![\w.-])")
POSITIONAL = re.compile(r"\$\{?([1-9])\}?")
ALL = re.compile(r'"\$[@*]"|\$\{?[@*]\}?')  # "$@", $*: every word after the alias
SAFE = re.compile(r"[\w./@:+^~-]+")
MAX_DEPTH = 8


class Run(NamedTuple):
    """One git command that runs: `argv` as git gets it, `args` its [SUB, *ARGS], `alias` how an alias led to it
    ("" when none did), `cwd` where it runs and `env` the line's assignments that choose git's config."""

    argv: tuple[str, ...]
    args: list[str]
    alias: str
    cwd: str
    env: dict[str, str]


def may_run_alias(text: str) -> bool:
    """Could a command line run a git alias: a `git` word not plainly followed by one of git's own commands.
    False (no parsing, no git process) for `git status`, `git commit -qm x && git log`."""
    return any(not (m := PLAIN.match(text, word.end())) or m.group(1) not in COMMANDS
               for word in GIT_WORD.finditer(text))


def runs(cmd: shell.Command, cwd: str, exported: dict[str, str] | None = None) -> list[Run]:
    """The git commands `cmd` runs: itself, or what its alias stands for; [] for another program. `exported`: the
    line's `assignments`."""
    assigned = {**(exported or {}), **{m.group(1): m.group(2) for word in cmd.words[:len(cmd.words) - len(cmd.argv)]
                                       if (m := ASSIGNMENT.fullmatch(word))}}
    env = {name: value for name, value in assigned.items() if ENVIRONMENT.fullmatch(f"{name}=")}
    argv = tuple(word for arg in cmd.argv for word in (shell.brace_words(arg) if "{" in arg else (arg,)))  # `p{u,}sh`
    return _expanded(_config_env(argv, assigned), cwd, env, "", 0)


def assignments(commands: list[shell.Command]) -> dict[str, str]:
    """The variables a line sets for the commands after them (`export NAME=VALUE`, `NAME=VALUE;`), wherever they
    stand: those choosing git's config (`GIT_CONFIG_*`, `GIT_DIR` ...) are passed to the look-ups, which read git's
    config with and without them, and `--config-env` takes its values from them. An alias the line writes into a
    config file (`git config alias.x push && git x`) is passed as git's own `GIT_CONFIG_PARAMETERS`, so the
    look-ups find it as git will once that command has run."""
    found = {m.group(1): m.group(2) for cmd in commands if not cmd.argv or cmd.program in SETTERS
             for word in cmd.words if (m := ASSIGNMENT.fullmatch(word))}
    configured = [f"'{name}={value}'" for cmd in commands for name, value in _configured_aliases(cmd.argv)]
    if configured:
        found["GIT_CONFIG_PARAMETERS"] = " ".join([*filter(None, [found.get("GIT_CONFIG_PARAMETERS")]), *configured])
    return found


def _configured_aliases(argv: tuple[str, ...]) -> list[tuple[str, str]]:
    """`git config [--global|-f FILE|--add|set ...] alias.NAME VALUE`: (alias.NAME, VALUE) with the quotes git's
    parameter format needs escaped."""
    args = git_subcommand(argv)
    if args[:1] != ["config"]:
        return []
    key = next((i for i, word in enumerate(args) if word.lower().startswith("alias.")), None)
    if key is None or key + 1 >= len(args):
        return []
    return [(args[key].replace("'", "'\\''"), args[key + 1].replace("'", "'\\''"))]


def _config_env(argv: tuple[str, ...], assigned: dict[str, str]) -> tuple[str, ...]:
    """`git --config-env=NAME=VAR` as `git -c NAME=<VAR's value>` (set on the line, else in this environment), so
    that no other variable of the line goes to the look-ups."""
    out, i = list(argv[:1]), 1
    while i < len(argv) and argv[i].startswith("-"):
        given = argv[i].removeprefix("--config-env=") if argv[i].startswith("--config-env=") else (
            argv[i + 1] if argv[i] == "--config-env" and i + 1 < len(argv) else None)
        if given is None:
            out += argv[i:i + 2] if argv[i] in GIT_VALUED else argv[i:i + 1]
        else:
            name, _, variable = given.rpartition("=")
            out += ["-c", f"{name}={assigned.get(variable, os.environ.get(variable, ''))}"]
        i += 2 if argv[i] in GIT_VALUED else 1
    return (*out, *argv[i:])


def setting(run: Run, key: str, kind: str = "") -> str | None:
    """A config value as git reads it for `run` (`kind`: a `--type` such as bool); None when unset. With
    variables from the line that choose git's config, a value found with them or without them (`true` first)."""
    found = [value for env in _environments(run.env) if (value := _get(run.argv, run.cwd, env, key, kind))]
    return "true" if "true" in found else next(iter(found), None)


def values(run: Run, pattern: str) -> list[str]:
    """The values of every config key matching `pattern` (a regular expression, as `git config --get-regexp`),
    with and without the line's variables."""
    return [line.partition(" ")[2] for env in _environments(run.env)
            for line in (_config(run.argv, run.cwd, env, ["--get-regexp", pattern]) or "").splitlines()]


def _expanded(argv: tuple[str, ...], cwd: str, env: dict[str, str], via: str, depth: int) -> list[Run]:
    args = git_subcommand(argv)
    if not args:
        return []
    value = _alias(argv, args[0], cwd, env) if depth < MAX_DEPTH else None
    if value is None:  # git's own command, or a word git runs as the one it guesses (`help.autocorrect`)
        guesses = _guesses(argv, args[0], cwd, env) if depth < MAX_DEPTH else []
        return [run for guess in guesses for run in _expanded(
            (*argv[:len(argv) - len(args)], guess, *args[1:]), cwd, env,
            via or f"`git {args[0]}` (which help.autocorrect in git config runs as `git {guess}`)", depth + 1)
            ] or [Run(argv, args, via, cwd, env)]
    via = via or f"`git {args[0]}` (the git alias for `{value}`)"
    if value.startswith("!"):  # run by the shell, the words after it as "$@", where git runs (its -C followed)
        where = _directory(argv, cwd)
        text = POSITIONAL.sub(lambda m: _positional(args, int(m.group(1)), m.group(0)), value[1:])
        text = ALL.sub(lambda m: " ".join(shlex.quote(word) for word in args[1:]), text)
        text += "".join(f" {shlex.quote(word)}" for word in args[1:])
        return [run for cmd in shell.parse(text, {"HOME": os.path.expanduser("~"), "PWD": where}).commands
                for run in _expanded(tuple(cmd.argv), where, env, via, depth + 1)]
    try:
        words = shlex.split(value)
    except ValueError:  # git refuses an alias with an unclosed quote
        return []
    return _expanded((*argv[:len(argv) - len(args)], *words, *args[1:]), cwd, env, via, depth + 1)


def _alias(argv: tuple[str, ...], word: str, cwd: str, env: dict[str, str]) -> str | None:
    """What `git WORD` stands for: an alias given on the line (the last one wins, as in git), else one in git's
    config (with the line's variables, else without them); None for one of git's own commands, which no alias
    overrides."""
    if word in COMMANDS or not ALIAS_NAME.fullmatch(word):
        return None
    key = f"alias.{word}".lower()
    given = [value for name, _, value in (option.partition("=") for option in _options(argv, "-c"))
             if name.lower() == key]
    if given:
        return given[-1]
    return next((value for where in _environments(env) if (value := _get(argv, cwd, where, key, ""))), None)


def _guesses(argv: tuple[str, ...], word: str, cwd: str, env: dict[str, str]) -> list[str]:
    """The commands or aliases git may run for `git WORD`, no command of git's and no alias, when `help.autocorrect`
    runs git's guess (a number but 0, `immediate`, `prompt`): the most similar by git's own measure, all of them
    when several tie (git then runs none); none for a `git-WORD` program on PATH, which git runs as itself."""
    import shutil  # only for a word that is no command of git's: kept off every tool call's imports

    if word in COMMANDS or not word or shutil.which(f"git-{word}"):
        return []
    if not any((value := _get(argv, cwd, where, "help.autocorrect", "")) is not None
               and value.strip().lower() not in NO_CORRECTION for where in _environments(env)):
        return []
    aliases = {line.split(" ", 1)[0].partition(".")[2] for where in _environments(env) for line in
               (_config(argv, cwd, where, ["--name-only", "--get-regexp", r"^alias\."]) or "").splitlines()}
    if any(name.startswith(word) for name in COMMON):
        return []  # git lists the commands it begins, and runs none
    scores = {name: _distance(word, name) + 1 for name in COMMANDS | aliases}
    best = min(scores.values())
    return sorted(name for name, score in scores.items() if score == best) if best < SIMILARITY_FLOOR else []


def _distance(typed: str, name: str) -> int:
    """git's weighted Damerau-Levenshtein distance (levenshtein.c) from what was typed to a command's name: a swap
    of two neighbours costs 0, a substitution 2, an added letter 1, a deleted one 3."""
    before, row = [0] * (len(name) + 1), list(range(len(name) + 1))
    for i, letter in enumerate(typed):
        current = [(i + 1) * 3] + [0] * len(name)
        for j, other in enumerate(name):
            current[j + 1] = row[j] + 2 * (letter != other)
            if i and j and typed[i - 1] == other and letter == name[j - 1]:
                current[j + 1] = min(current[j + 1], before[j - 1])
            current[j + 1] = min(current[j + 1], row[j + 1] + 3, current[j] + 1)
        before, row = row, current
    return row[-1]


def _environments(env: dict[str, str]) -> list[dict[str, str]]:
    """The line's variables choosing git's config, and none: a variable set after the command, or one that makes
    the look-up fail, hides nothing."""
    return [env, {}] if env else [{}]


def _get(argv: tuple[str, ...], cwd: str, env: dict[str, str], key: str, kind: str) -> str | None:
    found = _config(argv, cwd, env, [*([f"--type={kind}"] if kind else []), "--get", key])
    return found.rstrip("\n") if found is not None else None


def output(run: Run, args: list[str]) -> str | None:
    """What `git ARGS` prints for the repository `run` works in (its `-C`, `-c`, `--git-dir` ... and the line's
    variables choosing git's config); None when it fails."""
    return _git(run.argv, run.cwd, run.env, args)


def _config(argv: tuple[str, ...], cwd: str, env: dict[str, str], query: list[str]) -> str | None:
    """What `git config QUERY` prints for the repository and config of `argv` run in `cwd`; None when it fails
    (nothing set, no such directory)."""
    return _git(argv, cwd, env, ["config", *query])


def _git(argv: tuple[str, ...], cwd: str, env: dict[str, str], args: list[str]) -> str | None:
    import subprocess  # only when git is asked: kept off every tool call's imports

    command = ["git", "-C", cwd, *_repository_options(argv), *args]
    try:
        found = subprocess.run(command, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
                               env={**os.environ, **env})
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout if found.returncode == 0 else None


def _repository_options(argv: tuple[str, ...]) -> list[str]:
    """git's options on the line that choose the repository or add config, in order (`-C a -C b` is `a/b`)."""
    out, i = [], 1
    while i < len(argv) and argv[i].startswith("-"):
        name = argv[i].split("=", 1)[0]
        if name in REPOSITORY_OPTIONS and "=" in argv[i]:
            out.append(argv[i])
        elif argv[i] in REPOSITORY_OPTIONS and i + 1 < len(argv):
            out += argv[i:i + 2]
        elif argv[i] == "--bare":
            out.append(argv[i])
        i += 2 if argv[i] in GIT_VALUED else 1
    return out


def _options(argv: tuple[str, ...], option: str) -> list[str]:
    options = _repository_options(argv)
    return [options[i + 1] for i, word in enumerate(options[:-1]) if word == option]


def _directory(argv: tuple[str, ...], cwd: str) -> str:
    """Where git runs: `cwd`, then each `-C DIR` of the line."""
    for where in _options(argv, "-C"):
        cwd = os.path.normpath(os.path.join(cwd, os.path.expanduser(where)))
    return cwd


def _positional(args: list[str], n: int, written: str) -> str:
    """`$N` of a `!` alias: the Nth word after it when that is a plain word (a branch name), else left as is."""
    return args[n] if n < len(args) and SAFE.fullmatch(args[n]) else written
