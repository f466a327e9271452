"""Glob rules over paths (secret files, protected files) and how a path an agent names is resolved.

Matching is case-insensitive, because `.ENV` opens `.env` on case-insensitive file systems and a
guard must not depend on the disk it runs on. A rule that matches a directory matches everything
inside it. Paths are matched relative to the project root when they lie inside it, absolute
otherwise, so a project that happens to live under `/srv/secrets/` does not turn every file secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..record import Record
from .globs import GLOB_CHARS, names, translate

_ANYWHERE = "(?:^|/)"


class Rule(Record):
    """`glob` is the lowercased pattern the regex is made of; `start` where it may begin: `^` at the
    project root, `^/` at the file system's root (`~/...`), `(?:^|/)` at any directory."""

    pattern: str
    regex: re.Pattern[str]
    glob: str = ""
    start: str = "^"

    @property
    def anchored(self) -> bool:
        return self.start != _ANYWHERE


def compile_rule(pattern: str, anchored: bool) -> Rule:
    """`anchored`: the pattern starts at the project root; otherwise it may start at any directory.

    A leading `/` anchors a pattern to the root (as in .gitignore); `~/...` matches under the home dir.
    """
    text = pattern.strip()
    if text.startswith("~"):
        body, start = os.path.expanduser(text).lstrip("/"), "^/"
    elif text.startswith("/"):
        body, start = text.lstrip("/"), "^"
    else:
        body, start = text, "^" if anchored else _ANYWHERE
    body = body.rstrip("/")
    if body.endswith("/**"):
        body = body[:-3]
    regex = re.compile(start + translate(body.lower()) + "(?:/.*)?$")
    return Rule(pattern, regex, body.lower(), start)


class PathRules(Record):
    """A set of rules with exceptions: a path is caught when a rule matches and no exception does.

    `directories` are absolute paths caught with everything below them (e.g. a relocated state dir);
    they are matched on the absolute path, the rules on the subject (see Resolver.subject).
    `copies` are the root-anchored rules that also catch the same files in the project's git worktrees
    (`.worktrees/x/.claude/settings.json` becomes the project's `.claude/settings.json` when merged);
    `near` finds their first path segments in a subject, so that most paths are let go at once (None: a rule
    starts with a glob, any path may be one).
    """

    rules: tuple[Rule, ...]
    exceptions: tuple[Rule, ...] = ()
    directories: tuple[str, ...] = ()
    copies: tuple[Rule, ...] = ()
    near: re.Pattern[str] | None = re.compile("(?!)")

    @classmethod
    def build(cls, patterns: Iterable[str], exceptions: Iterable[str] = (), anchored: bool = False,
              directories: Iterable[str] = (), project_only: Iterable[str] = ()) -> PathRules:
        """`project_only`: patterns with no copy in a worktree (the state dir is the project's alone)."""
        rules = tuple(compile_rule(p, anchored) for p in dict.fromkeys(patterns))
        copies = tuple(r for r in rules if r.start == "^" and r.pattern not in set(project_only))
        heads = {r.glob.split("/")[0] for r in copies}
        near = None if any(GLOB_CHARS.intersection(h) for h in heads) else re.compile(
            "|".join(re.escape(h) for h in sorted(heads)) or "(?!)")
        return cls(rules, tuple(compile_rule(p, anchored) for p in dict.fromkeys(exceptions)),
                   tuple(os.path.normcase(os.path.normpath(d)).lower() for d in dict.fromkeys(directories)),
                   copies, near)

    def match(self, subject: str, absolute: str | None = None) -> str | None:
        """The pattern (or directory) that catches the path, or None. `subject` is already lowercased."""
        if any(e.regex.search(subject) for e in self.exceptions):
            return None
        for rule in self.rules:
            if rule.regex.search(subject):
                return rule.pattern
        if absolute is not None:
            folded = absolute.lower()
            for directory in self.directories:
                if folded == directory or folded.startswith(directory + os.sep):
                    return directory + "/**"
        return None

    def copy_match(self, absolute: str) -> Iterator[tuple[str, str, str]]:
        """(directory, path below it, pattern) for each place in `absolute` below which a `copies` rule
        catches the rest: the caller checks that the directory is one of the project's worktrees."""
        parts = absolute.lower().split(os.sep)
        for i in range(1, len(parts)):
            if self.near is None or self.near.fullmatch(parts[i]):
                tail = "/".join(parts[i:])
                if any(e.regex.search(tail) for e in self.exceptions):
                    continue
                pattern = next((r.pattern for r in self.copies if r.regex.search(tail)), None)
                if pattern is not None:
                    yield os.sep.join(absolute.split(os.sep)[:i]), tail, pattern

    def holders(self, roots: Iterable[str], copies: bool = False) -> dict[str, str]:
        """Absolute paths that hold what the anchored rules catch, each with its pattern:
        the path itself for `.claude/policy.yaml`, its directory for `.claude/settings*.json`.
        Removing or moving one of these, or anything above it, takes protected files with it.
        `copies`: the roots are worktrees, only the rules in `copies` count."""
        out: dict[str, str] = {}
        for rule in self.copies if copies else self.rules:
            if not rule.anchored:
                continue
            cut = min((rule.glob.find(c) for c in GLOB_CHARS if c in rule.glob), default=-1)
            held = rule.glob if cut == -1 else rule.glob[:cut].rpartition("/")[0]
            bases = ("/",) if rule.start == "^/" else roots
            for base in bases:
                out.setdefault(os.path.normpath(os.path.join(base, held)), rule.pattern)
        for directory in () if copies else self.directories:
            out.setdefault(directory, directory + "/**")
        return out

    def named_by(self, glob: str) -> str | None:
        """The pattern whose files a search filter glob picks out (`rg -g '.e*'`: `.env*`), or None.

        The filter matches at any depth unless it starts with `/`; a rule's files include what lies below
        a matching directory.
        Exceptions are not subtracted: a glob that reaches past them (`.env.*`) still names the rule.
        """
        glob = glob.lower()
        name = glob.lstrip("/")
        filters = (name,) if glob.startswith("/") else (name, "**/" + name)
        for rule in self.rules:
            if "/" not in name and "/" not in rule.glob:
                pairs = [(name, rule.glob)]  # one file name against another: the usual case, and the cheap one
            else:
                bodies = (rule.glob,) if rule.anchored else (rule.glob, "**/" + rule.glob)
                pairs = [(f, r) for f in filters for body in bodies for r in (body, body + "/**")]
            if any(names(f, r) for f, r in pairs):
                return rule.pattern
        return None


