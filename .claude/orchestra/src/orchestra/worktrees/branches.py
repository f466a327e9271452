"""The branches and tags a member's git command moves, deletes or makes. Refs are shared by every worktree of the
repository and by the main checkout, so a member in its worktree changes only that worktree's branch and the
branches and tags its own run made (`refsmade` tells which those are), and asks the orchestrator, who merges, to
move or delete the others. What it does to refs/replace and refs/stash, shared too, is read by `sharedrefs`.

Read from the command line with the security module's shell reader (git's own options, wrappers, `env`) and
`gitaliases` (an alias given by `-c alias.NAME=` or in git's config, as git reads it):
`git update-ref [-d] REF`, `git branch -d|-D|-m|-M|-c|-C|-f`, `git tag -d|-f`, `git checkout|switch BRANCH`
(its next commits move that branch), `git checkout -B`, `git switch -C`, `git symbolic-ref HEAD REF` and
`git symbolic-ref [-d] NAME [REF]` (NAME overwritten by a name for REF, which commits on NAME then move, or
deleted), the refs `git filter-branch` rewrites, the
local destination of `git fetch|pull REPO SRC:DST`, the branch operand of `git rebase [UPSTREAM] BRANCH` (checked
out, then rewritten), `git rebase --update-refs` (which moves the branches on the commits it rebases; so does a
plain `git rebase` when `rebase.updateRefs` is true in git's config), the branch `git worktree add` resets (`-B`)
or checks out in a new worktree (whose commits then move it), and the refs `git push` to this same repository
(`.`, a path into the project) updates or deletes. The
branch checked out before (`git checkout -`, `@{-N}`) is the one the worktree's HEAD log names, as git reads it;
one the log does not name is denied. The worktree's own branch comes from its HEAD file and whether a ref exists
from the repository's ref files. No git process and nothing parsed or read for a command that names none of those
subcommands and runs only git's own commands (`git status`, `git commit`); git is asked only for a word that may
be an alias, for `rebase.updateRefs` on a `git rebase` and for the stash list on `git stash drop|pop|branch` and
`git reflog delete stash@{N}`. The reflogs of other branches, tags and worktrees' HEADs that `git reflog
delete|expire|drop` takes from (`reflogs`) count as changing those refs.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from ..security import gitaliases, shell

SUBCOMMANDS = ("update-ref", "branch", "tag", "symbolic-ref", "checkout", "switch", "rebase", "worktree", "push",
               "fetch", "pull", "filter-branch")
BRANCH_VALUED = frozenset({"-u", "--set-upstream-to", "--contains", "--no-contains", "--merged", "--no-merged",
                           "--points-at", "--sort", "--format", "--color", "--column"})
TAG_VALUED = frozenset({"-m", "--message", "-F", "--file", "-u", "--local-user", "--cleanup", "--contains",
                        "--no-contains", "--merged", "--no-merged", "--points-at", "--sort", "--format", "--color",
                        "--column", "-n", "--trailer"})
# `git checkout|switch` options after which it makes a branch, detaches or restores files: it takes no other branch
NOT_SWITCHING = frozenset({"-b", "-c", "--create", "--orphan", "--detach", "-d", "--", "-p", "--patch"})
# `git push` and `git rebase` options that take the next word as their value
PUSH_VALUED = frozenset({"-o", "--push-option", "--receive-pack", "--exec", "--repo"})
REBASE_VALUED = frozenset({"--onto", "-s", "--strategy", "-X", "--strategy-option", "-x", "--exec", "--whitespace",
                           "-C", "--empty"})
# `git rebase` actions that go on with (or end) a rebase begun before, whose options it keeps
CONTINUING = frozenset({"--continue", "--abort", "--skip", "--quit", "--edit-todo", "--show-current-patch"})
# `git filter-branch` options that take the next word as their value, and the rev-list options naming many refs
FILTER_VALUED = frozenset({"--setup", "--env-filter", "--tree-filter", "--index-filter", "--parent-filter",
                           "--msg-filter", "--commit-filter", "--tag-name-filter", "--subdirectory-filter", "-d",
                           "--original", "--state-branch"})
EVERY = {"branch and tag": {"--all", "--glob"}, "branch": {"--branches"}, "tag": {"--tags"}}
# the subcommands whose name on a line makes it worth reading (`fetch`/`pull` apart), and those that make refs
QUICK = (*SUBCOMMANDS[:9], "replace", "stash", "reflog")
CREATING = frozenset({"-b", "-B", "-c", "-C", "--create", "--force-create", "--orphan"})
# `git branch` and `git tag` options with which they list, delete or set something else: they make no ref
BRANCH_LISTING = frozenset({"d", "D", "--delete", "r", "--remotes", "l", "--list", "a", "--all", "v", "--verbose",
                            "--show-current", "--contains", "--no-contains", "--merged", "--no-merged",
                            "--points-at", "u", "--set-upstream-to", "--unset-upstream", "--edit-description",
                            "--format", "--sort", "--column"})
TAG_LISTING = frozenset({"d", "--delete", "l", "--list", "v", "--verify", "n", "--contains", "--no-contains",
                         "--merged", "--no-merged", "--points-at", "--format", "--sort", "--column"})
STASH_VALUED = frozenset({"-m", "--message", "--pathspec-from-file"})
STDIN = "the refs given on standard input"
UPDATED = "the other branches on the commits it rebases"
QUOTING = re.compile(r"['\"\\]")  # the quotes and backslashes the shell takes out of words
PREVIOUS = re.compile(r"refs/heads/@\{-([1-9][0-9]*)\}")  # `@{-N}`: the Nth branch checked out before


class RefChanges(NamedTuple):
    """What a member's git command does to refs: `foreign`, (ref, what is done to it) for each branch other than
    the worktree's own, or tag, that it moves or deletes (or a text naming refs it cannot tell apart, such as
    "every branch"); `made`, the branches and tags it makes that are absent now; `shared`, (ref, what is done to
    it) for refs every worktree shares (refs/replace, refs/stash), said as a denial goes on; `own`, the branch
    the worktree's HEAD names; `common`, the repository's directory of shared refs."""

    foreign: list[tuple[str, str]]
    made: list[str]
    shared: list[tuple[str, str]]
    own: str | None
    common: str


def ref_changes(command: str, cwd: str, worktree: str, root) -> RefChanges | None:
    """The refs a member's command line changes, read from its git commands; None when it touches none."""
    plain = QUOTING.sub("", command)  # `g''it br"an"ch` is `git branch` to the shell; `$'\x67it'` is read through
    if "$'" not in command and ("git" not in plain or not (
            any(word in plain for word in QUICK) or "fetch" in plain and ":" in plain or "pull" in plain
            or gitaliases.may_run_alias(plain))):
        return None  # a command that names none of them, nor a word that may be an alias: read no further
    commands = shell.parse(command, {"HOME": os.path.expanduser("~"), "PWD": cwd}).commands
    exported = gitaliases.assignments(commands)
    runs = [run for cmd in commands for run in gitaliases.runs(cmd, cwd, exported)]
    changes = [(ref, f"{run.alias} running {verb}" if run.alias else verb) for run in runs
               for ref, verb in [*_changes(run.args), *_pushed(run.args, cwd, (str(root), worktree)),
                                 *_configured(run), *_reflogs(run.args)]]
    making = [ref for run in runs for ref in _made(run.args)] + [ref for ref, verb in changes
                                                                 if verb.endswith("updating")]
    sharing = [run for run in runs if run.args[:1] in (["replace"], ["update-ref"], ["stash"], ["reflog"])]
    if not changes and not making and not sharing:
        return None
    gitdir, common = _repository(worktree, root)
    own = _own_branch(gitdir)
    foreign = []
    for ref, verb in changes:  # making a ref anew, or deleting none, harms nobody
        if PREVIOUS.fullmatch(ref):
            ref = _previous(gitdir, ref)
        if not ref.startswith("refs/") or ("$" not in ref and ref != f"refs/heads/{own}" and _exists(common, ref)):
            foreign.append((ref, verb))
    made = [ref for ref in dict.fromkeys(making) if ref.startswith(("refs/heads/", "refs/tags/")) and "$" not in ref
            and ref != f"refs/heads/{own}" and not _exists(common, ref)]
    return RefChanges(foreign, made, _shared(sharing, own), own, common)


