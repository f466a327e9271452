"""The worktree boundary, checked before every Write/Edit/NotebookEdit/Bash/Monitor call of a subagent that
works in a worktree: writes land inside it, and Bash does not move elsewhere.

Cost: one primary-key read (`agents.<agent_id>.worktree`, put there when the lifecycle links the
run to its delegation) and no git. Runs without a worktree, and the main thread, are not limited.
Bash is read best-effort through the security module's shell reader: `cd`/`pushd`/`git -C`/
`git --work-tree`/`GIT_WORK_TREE=`/`env -C` to a directory outside the worktree, output redirections (`>`, `>>`) to a
file outside it, and the files the common file programs write by their arguments (`cp`/`mv`/`ln`/
`install` destinations, `mv` sources, `tee`, `touch`, `mkdir`, `rm`, `rmdir`, `truncate`, `shred`,
`unlink`, `sed -i`, `chmod`, the start of a `find` that deletes or changes, `tar -x -C`, `unzip -d`, `rsync`
destinations, the directories `git worktree add|move|remove|lock|unlock|repair` names, the config file
`git config` changes: the repository's, shared with every worktree, and `--git-dir`/`GIT_DIR` naming a repository
other than the worktree's own, such as the main checkout's `.git`, and `GIT_INDEX_FILE` naming another index)
are denied, and so is EnterWorktree into anything but the run's own worktree. A git command that changes files,
index or branch (`git commit`, `git reset`, `git stash`) is judged where it works: a subagent's Bash call starts in
the project's own checkout, so one run there without `cd` into the worktree is denied. The worktree's `.git` file,
which names the repository its git commands work on, is not written; a symbolic link made earlier on the line is
followed to where it leads, and a hard link (`ln`, `cp -l`) of a file outside is denied. Branches and tags are shared by every worktree: a git command that moves or
deletes a branch other than the worktree's own, or a tag, is denied too (`branches`), unless the run made that
branch or tag itself (`refsmade`); so is one writing refs/replace or removing another branch's stash (`sharedrefs`). The temp directory is
scratch space, away from the project and its worktrees (`pytest > /tmp/out.txt`). Other programs writing elsewhere by their own arguments, and
scripts, are not seen; README's Worktrees section lists these limits. A caller with an agent type and no
worktree of its own (a reviewer, an orchestrator) is checked the other way round, by the same reading of the
call: it may not write into the worktrees of others (`others`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from ..hookio import Deny, HookContext, HookEvent

FILE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}
SHELL_TOOLS = frozenset({"Bash", "Monitor"})  # Monitor runs a shell command as Bash does
# Redirections to these are not writes anyone would need to stop.
HARMLESS = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# `git worktree` subcommands that make, move, delete, (un)lock or re-point the worktrees they name
GIT_WORKTREE_OPS = ("add", "move", "remove", "lock", "unlock", "repair")
# `git config`: options that take a value, that only read, and that (or whose subcommands) write
GIT_CONFIG_VALUED = frozenset({"-f", "--file", "--blob", "--type", "--default", "--comment", "--value"})
GIT_CONFIG_READS = frozenset({"--get", "--get-all", "--get-regexp", "--get-urlmatch", "-l", "--list", "--get-color",
                              "--get-colorbool"})
GIT_CONFIG_WRITES = frozenset({"--unset", "--unset-all", "--add", "--replace-all", "--rename-section",
                               "--remove-section", "-e", "--edit"})
GIT_CONFIG_SUBCOMMANDS = (["set"], ["unset"], ["rename-section"], ["remove-section"], ["edit"])
GIT_GLOBAL_VALUED = frozenset({"-c", "--git-dir", "--namespace", "--config-env", "--super-prefix"})  # before its subcommand
# `git` subcommands that change the files, index or branch of the worktree they work in
GIT_CHANGES = frozenset({"add", "am", "apply", "checkout", "cherry-pick", "clean", "commit", "merge", "mv", "pull",
                         "read-tree", "rebase", "reset", "restore", "revert", "rm", "sparse-checkout", "stash",
                         "switch", "update-index"})


def worktree_guard(event: HookEvent, ctx: HookContext) -> Deny | None:
    """Deny a subagent's write (or Bash `cd`) outside the worktree it was given; for a caller working in none
    (a reviewer, an orchestrator), a write into the worktree of others (`others`); nothing for the main thread."""
    tool = event.tool_name
    if tool not in FILE_TOOLS and tool not in SHELL_TOOLS and tool != "EnterWorktree":
        return None
    worktree = None
    if event.agent_id:
        with ctx.store.snapshot() as tx:
            worktree = tx.get(f"agents.{event.agent_id}.worktree", None)
    if not isinstance(worktree, str) or not worktree:
        if not event.agent_type or tool == "EnterWorktree":
            return None
        from .others import others_guard  # a caller with an agent type and no worktree of its own

        return others_guard(event, ctx)
    if tool == "EnterWorktree":
        return _entering(event, ctx, worktree)
    if tool in FILE_TOOLS:
        target = event.tool_input.get(FILE_TOOLS[tool])
        outside = _outside(target, event.cwd, worktree, ctx.root) if isinstance(target, str) and target else None
        what = f"{tool} to {outside}"
    else:
        command = event.tool_input.get("command")
        found = (shell_reach(command, event.cwd, ctx.root, tool or "Bash",
                              lambda raw, base: _outside(raw, base, worktree, ctx.root), confined=True)
                 if isinstance(command, str) else None)
        outside, what = found if found else (None, "")
        if outside is None and isinstance(command, str):
            return _foreign_branch(command, event, ctx, worktree)
    if outside is None:
        return None
    ctx.audit.update(rule="worktree:boundary", resource=outside, worktree=worktree)
    if _repository_link(outside, worktree):
        return Deny(f"Orchestra: {what}: {os.path.join(worktree, '.git')} ties your worktree to its own repository "
                    "(git's records of it in the project's .git/worktrees/); changed, it would point your git commands "
                    "at another one, the main checkout's, whose branch your commits would then move. Leave it as git "
                    "made it, and work and commit in your worktree as it is.")
    if os.path.normpath(outside).startswith(worktree.rstrip(os.sep) + os.sep):  # looks inside, is not
        what += f" (a symbolic link leads there to {os.path.realpath(outside)})"
    return Deny(f"Orchestra: {what} is outside your worktree {worktree}. Your task works only inside that "
                f"worktree{_suggestion(outside, ctx.root, worktree)}; paths elsewhere (the main checkout, other "
                "worktrees) belong to other work.")


def _foreign_branch(command: str, event: HookEvent, ctx: HookContext, worktree: str) -> Deny | None:
    """Deny a git command that moves or deletes a branch other than the worktree's own, or a tag, that the run
    did not make itself, or that changes refs/replace or others' stashes: refs are shared by every worktree and
    the main checkout. A branch or tag the command makes is recorded as the run's (`refsmade`)."""
    from .branches import ref_changes

    found = ref_changes(command, event.cwd, worktree, ctx.root)
    if found is None:
        return None
    if found.shared:
        ref, what = found.shared[0]
        ctx.audit.update(rule="worktree:boundary", resource=ref, worktree=worktree)
        return Deny(f"Orchestra: {event.tool_name} {what}.")
    foreign, ours = found.foreign, {}
    if foreign and event.agent_id:  # the run's own records, read only for a ref of a name someone may have made
        from .refsmade import handed_out, made_by_run, spans

        ours, given = spans(ctx, event.agent_id), handed_out(ctx, worktree)
        foreign = [(ref, verb) for ref, verb in foreign if ref != f"refs/heads/{given}"
                   and not (ref in ours and made_by_run(found.common, ref, ours[ref]))]
    if foreign:
        return _others_ref(*foreign[0], found.own, event, ctx, worktree)
    if mine := [*found.made, *(ref for ref, _ in found.foreign if ref in ours)]:
        from .refsmade import record

        record(event, ctx, mine)
    return None


