"""How search commands take their arguments: which words are search patterns or messages (not files),
and which are globs choosing the files to search (`grep --include`, `rg -g`, `find -name`).

Pure functions of a command's argv. An option whose value this module does not know to be separate
would let that value pass for the search pattern, so the tables list every value-taking option of
GNU grep, ripgrep, ag, ack and git grep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..record import Record

_CONTEXT = frozenset({"-A", "-B", "-C", "-m", "--after-context", "--before-context", "--context", "--max-count"})
_GREP = _CONTEXT | {"-e", "--regexp", "-f", "--file", "-d", "--directories", "-D", "--devices", "--include",
                    "--exclude", "--exclude-from", "--exclude-dir", "--label", "--binary-files", "--group-separator"}
_RG = _CONTEXT | {
    "-e", "--regexp", "-f", "--file", "-g", "--glob", "--iglob", "-t", "--type", "-T", "--type-not", "--type-add",
    "--type-clear", "-E", "--encoding", "-M", "--max-columns", "-d", "--max-depth", "--max-filesize",
    "--path-separator", "--pre", "--pre-glob", "-r", "--replace", "--sort", "--sortr", "-j", "--threads", "--color",
    "--colors", "--context-separator", "--field-context-separator", "--field-match-separator", "--ignore-file",
    "--dfa-size-limit", "--regex-size-limit", "--engine", "--hostname-bin", "--hyperlink-format", "--generate",
}
_AG = _CONTEXT | {"-G", "--file-search-regex", "-g", "--ignore", "--ignore-dir", "--depth", "--pager", "-p",
                  "--path-to-ignore", "--workers", "-W", "--width"}
_ACK = _CONTEXT | {"-g", "--match", "--type-set", "--type-add", "--type-del", "--ignore-dir", "--noignore-dir",
                   "--ignore-file", "--output", "--pager", "--color-filename", "--color-match", "--color-lineno"}
_GIT_GREP = _CONTEXT | {"-e", "-f", "--max-depth", "--threads"}


class Syntax(Record):
    """One search program: options taking a value; those giving the pattern (then no operand is the
    pattern); those whose value is a pattern, not a file; those whose value is a glob of files to search."""

    values: frozenset[str]
    pattern_given: frozenset[str] = frozenset({"-e", "--regexp", "-f", "--file"})
    pattern_values: frozenset[str] = frozenset({"-e", "--regexp"})
    filters: frozenset[str] = frozenset()


_GREP_SYNTAX = Syntax(_GREP, filters=frozenset({"--include"}))
SYNTAX: dict[str, Syntax] = {
    "grep": _GREP_SYNTAX, "egrep": _GREP_SYNTAX, "fgrep": _GREP_SYNTAX, "zgrep": _GREP_SYNTAX,
    "rg": Syntax(_RG, filters=frozenset({"-g", "--glob", "--iglob", "--type-add"})),
    "ag": Syntax(_AG, pattern_given=frozenset({"-g"}), pattern_values=frozenset({"-g"})),
    "ack": Syntax(_ACK, pattern_given=frozenset({"-g", "--match"}), pattern_values=frozenset({"-g", "--match"}),
                  filters=frozenset({"--type-add", "--type-set"})),
    "git-grep": Syntax(_GIT_GREP),
}
FIND_FILTERS = frozenset({"-name", "-iname"})
# find's tests of the whole path, whose `*` crosses directories (`find . -path '*/.e*'`)
FIND_PATH_FILTERS = frozenset({"-path", "-ipath", "-wholename", "-iwholename"})
EXCLUDE_OPTIONS = frozenset({"--exclude", "--exclude-dir"})


class Option(Record):
    name: str
    value: str
    word: str  # the word holding the value (`-e` `x`: `x`; `-ex`: `-ex`; `--regexp=x`: `--regexp=x`)


def parse(syntax: Syntax, args: list[str]) -> tuple[list[Option], list[str]]:
    """Options and operands of one search command; `-abc` clusters and glued values (`-tx`, `-A3`) too."""
    options: list[Option] = []
    operands: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            operands += args[i + 1:]
            break
        if word.startswith("--"):
            name, glued, value = word.partition("=")
            if not glued and name in syntax.values and i + 1 < len(args):
                i += 1
                value, word = args[i], args[i]
            options.append(Option(name, value, word))
        elif word.startswith("-") and word != "-":
            for k in range(1, len(word)):
                flag = "-" + word[k]
                if flag not in syntax.values:
                    options.append(Option(flag, "", word))
                    continue
                value = word[k + 1:]
                if not value and i + 1 < len(args):
                    i += 1
                    value, word = args[i], args[i]
                options.append(Option(flag, value, word))
                break
        else:
            operands.append(word)
        i += 1
    return options, operands


def program_of(argv: tuple[str, ...]) -> tuple[str, list[str]]:
    program, args = argv[0].rsplit("/", 1)[-1], list(argv[1:])
    if program == "git" and args and args[0] == "grep":
        return "git-grep", args[1:]
    return program, args


def non_path_words(argv: tuple[str, ...]) -> Iterator[str]:
    """Words that are search patterns or messages, not files: grep's pattern, `-e PATTERN`, `git commit -m`."""
    if not argv:
        return
    program, args = program_of(argv)
    if program == "git":
        for i, word in enumerate(args[:-1]):
            if word in ("-m", "--message"):
                yield args[i + 1]
        return
    syntax = SYNTAX.get(program)
    if syntax is None:
        return
    options, operands = parse(syntax, args)
    yield from (o.word for o in options if o.name in syntax.pattern_values)
    if operands and not any(o.name in syntax.pattern_given for o in options):
        yield operands[0]