def _shared(runs: list[gitaliases.Run], own: str | None) -> list[tuple[str, str]]:
    """What the git commands do to refs/replace and refs/stash that a member may not."""
    if not runs:
        return []
    from .sharedrefs import shared_change  # only for `git replace`, `git update-ref`, `git stash`

    return [(found[0], f"{run.alias} running {found[1]}" if run.alias else found[1]) for run in runs
            if (found := shared_change(run, _operands(run.args[1:], STASH_VALUED), own))]


def _reflogs(args: list[str]) -> list[tuple[str, str]]:
    """The reflogs of branches, tags and other worktrees' HEADs that `git reflog delete|expire|drop` takes from."""
    if args[:1] != ["reflog"]:
        return []
    from .reflogs import reflogging  # only for `git reflog`

    found = reflogging(args)
    return found.refs if found else []


def _made(args: list[str]) -> list[str]:
    """The branches and tags a git subcommand makes (or sets, whatever they held): `git branch NAME`, the new name
    of `git branch -m|-c`, `git checkout -b|-B`, `git switch -c|-C`, `git worktree add -b|-B`, `git tag NAME`,
    `git update-ref REF`, `git stash branch NAME`."""
    sub, rest = (args[0], args[1:]) if args else ("", [])
    flags = _flags(rest)
    if sub == "branch" and not flags & BRANCH_LISTING:
        names = _operands(rest, BRANCH_VALUED)
        names = names[-1:] if flags & {"m", "M", "--move", "c", "C", "--copy"} else names[:1]
        return [f"refs/heads/{name}" for name in names]
    if sub in ("checkout", "switch") or sub == "worktree" and rest[:1] == ["add"]:
        return [f"refs/heads/{rest[i + 1]}" for i, word in enumerate(rest[:-1]) if word in CREATING]
    if sub == "tag" and not flags & TAG_LISTING:
        return [f"refs/tags/{name}" for name in _operands(rest, TAG_VALUED)[:1]]
    if sub == "update-ref" and not {"-d", "--stdin"} & set(rest):
        return _operands(rest, frozenset({"-m"}))[:1]
    if sub == "stash" and rest[:1] == ["branch"]:
        return [f"refs/heads/{name}" for name in _operands(rest[1:], STASH_VALUED)[:1]]
    return []


