"""Where a command writes by its own arguments: the destination of cp, mv, ln and install, the directory an
archive or rsync unpacks into, what `git checkout`/`restore` replaces, the operands of tee, touch, rm,
sed -i and the like, and the output file of sort -o, curl -o, wget -O and dd of=. Read by the security guards (protected files) and the worktree boundary.
"""

from __future__ import annotations

import os

from .shell import Command

# Commands that put copies of their sources into a destination directory (`cp /tmp/teams.yaml .claude`), with
# their options that take a value.
COPIERS: dict[str, frozenset[str]] = {
    "cp": frozenset({"-S", "--suffix"}), "mv": frozenset({"-S", "--suffix"}), "ln": frozenset({"-S", "--suffix"}),
    "install": frozenset({"-m", "--mode", "-o", "--owner", "-g", "--group", "-S", "--suffix", "--strip-program"}),
}
# Programs that write (make, change or remove) the files named as their operands, with their options that
# take a value; cp, mv, ln and install write their destination (`copied_to`).
WRITERS: dict[str, frozenset[str]] = {
    "tee": frozenset(), "touch": frozenset({"-d", "--date", "-r", "--reference", "-t"}),
    "mkdir": frozenset({"-m", "--mode"}), "rm": frozenset(), "rmdir": frozenset(), "unlink": frozenset(),
    "truncate": frozenset({"-s", "--size", "-r", "--reference"}), "shred": frozenset({"-n", "--iterations", "-s", "--size"}),
    "sed": frozenset({"-e", "--expression", "-f", "--file", "-l", "--line-length"}),
}


# git's own options before its subcommand that take a value (`git -C DIR`, `git -c NAME=VALUE`).
GIT_VALUED = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env", "--super-prefix"})


def git_subcommand(argv: tuple[str, ...] | list[str]) -> list[str]:
    """`git [git's options] SUB ARGS...` as [SUB, *ARGS]; [] for another program, or git without a subcommand."""
    if not argv or argv[0].rsplit("/", 1)[-1] != "git":
        return []
    args, i = list(argv[1:]), 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in GIT_VALUED else 1
    return args[i:]


# Programs that write the file an option names (`sort -o F`, `curl -o F`, `dd of=F`): program -> those options.
OUTPUT_OPTIONS: dict[str, tuple[str, ...]] = {
    "sort": ("-o", "--output"), "curl": ("-o", "--output"), "wget": ("-O", "--output-document"), "dd": ("of",),
}


def written_operands(cmd) -> list[str]:
    """The files a common file program writes by its arguments: `tee F`, `rm F`, `sed -i ... F`, `cp A DEST`,
    `sort -o F`, `curl -o F`, `wget -O F`, `dd of=F`."""
    args = list(cmd.argv[1:])
    if cmd.program in OUTPUT_OPTIONS:
        return output_files(args, OUTPUT_OPTIONS[cmd.program])
    if cmd.program in COPIERS:  # the destination; mv also removes its sources
        return [*copied_to(cmd), *(copy_operands(cmd)[0] if cmd.program == "mv" else ())]
    if cmd.program not in WRITERS:
        return []
    with_value, operands, i = WRITERS[cmd.program], [], 0
    while i < len(args):
        if args[i] == "--":
            operands += args[i + 1:]
            break
        if not args[i].startswith("-") or args[i] == "-":
            operands.append(args[i])
        i += 2 if args[i] in with_value else 1
    if cmd.program == "sed":  # only with -i; the script is the first operand unless -e or -f gave it
        if not any(a.startswith(("-i", "--in-place")) or (a[:1] == "-" and a[1:2] != "-" and "i" in a) for a in args):
            return []
        return operands if any(a in with_value and a not in ("-l", "--line-length") for a in args) else operands[1:]
    return operands


def output_files(args: list[str], options: tuple[str, ...]) -> list[str]:
    """The values of `options` in `args`: `-o F`, `-oF`, `--output F`, `--output=F`, `of=F`."""
    out: list[str] = []
    for i, arg in enumerate(args):
        for option in options:
            short = len(option) == 2 and option.startswith("-")
            if arg == option and i + 1 < len(args) and option.startswith("-"):
                out.append(args[i + 1])
            elif arg.startswith(option + "="):
                out.append(arg[len(option) + 1:])
            elif short and arg.startswith(option) and len(arg) > 2:  # `-oFILE`
                out.append(arg[2:])
    return [f for f in out if f and f != "-"]


def unpacked_into(program: str, args: list[str]) -> str | None:
    """The directory `tar -x -C DIR` or `unzip -d DIR` unpacks into, files of any name; None otherwise."""
    flag = {"tar": "-C", "unzip": "-d"}.get(program)
    if flag is None or (program == "tar" and not any(
            a in ("--extract", "--get") or ("x" in a and not a.startswith("--") and (a.startswith("-") or i == 0))
            for i, a in enumerate(args))):
        return None
    for i, arg in enumerate(args[:-1]):
        if arg == flag or arg == "--directory":
            return args[i + 1]
    return next((a.split("=", 1)[1] for a in args if a.startswith("--directory=")), None)


def git_checks_out(args: list[str]) -> bool:
    """`git checkout`/`git restore` that writes the named paths in the working tree (not `restore --staged`)."""
    sub = next((a for a in args if not a.startswith("-")), "")
    if sub == "restore":
        return not {"--staged", "-S"}.intersection(args) or bool({"--worktree", "-W"}.intersection(args))
    return sub == "checkout"


def copied_to(cmd: Command) -> list[str]:
    """Where cp, mv, ln and install put each source when the destination is a directory: `DEST/<source's
    name>` (`cp /tmp/teams.yaml .claude` writes `.claude/teams.yaml`; `cp -r /tmp/x/.claude .` the `.claude`
    directory). A destination that is a file gives a path below it that nothing matches."""
    sources, target = copy_operands(cmd)
    if not target:
        return []
    return [os.path.join(target, name) for source in sources if (name := os.path.basename(source.rstrip("/")))
            and name not in (".", "..")]


def copy_operands(cmd: Command) -> tuple[list[str], str | None]:
    """The sources and the destination of cp, mv, ln or install (`-t DIR` too); ([], None) for other programs."""
    if cmd.program not in COPIERS:
        return [], None
    args, with_value = list(cmd.argv[1:]), COPIERS[cmd.program]
    operands, target, i = [], None, 0
    while i < len(args):
        word = args[i]
        if word == "--":
            operands += args[i + 1:]
            break
        if word in ("-t", "--target-directory") and i + 1 < len(args):
            target, i = args[i + 1], i + 2
            continue
        if word.startswith("--target-directory="):
            target = word.split("=", 1)[1]
        elif word.startswith("-t") and not word.startswith("--"):
            target = word[2:]
        elif not word.startswith("-") or word == "-":
            operands.append(word)
        i += 2 if word in with_value else 1
    if target is None and len(operands) > 1:
        target, operands = operands[-1], operands[:-1]
    return operands, target