def _others_ref(ref: str, verb: str, own: str | None, event: HookEvent, ctx: HookContext, worktree: str) -> Deny:
    ctx.audit.update(rule="worktree:boundary", resource=ref, worktree=worktree)
    yours = f"your worktree's branch {own}" if own else f"a branch your worktree {worktree} has checked out"
    kind = "tag" if ref.startswith("refs/tags/") else "branch"
    them = f"the {kind} {ref.split('/', 2)[-1]}" if ref.startswith("refs/") else "those refs"
    return Deny(f"Orchestra: {event.tool_name} {verb} {ref}, which is not {yours}. Branches and tags are shared by "
                "every worktree and the main checkout: change only your own branch (commit, reset or rebase it; "
                f"new branches of your own are fine), and ask the orchestrator, who merges, to move or delete {them}.")


def _entering(event: HookEvent, ctx: HookContext, worktree: str) -> Deny | None:
    """EnterWorktree moves the whole session: into another worktree (another stream's, the main checkout) by
    `path`, or into a new one Claude Code makes by `name`. Only the run's own worktree may be entered."""
    path = event.tool_input.get("path")
    if isinstance(path, str) and path and inside(absolute(path, event.cwd), worktree):
        return None
    where = absolute(path, event.cwd) if isinstance(path, str) and path else "a new worktree"
    ctx.audit.update(rule="worktree:boundary", resource=where, worktree=worktree)
    return Deny(f"Orchestra: EnterWorktree into {where} is outside your worktree {worktree}: it would move your "
                "session there. Your task works only inside that worktree (you are in it already: work and commit "
                "there); other worktrees and the main checkout belong to other work.")