def _configured(run: gitaliases.Run) -> list[tuple[str, str]]:
    """A rebase that `rebase.updateRefs` true in git's config runs as with `--update-refs`: `git rebase` with
    neither `--update-refs` nor `--no-update-refs` on the line, and `git pull` that rebases (`--rebase`, `-r`, or
    by `pull.rebase`/`branch.NAME.rebase` in git's config, when the line says neither way)."""
    rest = run.args[1:]
    words = rest[:rest.index("--")] if "--" in rest else rest
    if run.args[:1] == ["rebase"] and not ({"--update-refs", "--no-update-refs"} | CONTINUING) & set(words):
        how = "`git rebase --no-update-refs` rebases your branch alone"
    elif run.args[:1] == ["pull"] and _pull_rebases(words) is not False:
        how = "`git -c rebase.updateRefs=false pull` rebases your branch alone"
    else:
        return []
    if gitaliases.setting(run, "rebase.updateRefs", "bool") != "true":
        return []
    if run.args[0] == "pull" and _pull_rebases(words) is None and all(
            value.lower() in ("false", "no", "off", "0", "")
            for value in gitaliases.values(run, r"^(pull|branch\..*)\.rebase$")):
        return []
    return [(UPDATED, f"`git {run.args[0]}` (rebase.updateRefs is true in git config, so it rebases as with "
                      f"`--update-refs`; {how}) moving")]


