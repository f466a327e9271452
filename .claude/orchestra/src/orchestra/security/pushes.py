"""`git push` by an agent: it publishes commits beyond this machine (and may start CI or a deploy), where no
worktree, review or `git reset` takes them back. Only the roles that `git.push` in .claude/policy.yaml names push
(default: orchestrators, who merge reviewed work); the main thread (no agent_type) is not limited.

A push is `git push`, `git send-pack`, `git subtree push`, `git lfs push`, or an alias given on the line (`git -c
alias.x=push x`), however the shell reader finds git run: after git's own options (`git -C DIR push`), `NAME=value`
and `env` prefixes, wrappers, `sh -c` strings and `xargs`. `--dry-run` (`-n`) publishes nothing and is allowed.
"""

from __future__ import annotations

from .decisions import Decision, clip
from .destinations import GIT_VALUED, git_subcommand
from .policy import Caller, Policy
from .shell import Command

DRY_RUN = frozenset({"--dry-run", "-n"})


def push_call(policy: Policy, caller: Caller, cmd: Command, command: str) -> Decision | None:
    if caller.agent_type is None or caller.role in policy.push_roles or not _pushes(cmd):
        return None
    if not policy.push_roles:
        who = "no agent pushes, only the human"
    else:
        who = f"only agents of role {' or '.join(policy.push_roles)} push"
    setting = f"`git.push` in {policy.source}" if policy.push_set else "the default; `git.push` in .claude/policy.yaml sets it"
    return Decision("push", "exec", clip(command, 200), "git.push", (
        f"Orchestra policy: `{clip(command)}` would push commits beyond this machine, where no review or reset takes "
        f"them back, and {who} ({setting}); {caller.label} has role {caller.role}. Commit your work where you are "
        "and report it (STATUS in your final message, or send_message to your orchestrator), so that it is "
        "reviewed and pushed by one who may. Do not look for another way to push."))


def _pushes(cmd: Command) -> bool:
    args = git_subcommand(cmd.argv)
    if not args:
        return False
    sub, rest = args[0], args[1:]
    aliases = {v.split("=", 1)[0][len("alias."):]: v.split("=", 1)[1].lstrip("!").split()
               for v in _config_values(cmd.argv) if v.lower().startswith("alias.") and "=" in v}
    words = aliases.get(sub)
    if words is not None:  # `git -c alias.ship=push ship`, `-c 'alias.up=!git push'`
        return "push" in words or "send-pack" in words
    if sub in ("subtree", "lfs"):  # `git subtree push --prefix docs origin pages`, `git lfs push origin main`
        return "push" in rest
    return sub in ("push", "send-pack") and not DRY_RUN.intersection(rest)


def _config_values(argv: tuple[str, ...]) -> list[str]:
    """The NAME=VALUE of each `-c` git itself is given, before its subcommand."""
    out, args, i = [], list(argv[1:]), 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "-c" and i + 1 < len(args):
            out.append(args[i + 1])
        i += 2 if args[i] in GIT_VALUED else 1
    return out