def inside(path: str, worktree: str) -> bool:
    root = os.path.realpath(worktree)
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def absolute(raw: str, cwd: str) -> str:
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(raw)))


def _outside(raw: str, cwd: str, worktree: str, root) -> str | None:
    """The path `raw` names from `cwd` when the run may not write it: outside its worktree (and not scratch), or the
    worktree's own `.git` file, which names the repository its git commands work on."""
    path = absolute(raw, cwd)
    if inside(path, worktree):
        return path if _repository_link(path, worktree) else None
    return None if path in HARMLESS or _scratch(path, root, worktree) else path


def _repository_link(path: str, worktree: str) -> bool:
    """Is `path` (links followed) the worktree's `.git` file, or below it?"""
    tail = os.path.relpath(os.path.realpath(path), os.path.realpath(worktree))
    return tail == ".git" or tail.startswith(".git" + os.sep)


def _scratch(path: str, root, worktree: str) -> bool:
    """In the temp directory (TMPDIR, Claude Code's own) and clear of the project and of the directory holding
    its worktrees: scratch space a run may write and work in."""
    import tempfile  # only for a path already outside the worktree

    if inside(path, str(root)) or inside(path, os.path.dirname(os.path.realpath(worktree))):
        return False
    return any(temp and inside(path, temp) for temp in (tempfile.gettempdir(), os.environ.get("CLAUDE_CODE_TMPDIR")))