def _pull_rebases(words: list[str]) -> bool | None:
    """Does `git pull` rebase by its own options (the last of `--rebase[=...]`, `-r`, `--no-rebase` wins); None when
    the line does not say."""
    said = [word not in ("--no-rebase", "--rebase=false", "--rebase=no") for word in words
            if word in ("-r", "--no-rebase") or word.split("=", 1)[0] == "--rebase"]
    return said[-1] if said else None


def _changes(args: list[str]) -> list[tuple[str, str]]:
    """(full ref, what is done to it) for each ref a git subcommand moves, deletes or overwrites."""
    if not args or args[0] not in SUBCOMMANDS or args[0] == "push":  # push: `_pushed`
        return []
    sub, rest = args[0], args[1:]
    if sub == "update-ref":
        if "--stdin" in rest:
            return [(STDIN, "`git update-ref --stdin` changing")]
        operands = _operands(rest, frozenset({"-m"}))
        deleting = "-d" in rest
        ref = operands[0] if operands else ""
        if not ref.startswith(("refs/heads/", "refs/tags/")):
            return []
        return [(ref, "`git update-ref -d` deleting" if deleting else "`git update-ref` moving")]
    if sub in ("checkout", "switch"):
        flags = ("-B",) if sub == "checkout" else ("-C", "--force-create")
        reset = [(f"refs/heads/{rest[i + 1]}", f"`git {sub} {rest[i]}` resetting")
                 for i, word in enumerate(rest[:-1]) if word in flags]
        if reset or set(rest) & NOT_SWITCHING:
            return reset
        rest = ["@{-1}" if word == "-" else word for word in rest]  # `git checkout -`: the branch before
        operands = _operands(rest, frozenset({"--conflict", "--pathspec-from-file"}))  # one: a branch or a file
        return [(f"refs/heads/{operands[0]}", f"`git {sub}` moving your worktree (and its next commits) onto")
                ] if len(operands) == 1 else []
    if sub == "worktree":  # `git worktree add [-B BRANCH] PATH [BRANCH]`
        if rest[:1] != ["add"]:
            return []
        options = [(word, rest[i + 1]) for i, word in enumerate(rest[:-1]) if word in ("-b", "-B")]
        reset = [(f"refs/heads/{name}", "`git worktree add -B` resetting") for flag, name in options if flag == "-B"]
        if options or {"--detach", "-d", "--orphan"} & set(rest):
            return reset
        operands = _operands(rest[1:], frozenset({"--reason"}))  # PATH alone: the branch named as its last part
        names = operands[1:2] or [os.path.basename(operands[0].rstrip("/"))] if operands else []
        return [(f"refs/heads/{name}", "`git worktree add` checking out (its commits in that worktree then moving)")
                for name in names]
    if sub in ("fetch", "pull"):  # `git fetch . HEAD:main`: a refspec's destination is a local ref
        destinations = [word.split(":", 1)[1] for word in _operands(rest, frozenset())[1:] if ":" in word]
        refs = [d if d.startswith("refs/") else f"refs/heads/{d}" for d in destinations if d]
        return [(ref, f"`git {sub}` updating") for ref in refs if ref.startswith(("refs/heads/", "refs/tags/"))]
    if sub == "rebase":  # `git rebase [--onto NEW] UPSTREAM BRANCH`, `--root BRANCH`: BRANCH checked out, rewritten
        updating = [(UPDATED, "`git rebase --update-refs` moving")] if _last_of(rest, "update-refs") else []
        operands = _operands(rest, REBASE_VALUED)
        branch = operands[1 - ("--root" in rest):2 - ("--root" in rest)]
        return updating + [(f"refs/heads/{name}", "`git rebase` checking out and rewriting") for name in branch]
    if sub == "filter-branch":  # rewrites the branches and tags its rev-list names (HEAD by default)
        return _filtered(rest)
    if sub == "symbolic-ref":  # `HEAD REF` points the worktree at REF; `NAME REF` turns NAME into a name for REF
        operands = _operands(rest, frozenset({"-m"}))
        if operands[:1] == ["HEAD"]:
            return [(operands[1], "`git symbolic-ref HEAD` pointing your worktree at")
                    ] if len(operands) == 2 and operands[1].startswith("refs/heads/") else []
        if not operands or not operands[0].startswith(("refs/heads/", "refs/tags/")):
            return []
        if _flags(rest) & {"d", "--delete"}:
            return [(operands[0], "`git symbolic-ref -d` deleting")]
        if len(operands) != 2:
            return []
        return [(operands[0], "`git symbolic-ref` overwriting"),  # own branch as a name for another: commits move it
                (operands[1], f"`git symbolic-ref` making {operands[0]} (where commits then go) a name for")]
    flags = _flags(rest)
    if sub == "tag":
        names = _operands(rest, TAG_VALUED)
        if flags & {"d", "--delete"}:
            return [(f"refs/tags/{name}", "`git tag -d` deleting") for name in names]
        return [(f"refs/tags/{names[0]}", "`git tag -f` moving")] if names and flags & {"f", "--force"} else []
    if flags & {"r", "--remotes", "l", "--list"}:
        return []
    names = [f"refs/heads/{name}" for name in _operands(rest, BRANCH_VALUED)]
    forced = bool(flags & {"f", "--force", "M", "C"})
    if flags & {"d", "D", "--delete"}:
        return [(name, "`git branch -d` deleting") for name in names]
    if flags & {"m", "M", "--move"}:
        moved = [(names[0], "`git branch -m` renaming")] if len(names) == 2 else []
        return moved + ([(names[-1], "`git branch -M` overwriting")] if forced and names else [])
    if flags & {"c", "C", "--copy"}:
        return [(names[-1], "`git branch -C` overwriting")] if forced and names else []
    return [(names[0], "`git branch -f` moving")] if forced and names else []


