"""Evasions a hostile or careless member tries: words bash makes whole that the reader must see whole too.

An expansion that comes out empty inside a word (`.e${X}nv`, `.e$()nv`), array elements, bash's own glob
classes (`[^x]`, `[[:alpha:]]`), `find -path`, a brace list in git's subcommand, and an alias set on the line
that the same line then runs. Each is checked through the decision, and the plainest through the real hook.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import hook_output, run_hook
from tests.security.test_decision_table import bash, decide
from tests.security.test_hooks import audit_lines, bash_call, decision_of

SECRET_READS = (
    "cat .e$()nv", "cat .e$(true)nv", 'cat .e"$(true)"nv', "cat .e`true`nv", "cat .e``nv", "cat .e$@nv",
    "cat .e${NOPE}nv", "cat .e$NOPE'nv'", "cat .e${NOPE:0:0}nv", "cat .e${NOPE#x}nv", "cat sec$(:)rets/db.txt",
    "arr=(.env); cat ${arr[0]}", "declare -a files=(src/app.py .env); cat ${files[1]}", "keys+=( .env )",
    "cat .[^x]nv", "cat .[[:alpha:]]nv", "cat .[^[:space:]]nv", "head -1 keys/server.[[:lower:]]em",
    "find . -path '*/.e*' -exec cat {} +", "find . -ipath '*/.E*' -exec cat {} +",
    "find . -wholename './secret?/*' -exec cat {} +",
)
ALLOWED = (
    'echo "$(date)" > src/out.txt', "cat src/$(ls src | head -1)", "ls ${TMPDIR}/x", "echo $HOME $1 $@",
    "arr=(src/app.py); cat ${arr[0]}", "find . -path './src/*' -exec cat {} +", "ls src/[^x]pp.py",
    'cd "$(git rev-parse --show-toplevel)" && git status', "cat src/app.[[:alpha:]]y",
    "for f in $(ls src); do echo $f; done", 'x="$(git log -1 --format=%H)"; echo "$x"',
)


@pytest.mark.parametrize("command", SECRET_READS)
def test_a_secret_named_through_an_empty_expansion_an_array_or_a_bash_glob_is_denied(
        tree: Path, home: Path, policy, org, command: str) -> None:
    denied = decide(tree, home, policy, org, "member", *bash(command))
    assert denied is not None and denied.kind == "secret", command


@pytest.mark.parametrize("command", ALLOWED)
def test_ordinary_lines_with_expansions_arrays_and_classes_still_run(tree: Path, home: Path, policy, org,
                                                                     command: str) -> None:
    assert decide(tree, home, policy, org, "member", *bash(command)) is None, command


def test_a_grep_glob_with_a_posix_class_or_a_caret_is_checked_as_bash_reads_it(tree: Path, home: Path, policy,
                                                                                org) -> None:
    for glob in (".[[:alpha:]]nv", ".[^x]nv", "server.[[:alpha:]]em"):
        denied = decide(tree, home, policy, org, "member", "Grep", {"pattern": "T", "glob": glob})
        assert denied is not None and denied.kind == "secret", glob
    assert decide(tree, home, policy, org, "member", "Grep", {"pattern": "T", "glob": "*.[[:alpha:]]y"}) is None


PUSHES = (
    "git p{u,}sh origin main", "git {push,status}", "git config alias.x push && git x",
    "git config --global alias.ship '!git push origin HEAD'; git ship", "git config set alias.up push\ngit up",
    "git config --add Alias.Out push && git out", "git config -f .git/config alias.x push; git x",
)
NOT_PUSHES = ("git config alias.st status && git st", "git config user.name x && git commit -qm x",
              "git config alias.x push", "git {status,log}", "git config --get alias.x; git x")
# A shell reading its script from stdin or a here-string, xargs handing git its subcommand, and git's own
# commands that run a command line: the push in them is found like one in `sh -c`.
FED_PUSHES = ("bash <<< 'git push'", "echo git push | sh", "printf 'git fetch\\ngit push\\n' | bash -s",
              "echo push | xargs git", "git submodule foreach --recursive 'git push'", "git rebase -x 'git push' main",
              "git rebase --exec='git push origin HEAD' main", "git bisect run git push",
              "git filter-branch --tree-filter 'git push' HEAD")
NOT_FED_PUSHES = ("echo git push", "bash <<< 'git status'", "echo 'npm test' | sh", "git rebase -x 'npm test' main",
                  "git submodule foreach git fetch", "grep -c push <<< 'git pull'", "echo main | xargs git log")


def test_a_push_through_a_brace_list_or_an_alias_the_same_line_sets_is_denied(tree: Path, home: Path, policy,
                                                                              org) -> None:
    for command in PUSHES:
        denied = decide(tree, home, policy, org, "member", *bash(command))
        assert denied is not None and (denied.kind, denied.rule) == ("push", "git.push"), command
        assert decide(tree, home, policy, org, "orchestrator", *bash(command)) is None, command
    for command in NOT_PUSHES:
        assert decide(tree, home, policy, org, "member", *bash(command)) is None, command
    reason = decide(tree, home, policy, org, "member", *bash("git config alias.x push && git x")).reason
    assert "`git x` (the git alias for `push`)" in reason


def test_a_push_fed_to_a_shell_to_xargs_or_to_gits_own_command_runners_is_denied(tree: Path, home: Path, policy,
                                                                                 org) -> None:
    for command in FED_PUSHES:
        denied = decide(tree, home, policy, org, "member", *bash(command))
        assert denied is not None and (denied.kind, denied.rule) == ("push", "git.push"), command
    for command in NOT_FED_PUSHES:
        assert decide(tree, home, policy, org, "member", *bash(command)) is None, command
    for command in ("echo 'rm -rf .claude' | sh", "sh <<< 'cat .env'", "git submodule foreach 'rm -rf .claude'"):
        assert decide(tree, home, policy, org, "member", *bash(command)) is not None, command


def test_the_hook_denies_an_empty_substitution_and_a_same_line_alias_push(tree: Path) -> None:
    for command, rule in (("cat .e$()nv", "secret:.env*"), ("git config alias.x push && git x origin main",
                                                            "push:git.push")):
        proc = run_hook("pre_tool.py", bash_call(tree, command), tree)
        assert proc.returncode == 0, proc.stderr
        assert decision_of(proc) == "deny", proc.stdout + proc.stderr
        assert "Orchestra policy" in hook_output(proc)["hookSpecificOutput"]["permissionDecisionReason"]
        line = audit_lines(tree)[-1]
        assert (line["role"], line["result"], line["rule"]) == ("team_member", "denied", rule)