def excluded_words(argv: tuple[str, ...]) -> Iterator[str]:
    """Words naming files a command leaves out, so never reads or changes: `--exclude[-dir] X` (grep, tar,
    rsync, ...), rg `-g '!X'`, find `-not -name X`, git's `:!X` / `:(exclude)X` pathspecs."""
    if not argv:
        return
    program, args = program_of(argv)
    for i, word in enumerate(args):
        name, glued, value = word.partition("=")
        after = args[i + 1] if i + 1 < len(args) else ""
        if name in EXCLUDE_OPTIONS:
            yield word if glued else after
        elif program == "rg" and name in ("-g", "--glob", "--iglob"):
            if (value if glued else after).startswith("!"):
                yield word if glued else after
        elif program == "rg" and word.startswith("-g!"):
            yield word
        elif program == "find" and word in FIND_FILTERS and i and args[i - 1] in ("-not", "!"):
            yield after
        elif program in ("git", "git-grep") and word.startswith((":!", ":^", ":(exclude)")):
            yield word


def filter_globs(argv: tuple[str, ...]) -> Iterator[str]:
    """Globs choosing which files a search reads: `--include GLOB`, `-g GLOB`, `--type-add NAME:GLOB`,
    `find -name GLOB`, `find -path GLOB` (its `*` as `**`). Excluding globs (`-g '!x'`, `--exclude`) are left out."""
    if not argv:
        return
    program, args = program_of(argv)
    if program == "find":
        for i, word in enumerate(args[:-1]):
            if i and args[i - 1] in ("-not", "!"):
                continue
            if word in FIND_FILTERS:
                yield args[i + 1]
            elif word in FIND_PATH_FILTERS:
                yield re.sub(r"\*+", "**", args[i + 1].removeprefix("./"))
        return
    syntax = SYNTAX.get(program)
    if syntax is None:
        return
    for option in parse(syntax, args)[0]:
        if option.name not in syntax.filters:
            continue
        if option.name in ("--type-add", "--type-set"):
            yield from _type_globs(program, option.value)
        elif not option.value.startswith("!"):
            yield option.value


def _type_globs(program: str, value: str) -> list[str]:
    """rg `NAME:GLOB` (not `NAME:include:TYPES`); ack `NAME:ext:A,B` and `NAME:is:FILE`."""
    parts = value.split(":")
    if len(parts) < 2:
        return []
    if program == "ack":
        kind, rest = parts[1], ":".join(parts[2:])
        return ["*." + e for e in rest.split(",") if e] if kind == "ext" else [rest] if kind == "is" else []
    return [] if parts[1] == "include" else [":".join(parts[1:])]
