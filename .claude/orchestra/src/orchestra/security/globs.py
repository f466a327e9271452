"""Glob syntax shared by the path rules: `**` crosses directories, `*` and `?` stay inside one, `[...]`
is a class. `translate` turns a glob into a regex body; `names` asks whether one glob picks out files
another one describes, which is how a search filter (`rg -g '.e*'`) is checked against the secret rules.
"""

from __future__ import annotations

import re
from functools import lru_cache

GLOB_CHARS = frozenset("*?[")
# What one step of a wildcard may read: printable ASCII, and "\0" standing for any character no glob names.
_ALPHABET = frozenset(map(chr, range(32, 127))) | {"\0"}
_SLASH = frozenset("/")
# bash's character classes, as the characters they hold (the printable ones for the rest).
_POSIX_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
                  "xdigit": "0-9A-Fa-f", "space": " \t\n\r\f\v", "blank": " \t", "word": "a-zA-Z0-9_"}
_POSIX = re.compile(r"\[:([a-z]+):\]")


def translate(pattern: str) -> str:
    """A glob as a regex body: `**` crosses directories, `*` and `?` stay inside one, `[...]` is a class."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := class_end(pattern, i)) != -1:
            out.append(_class(pattern[i + 1:end]))
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def class_end(pattern: str, start: int) -> int:
    """Where the bracket expression opening at `start` closes, as bash reads it (a `]` right after `[`, `[!` or
    `[^` is a member, and `[:alpha:]` is one class); -1 when it does not close."""
    i = start + 1 + (pattern[start + 1:start + 2] in ("!", "^"))
    i += pattern[i:i + 1] == "]"
    while i < len(pattern) and pattern[i] != "]":
        if pattern.startswith("[:", i) and (close := pattern.find(":]", i + 2)) != -1:
            i = close + 2
            continue
        i += 1
    return i if i < len(pattern) else -1


def bash_class(body: str) -> str:
    """A bracket expression's members as Python's fnmatch reads them: `^x` negates as `!x` does, and each
    `[:alpha:]` class becomes its characters."""
    body = "!" + body[1:] if body.startswith("^") else body
    return _POSIX.sub(lambda m: _POSIX_CLASSES.get(m.group(1), " -~"), body)


def fnmatch_form(pattern: str) -> str:
    """A bash glob for Python's `glob`: its bracket expressions in fnmatch's terms (`.[^x]nv`, `.[[:alpha:]]nv`)."""
    if "[" not in pattern:
        return pattern
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "[" and (end := class_end(pattern, i)) != -1:
            out.append("[" + bash_class(pattern[i + 1:end]) + "]")
            i = end + 1
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)


def _class(body: str) -> str:
    body = bash_class(body)
    body = "^" + body[1:] if body.startswith("!") else body
    return "[" + body.replace("\\", "\\\\").replace("[", "\\[") + "]"


class _Step:
    """One position of a glob: the characters it reads, whether it repeats (`*`), whether it is literal."""

    __slots__ = ("chars", "repeats", "literal")

    def __init__(self, chars: frozenset[str], repeats: bool = False, literal: bool = False) -> None:
        self.chars, self.repeats, self.literal = chars, repeats, literal


@lru_cache(maxsize=512)
def _steps(pattern: str, alphabet: frozenset[str]) -> tuple[_Step, ...]:
    any_but_slash = alphabet - {"/"}
    out: list[_Step] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(_Step(alphabet, repeats=True))
            i += 2
        elif pattern[i] in "*?":
            out.append(_Step(any_but_slash, repeats=pattern[i] == "*"))
            i += 1
        elif pattern[i] == "[" and (end := class_end(pattern, i)) != -1:
            regex = re.compile(_class(pattern[i + 1:end]))
            out.append(_Step(frozenset(c for c in any_but_slash if regex.fullmatch(c))))
            i = end + 1
        else:
            out.append(_Step(frozenset(pattern[i]), literal=True))
            i += 1
    return tuple(out)


def names(filter_glob: str, rule_glob: str) -> bool:
    """Does `filter_glob` pick out files that `rule_glob` describes?

    Some path must match both, read so that either the two globs do not each stand in a wildcard for
    the other's literal text, or at least two literal characters of both (other than `/`) line up. So `.e*`, `?env`,
    `*.pe?` and `server.p*` name `.env*` and `*.pem`, while `*.json` does not name `credentials*`:
    only a file like credentials.json matches both, each wildcard covering the other's name.
    """
    extra = frozenset(filter_glob + rule_glob) - _ALPHABET
    alphabet = _ALPHABET | extra if extra else _ALPHABET
    a, b = _steps(filter_glob, alphabet), _steps(rule_glob, alphabet)
    # A walk over pairs of positions (the product of the two globs' automata), noting whether a literal
    # of the filter was read by a wildcard of the rule, the other way round, and name characters lined up.
    todo, seen = [(0, 0, False, False, 0)], set()
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j, filter_covered, rule_covered, aligned = state
        if i == len(a) and j == len(b) and (aligned >= 2 or not (filter_covered and rule_covered)):
            return True
        if i < len(a) and a[i].repeats:
            todo.append((i + 1, j, filter_covered, rule_covered, aligned))
        if j < len(b) and b[j].repeats:
            todo.append((i, j + 1, filter_covered, rule_covered, aligned))
        if i < len(a) and j < len(b) and a[i].chars & b[j].chars:
            x, y = a[i], b[j]
            todo.append((i if x.repeats else i + 1, j if y.repeats else j + 1,
                         filter_covered or (x.literal and not y.literal), rule_covered or (y.literal and not x.literal),
                         min(2, aligned + (x.literal and y.literal and x.chars != _SLASH))))
    return False