def shell_reach(command: str, cwd: str, root, tool: str, blocked: Callable[[str, str], str | None],
                confined: bool) -> tuple[str, str] | None:
    """(the path, what reached it) for the first write, `cd` or git change of the command line that `blocked`
    objects to: `blocked(raw, base)` gives the path `raw` names from `base` when it is out of bounds, else None.
    `confined` (a run in its worktree): moving out (`cd`, `git -C`) is out of bounds too; otherwise (a run kept
    out of others' worktrees) so is a git command that changes the worktree it works in (`git -C W commit`)."""
    from ..security import shell
    from ..security.destinations import written_operands
    from ..security.tools import wholesale_targets

    home = os.path.expanduser("~")
    here, previous, pushed = cwd, cwd, []  # `cd -` goes back to `previous`, `popd` to the last pushd's start
    links: dict[str, str] = {}  # symbolic links made earlier on the line: where each leads
    lost = False  # after `cd "$X"`: where the line works is not known
    unlinked = blocked

    def blocked(raw: str, base: str) -> str | None:
        return unlinked(_through(links, absolute(raw, base)) if links else raw, base)

    for cmd in shell.parse(command, {"HOME": home, "PWD": cwd}).commands:
        if cmd.program == "cd" and cmd.argv[1:] == ("-",):
            here, previous = previous, here
            continue
        if cmd.program == "popd":
            here, previous = pushed.pop() if pushed else here, here
            continue
        for target in cmd.writes:
            if "$" not in target and (hit := blocked(target, here)):
                return hit, f"{tool} writing to {hit}"
        for target in dict.fromkeys([*written_operands(cmd), *wholesale_targets(cmd)[0]]):  # `find ../x -delete`
            if "$" not in target and (hit := blocked(target, here)):
                return hit, f"{tool} `{cmd.program}` writing to {hit}"
        if cmd.program == "ln":
            links.update(_linked(cmd, here))
        for source in _hard_linked(cmd):  # the same file under a second name: writing it writes the original
            if "$" not in source and (hit := blocked(source, here)):
                return hit, f"{tool} `{cmd.program}` making a hard link (the same file: writing one writes both) of {hit}"
        directory = _directory_of(cmd)
        base = absolute(directory or ".", here)
        if confined and (index := _assigned(cmd, "GIT_INDEX_FILE")) and "$" not in index \
                and (hit := blocked(index, here)) and not _own_git_dir(os.path.dirname(hit), blocked):
            return hit, f"{tool} `git` writing its index to {hit}"  # the main checkout's index, staged from here
        if (config := _git_config_file(cmd, root)) and "$" not in config and (hit := blocked(config, base)):
            return hit, f"{tool} `git config` writing to {hit}"
        for target in _git_worktree_paths(cmd, root):  # `git worktree remove --force ../task-other`
            if "$" not in target and (hit := blocked(target, base)):
                return hit, f"{tool} `git worktree` changing {hit}"
        if confined and (git_dir := _git_dir_of(cmd)) and "$" not in git_dir \
                and (hit := blocked(git_dir, here)) and not _own_git_dir(hit, blocked):
            return hit, f"{tool} `git` on the repository {hit}"  # `--git-dir=../../.git`: the main checkout's
        known = directory is not None and "$" not in directory and directory != "-"
        # a git change where the command works: confined, where the call starts (a directory given is judged below)
        if (sub := _git_change(cmd)) and (directory is None and not lost or known and not confined) \
                and (hit := blocked(directory or ".", here)):
            return hit, f"{tool} `git {sub}` changing {hit}"
        if not known:
            lost = lost or cmd.program in ("cd", "pushd")
            continue
        destination = absolute(directory or home, here)
        if confined and (hit := blocked(destination, here)):
            return hit, f"{tool} `{cmd.program}` into {hit}"
        if cmd.program in ("cd", "pushd"):
            pushed += [here] if cmd.program == "pushd" else []
            here, previous, lost = destination, here, False
    return None


def _linked(cmd, here: str) -> dict[str, str]:
    """The symbolic links `ln -s` makes, each with where it leads: `ln -s TARGET NAME`, `ln -s TARGET DIR/`,
    `ln -s -t DIR TARGET...`. A destination that may be a directory counts both ways (NAME, and NAME/<target's
    name>); the longest match wins when a path is followed through them."""
    from ..security.destinations import copy_operands

    flags = [w for w in cmd.argv[1:] if w.startswith("-")]
    if not any(w == "--symbolic" or (not w.startswith("--") and "s" in w[1:]) for w in flags):
        return {}
    sources, target = copy_operands(cmd)
    plain = "-T" in flags or "--no-target-directory" in flags
    made: dict[str, str] = {}
    for source in sources:
        name = os.path.basename(source.rstrip("/"))
        spots = [target or "."] if plain else []
        if target and not plain and not target.endswith("/") and not os.path.isdir(absolute(target, here)):
            spots.append(target)
        if name and not plain:
            spots.append(os.path.join(target or ".", name))
        for spot in spots:
            link = absolute(spot, here)
            made[link] = absolute(source, os.path.dirname(link))
    return made


def _hard_linked(cmd) -> list[str]:
    """The files `ln` (without -s) or `cp -l|--link` links under a new name: one file, two names."""
    from ..security.destinations import copy_operands

    if cmd.program not in ("ln", "cp"):
        return []
    flags = [w for w in cmd.argv[1:] if w.startswith("-") and not w.startswith("--")]
    longs = {w for w in cmd.argv[1:] if w.startswith("--")}
    linking = ("--symbolic" not in longs and not any("s" in w[1:] for w in flags) if cmd.program == "ln"
               else "--link" in longs or any("l" in w[1:] for w in flags))
    return copy_operands(cmd)[0] if linking else []


