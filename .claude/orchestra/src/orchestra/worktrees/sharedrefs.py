"""The refs every worktree shares besides branches and tags: replacements (refs/replace), which change what each
worktree and the main checkout see of a commit, and the stash (refs/stash), one list of entries for all of them.
A member lists replacements, stashes, lists and applies stashes; it writes no replacement, clears no stash, and
pops or drops only entries stashed on its own branch (`WIP on <branch>:`, `On <branch>:`), also by `git reflog
delete stash@{N}`, and expires no stash (`git reflog expire|drop` of refs/stash, or `--all`). git is asked once,
`git stash list`, and only for `git stash drop|pop|branch` and `git reflog delete stash@{N}`."""

from __future__ import annotations

import re

from ..security import gitaliases

SHARED = "shared by every worktree and the main checkout"
# `git replace` options that write, as the denial names them; those that only list
REPLACE_WRITES = {"-d": "-d", "--delete": "-d", "-e": "--edit", "--edit": "--edit", "-g": "--graft",
                  "--graft": "--graft", "--convert-graft-file": "--convert-graft-file"}
REPLACE_LISTS = frozenset({"-l", "--list"})
ENTRY = re.compile(r"(?:refs/)?stash@\{([0-9]+)\}|([0-9]+)")  # `stash@{1}`, `1`
STASHED_ON = re.compile(r"(?:WIP on|On) ([^:]+): ")  # git's stash message: the branch stashed on


def shared_change(run: gitaliases.Run, operands: list[str], own: str | None) -> tuple[str, str] | None:
    """(the ref, what is done to it) for what a git command does to refs/replace or refs/stash that a member in a
    worktree may not, said as its denial goes on after `Orchestra: Bash `; None when it does nothing of the kind.
    `operands`: its words after the subcommand that are no options."""
    sub, rest = run.args[0], run.args[1:]
    if sub == "replace":
        return _replacing(rest, operands)
    if sub == "update-ref" and operands and operands[0].startswith(("refs/replace/", "refs/stash")):
        verb = "`git update-ref -d`" if "-d" in rest else "`git update-ref`"
        return operands[0], f"{verb} on {operands[0]}{_why(operands[0])}"
    if sub == "stash" and operands[:1] == ["clear"]:
        return "refs/stash", f"`git stash clear` emptying refs/stash{_why('refs/stash')}"
    if sub == "stash" and operands[:1] in (["drop"], ["pop"], ["branch"]):
        return _unstashing(run, operands, own)
    if sub == "reflog":
        return _reflogging(run, own)
    return None


def _replacing(rest: list[str], operands: list[str]) -> tuple[str, str] | None:
    """`git replace` that writes (an object replaced, `-d`, `--edit`, `--graft`, `--convert-graft-file`); listing
    (`-l`, bare, `--format`) only reads."""
    words = rest[:rest.index("--")] if "--" in rest else rest
    letters = {f"-{letter}" for word in words if word.startswith("-") and not word.startswith("--")
               for letter in word[1:]}
    written = next((REPLACE_WRITES[word] for word in [*words, *sorted(letters)] if word in REPLACE_WRITES), None)
    if written is None and (REPLACE_LISTS & ({*words} | letters) or not operands):
        return None
    command = f"git replace {written}" if written else "git replace"
    return "refs/replace", f"`{command}` changing refs/replace{_why('refs/replace')}"


def _unstashing(run: gitaliases.Run, operands: list[str], own: str | None) -> tuple[str, str] | None:
    """`git stash drop|pop [ENTRY]` and `git stash branch NAME [ENTRY]` remove an entry (stash@{0} by default):
    denied when it was stashed on a branch other than the worktree's own."""
    given = operands[2:3] if operands[0] == "branch" else operands[1:2]
    found = ENTRY.fullmatch(given[0]) if given else None
    number = 0 if not given else int(found.group(1) or found.group(2)) if found else None
    return _removing(run, [(given[0] if given else "stash@{0}", number)], f"`git stash {operands[0]}` removing",
                     own)


def _reflogging(run: gitaliases.Run, own: str | None) -> tuple[str, str] | None:
    """`git reflog delete stash@{N}` removes that stash as `git stash drop` does, by the same rule;
    `git reflog expire|drop` on refs/stash, or on every reflog (`--all`), removes stashes of every branch."""
    from .reflogs import reflogging

    found = reflogging(run.args)
    if found is None:
        return None
    if found.every:
        return "refs/stash", (f"`git reflog {found.sub} --all` {_taking(found.sub)} the reflogs of every branch and "
                              f"tag and of refs/stash{_why('refs/stash')}; name your own branch to "
                              f"{found.sub} its reflog alone (`git reflog {found.sub} ... {own or 'BRANCH'}`)")
    if found.stash_expired:
        return "refs/stash", f"`git reflog {found.sub}` {_taking(found.sub)} stashes in refs/stash{_why('refs/stash')}"
    return _removing(run, found.stash_entries, "`git reflog delete` removing", own) if found.stash_entries else None


def _taking(sub: str) -> str:
    return "expiring" if sub == "expire" else "dropping"


def _removing(run: gitaliases.Run, entries: list[tuple[str, int | None]], verb: str,
              own: str | None) -> tuple[str, str] | None:
    """The first of the stash entries removed one after another (each number counted once the ones before are
    gone, as git does; None for an entry named otherwise) that was stashed on a branch other than the worktree's
    own, as (the entry, its denial)."""
    named = next((word for word, number in entries if number is None), None)
    if named is not None:
        return named, (f"{verb} {named}, an entry named otherwise than by its number. Stashes (refs/stash) "
                       f"are {SHARED}: name the entry as stash@{{N}} (`git stash list` shows whose each is) "
                       "and pop or drop only your own")
    listed = gitaliases.output(run, ["stash", "list", "--format=%gd%x09%gs"]) or ""
    messages = [line.split("\t", 1)[1] for line in listed.splitlines() if "\t" in line]
    left = list(range(len(messages)))  # the entries still there, by their number before the command
    for _, number in entries:
        if number is None or number >= len(left):
            return None  # no such entry: git refuses it
        first = left.pop(number)
        message = messages[first]
        stashed = STASHED_ON.match(message)
        if stashed and stashed.group(1) == own:
            continue  # one of the member's own branch
        entry = f"stash@{{{number}}}"
        branch = f"the branch {stashed.group(1)}" if stashed else "no branch git names"
        yours = f"your worktree's branch {own}" if own else "the branch your worktree has checked out"
        return entry, (f"{verb} {entry}, a stash of {branch} ({message}), which is not {yours}. Stashes (refs/stash) "
                       f"are {SHARED}: pop or drop only the entries of your own branch (`git stash list` shows whose "
                       "they are), apply another's with `git stash apply` if you need its changes, and ask the "
                       "orchestrator to drop it")
    return None


def _why(ref: str) -> str:
    what = ("a replacement changes what each of them sees of a commit" if ref.startswith("refs/replace")
            else "it holds the stashes of all of them")
    return f", which is {SHARED} ({what}). Ask the orchestrator, who merges, to change it"