class Resolver:
    """Turns what an agent wrote (relative, `..`, `~`, symlinks) into the subjects rules are matched on."""

    def __init__(self, root: Path) -> None:
        self.roots = tuple(dict.fromkeys((os.path.normpath(str(root)), os.path.realpath(root))))
        self.home = os.path.expanduser("~")
        self._seen: dict[tuple[str, str], tuple[str, ...]] = {}  # one decision names a path many times
        self._worktrees: tuple[str, ...] | None = None

    def absolute(self, raw: str, cwd: str) -> tuple[str, ...]:
        """The lexical and the symlink-resolved absolute path (one if they agree)."""
        key = (raw, cwd)
        if key not in self._seen:
            self._seen[key] = self._absolute(raw, cwd)
        return self._seen[key]

    def _absolute(self, raw: str, cwd: str) -> tuple[str, ...]:
        text = os.path.expanduser(raw) if raw.startswith("~") else raw
        joined = os.path.join(cwd, text)
        lexical = os.path.normpath(joined)
        try:
            real = os.path.realpath(joined)
        except (OSError, ValueError):
            real = lexical
        return (lexical,) if real == lexical else (lexical, real)

    def subject(self, absolute: str) -> str:
        """Root-relative for paths inside the project, absolute outside; lowercased."""
        for root in self.roots:
            if absolute == root:
                return "."
            if absolute.startswith(root + os.sep):
                return absolute[len(root) + 1:].replace(os.sep, "/").lower()
        return absolute.replace(os.sep, "/").lower()

    def subjects(self, raw: str, cwds: Iterable[str]) -> list[tuple[str, str]]:
        """(absolute path, subject) for `raw` seen from each candidate working directory."""
        out: dict[str, str] = {}
        for cwd in cwds:
            for absolute in self.absolute(raw, cwd):
                out.setdefault(absolute, self.subject(absolute))
        return list(out.items())

    def worktrees(self) -> tuple[str, ...]:
        """The project's linked git worktrees, wherever `.claude/worktrees.yaml` put them, as git records them
        (`.git/worktrees/<name>/gitdir` names each one's `.git` file); read only when a path needs it."""
        if self._worktrees is None:
            found: list[str] = []
            for root in self.roots:
                admin = os.path.join(root, ".git", "worktrees")
                try:
                    names = os.listdir(admin)
                except OSError:
                    continue
                for name in names:
                    try:
                        with open(os.path.join(admin, name, "gitdir"), encoding="utf-8") as handle:
                            dotgit = handle.read().strip()
                    except OSError:
                        continue
                    top = os.path.dirname(os.path.normpath(dotgit))
                    found += [top, os.path.realpath(top)]
            self._worktrees = tuple(dict.fromkeys(found))
        return self._worktrees

    def in_worktree(self, rules: PathRules, absolute: str, subject: str) -> tuple[str, str] | None:
        """(the worktree's copy as a path of the project, pattern) when `absolute` is, in one of the project's
        worktrees, a file that `rules` protect in the project itself. `subject`: its lowercased name, to let
        most paths go at once."""
        if rules.near is not None and not rules.near.search(subject):
            return None
        for directory, tail, pattern in rules.copy_match(absolute):
            if directory in self.worktrees():
                return tail, pattern
        return None