def _through(links: dict[str, str], path: str) -> str:
    """`path` with links made earlier on the line followed (the longest first, a few in a row)."""
    for _ in range(8):
        found = max((link for link in links if path == link or path.startswith(link.rstrip(os.sep) + os.sep)),
                    key=len, default=None)
        if found is None:
            break
        path = os.path.normpath(links[found] + path[len(found):])
    return path


def _git_dir_of(cmd) -> str | None:
    """The repository a git command is pointed at: `--git-dir DIR`, `--git-dir=DIR`, `GIT_DIR=DIR`."""
    if (assigned := _assigned(cmd, "GIT_DIR")) is not None:
        return assigned
    args, i = list(cmd.argv[1:]) if cmd.program == "git" else [], 0
    while i < len(args) and args[i].startswith("-"):  # git's own options, up to the subcommand
        if args[i] == "--git-dir" and i + 1 < len(args):
            return args[i + 1]
        if args[i].startswith("--git-dir="):
            return args[i].split("=", 1)[1]
        i += 2 if args[i] in GIT_GLOBAL_VALUED or args[i] in ("-C", "--work-tree") else 1
    return None


def _own_git_dir(path: str, blocked: Callable[[str, str], str | None]) -> bool:
    """Is `path` the administrative directory git keeps for this worktree (`.git/worktrees/<name>`, whose
    `gitdir` file names the worktree's `.git`), or the worktree's `.git`? A worktree's own repository, not the
    main checkout's."""
    if os.path.basename(path) == ".git" and blocked(os.path.dirname(path), os.sep) is None:
        return True  # the worktree's `.git` (git reads the directory it names), or a repository inside the worktree
    try:
        with open(os.path.join(path, "gitdir"), encoding="utf-8") as handle:
            dotgit = handle.read().strip()
    except OSError:
        return False
    return bool(dotgit) and blocked(os.path.dirname(dotgit), os.sep) is None


def _git_change(cmd) -> str | None:
    """The subcommand of a git command that changes the files, index or branch of the worktree it works in
    (`git commit`, `git reset --hard`, `git stash`); None for one that only reads or works elsewhere."""
    from ..security.destinations import git_subcommand

    args = git_subcommand(cmd.argv)
    if not args or args[0] not in GIT_CHANGES or args[1:2] in (["list"], ["show"]) or "--check" in args:
        return None
    return args[0]


def _git_worktree_paths(cmd, root) -> list[str]:
    """The directories `git worktree add|move|remove|lock|unlock|repair` makes, moves, deletes, locks or
    re-points (another member's worktree too). git takes the worktree that move, remove, lock and unlock
    name by the end of its path first (`git worktree remove task-other` from inside another worktree)."""
    from ..security.destinations import git_subcommand

    args = git_subcommand(cmd.argv)
    if args[:1] != ["worktree"] or len(args) < 2 or args[1] not in GIT_WORKTREE_OPS:
        return []
    rest, operands, j = args[2:], [], 0
    while j < len(rest):
        if rest[j] == "--":
            operands += rest[j + 1:]
            break
        if not rest[j].startswith("-"):
            operands.append(rest[j])
        j += 2 if rest[j] in ("-b", "-B", "--reason") else 1
    if args[1] in ("add", "repair"):
        return operands[:1] if args[1] == "add" else operands  # add's second operand is a commit
    return [_by_suffix(operands[0], root), *operands[1:2]] if operands else []


