"""What `git reflog delete|expire|drop` does to reflogs a member does not own. refs/stash's reflog is the stash list
every worktree shares: deleting its entry `stash@{N}` removes that stash, as `git stash drop` does, and expiring it
removes stashes by age. A branch's or tag's reflog is its history (`refsmade` reads who made a ref there), and a
worktree's HEAD log is that worktree's: a member changes its own branch's and its own HEAD's, not others'.
`--dry-run` changes nothing. Read from the words of the command alone; git is asked nothing here."""

from __future__ import annotations

import re
from typing import NamedTuple

# the subcommands that remove reflog entries, the options they take a value with, and those that only show
CHANGING = ("delete", "expire", "drop")
VALUED = frozenset({"--expire", "--expire-unreachable"})
DRY = frozenset({"--dry-run", "-n"})
ENTRY = re.compile(r"(.*)@\{([^}]*)\}")  # `stash@{1}`, `main@{2.hours.ago}`
STASH = ("stash", "refs/stash")
OTHER_HEAD = re.compile(r"(?:main-worktree|worktrees/[^/]+)/HEAD")  # another worktree's HEAD, by git's names
KEPT = ("HEAD", "")  # the worktree's own HEAD log; an empty name, which git finds no reflog for


class Reflogging(NamedTuple):
    """What one `git reflog` command removes: `stash_entries`, the numbers of the stash entries `git reflog delete`
    removes one after another as given (None for one named otherwise, such as by a date); `stash_expired`, whether
    `git reflog expire|drop` takes from refs/stash's reflog; `every`, whether it takes from all reflogs (`--all`);
    `refs`, (ref, what is done to it) for each other reflog, as a branch, tag or other worktree's HEAD; `sub`,
    the subcommand."""

    sub: str
    stash_entries: list[tuple[str, int | None]]
    stash_expired: bool
    every: bool
    refs: list[tuple[str, str]]


def reflogging(args: list[str]) -> Reflogging | None:
    """What `git reflog SUB ...` (`args` from `reflog` on) removes; None when it removes nothing (`show`, `exists`,
    `--dry-run`)."""
    if args[:1] != ["reflog"] or len(args) < 2 or args[1] not in CHANGING:
        return None
    sub, rest = args[1], args[2:]
    words = rest[:rest.index("--")] if "--" in rest else rest
    if DRY & set(words):
        return None
    names, i = [], 0
    while i < len(rest):
        if rest[i] == "--":
            names += rest[i + 1:]
            break
        if not rest[i].startswith("-"):
            names.append(rest[i])
        i += 2 if rest[i] in VALUED else 1
    verb = f"`git reflog {sub}`"
    if sub == "delete":
        return _deleting(verb, names)
    every = "--all" in words
    refs = [] if every else names
    return Reflogging(sub, [], any(name in STASH for name in refs), every,
                      [(ref, f"{verb} {'expiring' if sub == 'expire' else 'dropping'} the reflog of")
                       for name in refs if name not in STASH for ref in _candidates(name)])


def _deleting(verb: str, entries: list[str]) -> Reflogging:
    stashes, refs = [], []
    for word in entries:
        found = ENTRY.fullmatch(word)
        if found is None:
            continue  # git refuses a word that names no entry
        name, spec = found.groups()
        if name in STASH:
            stashes.append((word, int(spec) if spec.isdigit() else None))
        else:
            refs += [(ref, f"{verb} deleting reflog entries of") for ref in _candidates(name)]
    return Reflogging("delete", stashes, False, False, refs)


def _candidates(name: str) -> list[str]:
    """The branches and tags a reflog's name may be, as git looks one up (`main` is refs/heads/main or
    refs/tags/main; the caller keeps those that exist); another worktree's HEAD as it is named; none for this
    worktree's HEAD or for remote-tracking refs."""
    if name in KEPT or name.endswith("/HEAD") and not OTHER_HEAD.fullmatch(name):
        return []
    if OTHER_HEAD.fullmatch(name) or name.startswith(("refs/heads/", "refs/tags/")):
        return [name]
    if name.startswith("refs/"):
        return []  # remote-tracking and other refs: nobody's work
    return [f"refs/heads/{name}", f"refs/tags/{name}"]