def _filtered(rest: list[str]) -> list[tuple[str, str]]:
    """The refs `git filter-branch [OPTIONS] [--] [REV-LIST]` rewrites: each one its rev-list names (`main`, the
    end of `A..main`; not `^A`), every branch or tag for `--all`, `--branches`, `--tags`, `--glob`, the tags on the
    commits it rewrites with `--tag-name-filter`, and its `--state-branch`."""
    verb = "`git filter-branch` rewriting"
    words = [word for word in _operands(rest, FILTER_VALUED) if not word.startswith("^")]
    everything = [(f"every {what}", verb) for what, options in EVERY.items()
                  if any(word.split("=", 1)[0] in options for word in [*rest, *words])]
    tagged = [("the tags on the commits it rewrites", f"`git filter-branch --tag-name-filter` {verb.split()[-1]}")
              ] if "--tag-name-filter" in rest else []
    state = [rest[i + 1] for i, word in enumerate(rest[:-1]) if word == "--state-branch"]
    names = [word.rsplit("..", 1)[-1].lstrip(".") for word in words if not word.startswith("-")] + state
    return everything + tagged + [(ref, verb) for name in names if name and name != "HEAD"
                                  for ref in ([name] if name.startswith("refs/") else
                                              [f"refs/heads/{name}", f"refs/tags/{name}"])]


def _pushed(args: list[str], cwd: str, project: tuple[str, ...]) -> list[tuple[str, str]]:
    """The refs `git push` to this same repository (`.`, a path into the project, its `.git` or a worktree)
    updates (`SRC:DST`) or deletes (`:DST`, `--delete NAME`): a name as its branch or its tag, as git finds it."""
    if args[:1] != ["push"]:
        return []
    operands = _operands(args[1:], PUSH_VALUED)
    if not operands or not _this_repository(operands[0], cwd, project):
        return []
    if _flags(args[1:]) & {"d", "--delete"}:
        targets = [(name, "deleting") for name in operands[1:]]
    else:  # `SRC:DST` updates DST, `:DST` deletes it; SRC alone goes to the same name, which it leaves as it is
        targets = [(word.split(":", 1)[1], "deleting" if word.lstrip("+").startswith(":") else "updating")
                   for word in operands[1:] if ":" in word]
    return [(ref, f"`git push` to this repository {what}") for name, what in targets if name
            for ref in ([name] if name.startswith("refs/") else [f"refs/heads/{name}", f"refs/tags/{name}"])]