def _git_config_file(cmd, root) -> str | None:
    """The file `git config` changes (set, unset, add, edit, sections): the repository's config, which the main
    checkout and every worktree share (`core.hooksPath` there runs a member's script in all of them), `--global`'s,
    `--system`'s or `--file`'s; None when it only reads (`get`, `--list`, one name) or is not `git config`."""
    from ..security.destinations import git_subcommand

    args = git_subcommand(cmd.argv)
    if args[:1] != ["config"]:
        return None
    rest, operands, target, j = args[1:], [], None, 0
    while j < len(rest):
        word = rest[j]
        if word in ("-f", "--file") and j + 1 < len(rest):
            target = rest[j + 1]
        elif word.startswith("--file="):
            target = word.split("=", 1)[1]
        elif not word.startswith("-"):
            operands.append(word)
        j += 2 if word in GIT_CONFIG_VALUED else 1
    if set(rest) & GIT_CONFIG_READS or operands[:1] in (["get"], ["list"]):
        return None
    if not set(rest) & GIT_CONFIG_WRITES and operands[:1] not in GIT_CONFIG_SUBCOMMANDS and len(operands) < 2:
        return None  # `git config user.name` prints it
    if target is not None:
        return target
    if "--global" in rest:
        return os.path.join(os.path.expanduser("~"), ".gitconfig")
    return "/etc/gitconfig" if "--system" in rest else os.path.join(str(root), ".git", "config")


def _by_suffix(name: str, root) -> str:
    """The one worktree of the project (its main checkout included) whose path ends with the path components
    `name`, as git's find_worktree tries before reading `name` as a path; else `name` itself."""
    from ..security.pathrules import Resolver  # only for a `git worktree` command

    parts = [p for p in name.split("/") if p]
    if not parts or name.startswith("/") or "." in parts or ".." in parts:
        return name
    tops = {os.path.realpath(top): top for top in (str(root), *Resolver(root).worktrees())}
    found = [top for top in tops.values() if top.rstrip(os.sep).split(os.sep)[-len(parts):] == parts]
    return found[0] if len(found) == 1 else name


def _directory_of(cmd) -> str | None:
    """Where a command moves to or works in: `cd DIR`, `pushd DIR`, `git -C DIR`, `git --work-tree DIR`,
    `GIT_WORK_TREE=DIR` (also after `env` or `export`), `env -C DIR` ('' = home)."""
    args = list(cmd.argv[1:])
    if work_tree := _assigned(cmd, "GIT_WORK_TREE"):  # git's --work-tree, from the environment
        return work_tree
    if cmd.program in ("cd", "pushd"):
        rest = [a for a in args if not a.startswith("-") or a == "-"]
        return rest[0] if rest else ""
    if cmd.program == "git":
        i = 0
        while i < len(args) and args[i].startswith("-"):  # git's own options, up to the subcommand
            if args[i] in ("-C", "--work-tree") and i + 1 < len(args):
                return args[i + 1]
            if args[i].startswith("--work-tree="):
                return args[i].split("=", 1)[1]
            i += 2 if args[i] in GIT_GLOBAL_VALUED else 1
    if "env" in cmd.wrappers:
        words = cmd.words
        for i, word in enumerate(words[:-1]):
            if word in ("-C", "--chdir"):
                return words[i + 1]
        return next((w.split("=", 1)[1] for w in words if w.startswith("--chdir=")), None)
    return None


def _assigned(cmd, name: str) -> str | None:
    """The value `NAME=value` gives before the command, after `env`, or in `export NAME=value` (the rest of the
    line's git commands work there too); None when the command sets no such variable."""
    for word in cmd.words:
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
        if not (ASSIGNMENT.match(word) or word in ("env", "export", "declare", "typeset", "local", "readonly")
                or word.startswith("-")):
            return None
    return None


def _suggestion(outside: str, root, worktree: str) -> str:
    """`; write <worktree>/src/x.py instead` when the path was the same file in the main checkout."""
    project, real = os.path.realpath(str(root)), os.path.realpath(outside)
    worktrees_root = os.path.dirname(os.path.realpath(worktree))
    relative = os.path.relpath(real, project)
    if relative == ".":  # a git command run where the call started: a subagent's Bash call starts in the project
        import shlex

        return (" (a subagent's Bash call starts in the project's own checkout: begin the command with "
                f"cd {shlex.quote(worktree)} && )")
    if relative.split(os.sep)[0] == ".git":  # the repository's own files: a worktree has no copy of them
        return ""
    if real.startswith(project + os.sep) and not (real + os.sep).startswith(worktrees_root + os.sep):
        return f" (for {relative}, use {os.path.join(worktree, relative)})"
    return ""
