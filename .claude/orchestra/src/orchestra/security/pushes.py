"""`git push` by an agent: it publishes commits beyond this machine (and may start CI or a deploy), where no
worktree, review or `git reset` takes them back. Only the roles that `git.push` in .claude/policy.yaml names push
(default: orchestrators, who merge reviewed work); the main thread (no agent_type) is not limited.

A push is `git push`, `git send-pack`, `git subtree push`, `git lfs push`, or an alias for one (`git -c
alias.x=push x`, or `alias.ship = push` in any git config the command's repository reads, asked of git as
`gitaliases` does; `git config alias.x push` on the same line counts), however the shell reader finds git run:
after git's own options (`git -C DIR push`), `NAME=value` and `env` prefixes, wrappers, `sh -c` strings, here-strings
and `echo`s piped into a shell, the command lines git runs itself (`git rebase -x`), brace lists (`git p{u,}sh`) and
`xargs` (`echo push | xargs git`: the subcommand it reads may be push). `--dry-run` (`-n`) publishes nothing and is
allowed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .decisions import Decision, clip
from .destinations import git_subcommand
from .gitaliases import Run, assignments, runs
from .policy import Caller, Policy
from .shell import Command

DRY_RUN = frozenset({"--dry-run", "-n"})


def push_call(policy: Policy, caller: Caller, cmd: Command, command: str, cwds: Sequence[str] = (),
              line: Sequence[Command] = ()) -> Decision | None:
    """`cwds`: the directories the command may run in; `line`: every command of the line, for the variables that
    choose git's config."""
    if caller.agent_type is None or caller.role in policy.push_roles:
        return None
    run = _push(cmd, cwds, assignments(list(line)))
    if run is None:
        return None
    if not policy.push_roles:
        who = "no agent pushes, only the human"
    else:
        who = f"only agents of role {' or '.join(policy.push_roles)} push"
    setting = f"`git.push` in {policy.source}" if policy.push_set else "the default; `git.push` in .claude/policy.yaml sets it"
    through = f", through {run.alias}," if run.alias else ""
    return Decision("push", "exec", clip(command, 200), "git.push", (
        f"Orchestra policy: `{clip(command)}`{through} would push commits beyond this machine, where no review or "
        f"reset takes them back, and {who} ({setting}); {caller.label} has role {caller.role}. Commit your work "
        "where you are and report it (STATUS in your final message, or send_message to your orchestrator), so "
        "that it is reviewed and pushed by one who may. Do not look for another way to push."))


def _push(cmd: Command, cwds: Sequence[str], exported: dict[str, str]) -> Run | None:
    """The git command of `cmd`, or of the alias it runs, that pushes (in any directory the line may be in).
    `xargs git` with no subcommand runs the one it reads, which may be `push`."""
    if "xargs" in cmd.wrappers and cmd.program == "git" and not git_subcommand(cmd.argv):
        return Run(cmd.argv, ["push"], "the git subcommand xargs reads", "", {})
    return next((run for cwd in (cwds or [os.getcwd()]) for run in runs(cmd, cwd, exported) if _pushes(run.args)), None)


def _pushes(args: list[str]) -> bool:
    sub, rest = args[0], args[1:]
    if sub in ("subtree", "lfs"):  # `git subtree push --prefix docs origin pages`, `git lfs push origin main`
        return "push" in rest
    return sub in ("push", "send-pack") and not DRY_RUN.intersection(rest)