def _this_repository(remote: str, cwd: str, project: tuple[str, ...]) -> bool:
    """Does a `git push` destination name a directory of this project (its checkout, `.git` or a worktree)?"""
    path = os.path.expanduser(remote.removeprefix("file://"))
    if "://" in path or ("/" not in path and path != "." and not os.path.isdir(os.path.join(cwd, path))):
        return False  # a URL or a remote's name
    real = os.path.realpath(os.path.join(cwd, path))
    return any(real == top or real.startswith(top.rstrip(os.sep) + os.sep)
               for top in (os.path.realpath(p) for p in project))


def _last_of(args: list[str], option: str) -> bool:
    """Is `--OPTION` given and not undone by a later `--no-OPTION`, up to `--`."""
    words = args[:args.index("--")] if "--" in args else args
    said = [word == f"--{option}" for word in words if word in (f"--{option}", f"--no-{option}")]
    return bool(said) and said[-1]


def _flags(args: list[str]) -> set[str]:
    """The long options and the letters of the short ones (`-Df` gives D and f), up to `--`."""
    out: set[str] = set()
    for word in args:
        if word == "--":
            break
        if word.startswith("--"):
            out.add(word.split("=", 1)[0])
        elif word.startswith("-"):
            out.update(word[1:])
    return out


def _operands(args: list[str], valued: frozenset[str]) -> list[str]:
    operands, i = [], 0
    while i < len(args):
        if args[i] == "--":
            return operands + args[i + 1:]
        if not args[i].startswith("-"):
            operands.append(args[i])
        i += 2 if args[i] in valued else 1
    return operands


def _repository(worktree: str, root) -> tuple[str | None, str]:
    """The worktree's own git directory (`.git/worktrees/<name>`, named by its `.git` file) and the repository's
    common directory holding the shared refs; (None, the project's `.git`) when the worktree has no `.git`."""
    dotgit = os.path.join(worktree, ".git")
    if os.path.isdir(dotgit):
        return dotgit, dotgit
    try:
        with open(dotgit, encoding="utf-8") as handle:
            line = handle.read().strip()
    except OSError:
        return None, os.path.join(str(root), ".git")
    gitdir = os.path.join(worktree, line.removeprefix("gitdir:").strip())
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as handle:
            return gitdir, os.path.normpath(os.path.join(gitdir, handle.read().strip()))
    except OSError:
        return gitdir, gitdir


def _own_branch(gitdir: str | None) -> str | None:
    """The branch the worktree's HEAD names (`ref: refs/heads/<branch>`); None when detached or unreadable."""
    try:
        with open(os.path.join(gitdir or "", "HEAD"), encoding="utf-8") as handle:
            head = handle.read().strip()
    except OSError:
        return None
    return head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else None


def _previous(gitdir: str | None, ref: str) -> str:
    """`refs/heads/@{-N}` as the branch it names, read as git does: the `from` of the Nth last `checkout: moving
    from X to Y` line of the worktree's HEAD log (X may be a commit, which no branch is); a text saying the log
    does not name it when it has fewer such lines or cannot be read."""
    n, word = int(PREVIOUS.fullmatch(ref).group(1)), ref.removeprefix("refs/heads/")
    try:
        with open(os.path.join(gitdir or "", "logs", "HEAD"), encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        lines = []
    moves = [line.split("\tcheckout: moving from ", 1)[1] for line in reversed(lines)
             if "\tcheckout: moving from " in line]
    if len(moves) < n or " to " not in moves[n - 1]:
        return (f"{word} (a branch checked out before that your worktree's HEAD log does not name: "
                "name the branch instead)")
    return f"refs/heads/{moves[n - 1].rsplit(' to ', 1)[0]}"


def _exists(common: str, ref: str) -> bool:
    """Is `ref` in the repository: a loose ref file, a line of `packed-refs`, or any ref at all with reftable."""
    if os.path.isfile(os.path.join(common, ref)) or os.path.isdir(os.path.join(common, "reftable")):
        return True
    try:
        with open(os.path.join(common, "packed-refs"), encoding="utf-8") as handle:
            return any(line.rstrip("\n").endswith(" " + ref) for line in handle)
    except OSError:
        return False
