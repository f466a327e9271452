"""Worktrees through the real hook scripts and 2.1.328-shaped payloads: allocation by strategy at the
delegation, the boundary at every write, release at SubagentStop and SessionEnd, native worktrees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from orchestra.hookio import Allow, Deny, HookContext, parse_event
from orchestra.toolcall import check
from orchestra.wiring import hooks_block

from tests.conftest import hook_output, run_hook
from tests.worktrees.conftest import (
    SESSION,
    cli,
    delegation,
    events,
    git,
    payload,
    seed,
    started,
    state,
    stopped,
    tool_call,
)

MEMBER = ("a1f00000000000001", "fullstack-eng")


def delegate(repo: Path, use: str, agent_type: str, task_id: str, **fields) -> dict:
    proc = run_hook("pre_agent.py", delegation(repo, use, agent_type, task_id, **fields), repo)
    assert proc.returncode == 0, proc.stderr
    return hook_output(proc).get("hookSpecificOutput", {})


def guard(repo: Path, event: dict, env: dict | None = None) -> dict:
    proc = run_hook("pre_tool.py", event, repo, env=env)
    assert proc.returncode == 0, proc.stderr
    return hook_output(proc).get("hookSpecificOutput", {})


def in_process(event: dict):
    parsed = parse_event(json.dumps(event).encode())
    ctx = HookContext(parsed)
    try:
        return check(parsed, ctx)
    finally:
        ctx.close()


@pytest.fixture
def sprint(repo: Path) -> Path:
    seed(repo, **{"sprints.s1": {"id": "s1", "name": "Checkout", "status": "active"},
                  "tasks.t-1": {"title": "Cart", "sprint": "s1"},
                  "tasks.p-1": {"title": "Spec", "sprint": "s1", "team": "product", "assignee": "product-manager",
                                "type": "spec"},
                  "tasks.p-2": {"title": "Copy", "sprint": "s1", "team": "product", "assignee": "product-manager",
                                "type": "spec"},
                  "tasks.r-1": {"title": "Review", "sprint": "s1", "assignee": "tech-lead", "type": "review"}})
    return repo


def test_a_member_is_given_its_task_worktree_and_kept_inside_it(sprint: Path) -> None:
    repo, tree = sprint, sprint / ".worktrees" / "task-t-1"
    out = delegate(repo, "toolu_w1", "fullstack-eng", "t-1")
    assert f"Worktree: {tree} (work and commit only inside it)" in out["updatedInput"]["prompt"]
    assert tree.is_dir() and "[task-t-1]" in git(repo, "worktree", "list")
    lock = state(repo, "worktrees.task-t-1.lock")
    assert (lock["delegation"], lock["session_id"], lock["task"]) == ("toolu_w1", SESSION, "t-1")
    assert state(repo, "tasks.t-1.worktree") == str(tree)

    assert run_hook("subagent_start.py", started(repo, *MEMBER), repo).returncode == 0
    assert state(repo, f"agents.{MEMBER[0]}.worktree") == str(tree)  # linked: the guard's one read

    denied = guard(repo, tool_call(repo, MEMBER, "Write", {"file_path": str(repo / "src" / "cart.py"), "content": ""}))
    assert denied["permissionDecision"] == "deny"
    reason = denied["permissionDecisionReason"]
    assert str(repo / "src" / "cart.py") in reason and f"outside your worktree {tree}" in reason
    assert f"use {tree / 'src' / 'cart.py'}" in reason
    assert not (repo / "src").exists()
    inside = guard(repo, tool_call(repo, MEMBER, "Write", {"file_path": str(tree / "src" / "cart.py"), "content": ""}))
    assert inside.get("permissionDecision") != "deny"
    bash = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": f"cd '{repo}' && rm -rf build"}, cwd=tree))
    assert bash["permissionDecision"] == "deny" and f"Bash `cd` into {repo}" in bash["permissionDecisionReason"]

    [audit] = [json.loads(line) for line in (repo / ".claude/state/audit.jsonl").read_text().splitlines()
               if '"worktree:boundary"' in line and '"Write"' in line]
    assert audit["decision"] == "deny" and audit["resource"] == str(repo / "src" / "cart.py")
    assert audit["worktree"] == str(tree) and audit["agent_id"] == MEMBER[0]

    # the run reports: its lock goes, the worktree (and its work) stays for review
    proc = run_hook("subagent_stop.py", stopped(repo, *MEMBER, "Waiting.\nSTATUS: blocked\nBLOCKER: no key"), repo)
    assert proc.returncode == 0, proc.stderr
    record = state(repo, "worktrees.task-t-1")
    assert record["lock"] is None and record["last_lock"]["why"] == f"run {MEMBER[0]} blocked" and tree.is_dir()
    assert [e["data"]["worktree"] for e in events(repo, "worktree_released")] == ["task-t-1"]


def test_a_task_under_a_team_renamed_in_teams_yaml_still_confines_its_member(repo: Path) -> None:
    """Mid-sprint, `engineering:` became `backend:` in teams.yaml; the task still names `engineering`."""
    teams_file = repo / ".claude" / "teams.yaml"
    teams_file.write_text(teams_file.read_text().replace("\n  engineering:\n", "\n  backend:\n"))
    seed(repo, **{"sprints.s1": {"id": "s1", "name": "Checkout", "status": "active"},
                  "tasks.t-1": {"title": "Cart", "sprint": "s1", "team": "engineering", "assignee": "fullstack-eng"}})
    tree = repo / ".worktrees" / "task-t-1"
    out = delegate(repo, "toolu_w1", "fullstack-eng", "t-1")
    assert f"Worktree: {tree} (work and commit only inside it)" in out["updatedInput"]["prompt"]
    assert state(repo, "worktrees.task-t-1.lock")["delegation"] == "toolu_w1"


@pytest.mark.parametrize(("tool", "tool_input", "denied"), [
    ("Edit", {"file_path": "{repo}/app.py", "old_string": "a", "new_string": "b"}, "{repo}/app.py"),
    ("NotebookEdit", {"notebook_path": "{repo}/.worktrees/task-other/n.ipynb", "new_source": ""},
     "{repo}/.worktrees/task-other/n.ipynb"),
    ("Write", {"file_path": "{tree}/../task-other/x.py", "content": ""}, "{repo}/.worktrees/task-other/x.py"),
    ("Write", {"file_path": "relative.py", "content": ""}, None),  # resolved from the call's cwd, the worktree
    ("Write", {"file_path": "{tree}/deep/new dir/x.py", "content": ""}, None),
    ("Bash", {"command": "cd .. && ls"}, "{repo}/.worktrees"),
    ("Bash", {"command": "pushd /usr/local"}, "/usr/local"),
    # the temp directory is scratch space (the test's project is in it too, and stays out of bounds)
    ("Bash", {"command": "pytest > {scratch}/out.txt 2>&1"}, None),
    ("Bash", {"command": "cd {scratch} && tar xf x.tgz"}, None),
    ("Write", {"file_path": "{scratch}/notes.md", "content": ""}, None),
    ("Bash", {"command": "cd {scratch} && echo x > '{repo}/notes.txt'"}, "{repo}/notes.txt"),
    ("Write", {"file_path": "{repo}/.worktrees/notes.md", "content": ""}, "{repo}/.worktrees/notes.md"),
    ("Bash", {"command": "cd"}, "~"),
    ("Bash", {"command": "git -C '{repo}' commit -am sneaky"}, "{repo}"),
    ("Bash", {"command": "echo x > '{repo}/notes.txt'"}, "{repo}/notes.txt"),
    ("Bash", {"command": "make >> build.log 2>/dev/null && cd src && cd .."}, None),
    ("Bash", {"command": "cd '{tree}' && git commit -am work"}, None),
    ("Bash", {"command": "cd \"$SOMEWHERE\" && ls"}, None),  # not resolvable: best effort lets it through
    ("Monitor", {"command": "tail -f x.log > '{repo}/seen.log'", "description": "d", "timeout_ms": 1000},
     "{repo}/seen.log"),  # Monitor runs a shell command as Bash does
    ("Read", {"file_path": "{repo}/README.md"}, None),  # reading elsewhere is fine
    # programs writing by their own arguments
    ("Bash", {"command": "sed -i s/a/b/ '{repo}/README.md'"}, "{repo}/README.md"),
    ("Bash", {"command": "sed -e s/a/b/ -i.bak ../../README.md"}, "{repo}/README.md"),
    ("Bash", {"command": "echo x | tee -a ../../notes.md"}, "{repo}/notes.md"),
    ("Bash", {"command": "cp src/a.py '{repo}/src/'"}, "{repo}/src/a.py"),
    ("Bash", {"command": "mv '{repo}/a.py' ."}, "{repo}/a.py"),
    ("Bash", {"command": "rm -rf ../task-other"}, "{repo}/.worktrees/task-other"),
    ("Bash", {"command": "touch -d yesterday '{repo}/z'"}, "{repo}/z"),
    ("Bash", {"command": "git -c user.name=x -C '{repo}' commit -am x"}, "{repo}"),
    ("Bash", {"command": "git --work-tree='{repo}' checkout -- ."}, "{repo}"),
    ("Bash", {"command": "env -C '{repo}' make"}, "{repo}"),
    ("Bash", {"command": "find '{repo}/src' -name '*.pyc' -delete"}, "{repo}/src"),
    ("Bash", {"command": "find ../.. -name '*.py' -exec sed -i s/a/b/ {} +"}, "{repo}"),
    ("Bash", {"command": "tar xf {scratch}/x.tar -C ../.."}, "{repo}"),
    ("Bash", {"command": "rsync -a build/ '{repo}/build/'"}, "{repo}/build"),
    ("Bash", {"command": "find . -name '*.pyc' -delete && chmod +x run.sh && tar xzf {scratch}/d.tgz -C vendor"}, None),
    ("Bash", {"command": "cd {scratch} && cd - && echo x > ../notes.md"}, "{repo}/.worktrees/notes.md"),  # back
    ("Bash", {"command": "pushd {scratch} && popd && touch ../notes.md"}, "{repo}/.worktrees/notes.md"),
    ("Bash", {"command": "cd src && cd {scratch} && cd - && echo x > ../notes.md && pushd sub && popd"}, None),
    ("Bash", {"command": "rm -rf build {scratch}/x && mkdir -p build && cp -r '{repo}/docs' docs && mv docs/a b"}, None),
    ("Bash", {"command": "sed -i s/a/b/ x.txt && sed -n 1p '{repo}/README.md' && git log -C --stat"}, None),
    ("Bash", {"command": "echo x | tee out.log /dev/stderr && cp /etc/hostname . && ln -s '{repo}/README.md' r"},
     None),
    # git worktree add|move|remove makes, moves or deletes the directory it names
    ("Bash", {"command": "git worktree remove --force ../task-other"}, "{repo}/.worktrees/task-other"),
    ("Bash", {"command": "git worktree move '{repo}/.worktrees/task-other' {scratch}/t"}, "{repo}/.worktrees/task-other"),
    ("Bash", {"command": "git -c core.x=1 worktree add -b mine ../mine HEAD"}, "{repo}/.worktrees/mine"),
    ("Bash", {"command": "git worktree add --lock --reason 'x y' -B tmp {scratch}/wt && git worktree list"}, None),
    ("Bash", {"command": "git worktree lock --reason mine ../task-other"}, "{repo}/.worktrees/task-other"),
    ("Bash", {"command": "git worktree unlock '{repo}/.worktrees/task-other'"}, "{repo}/.worktrees/task-other"),
    ("Bash", {"command": "git worktree lock . && git worktree unlock '{tree}'"}, None),
    # GIT_WORK_TREE is --work-tree by the environment
    ("Bash", {"command": "GIT_WORK_TREE=../task-other git checkout -- ."}, "{repo}/.worktrees/task-other"),
    ("Bash", {"command": "env GIT_WORK_TREE='{repo}' git add -A"}, "{repo}"),
    ("Bash", {"command": "export GIT_WORK_TREE=../..; git commit -am x"}, "{repo}"),
    ("Bash", {"command": "GIT_WORK_TREE=. git status && echo GIT_WORK_TREE=../.."}, None),
    ("Bash", {"command": "touch ~+/../task-other/x"}, "{repo}/.worktrees/task-other/x"),  # ~+ is $PWD
    ("Bash", {"command": "touch ~+/x && ls ~-"}, None),
    ("Bash", {"command": "script -qc 'cd ../task-other && touch x' /dev/null"}, "{repo}/.worktrees/task-other"),
    ("Bash", {"command": "tmux new -d 'touch ../task-other/x'"}, "{repo}/.worktrees/task-other/x"),
    ("Bash", {"command": "cd ${DIR:-../task-other} && touch x"}, "{repo}/.worktrees/task-other"),
    # programs writing the file an option names
    ("Bash", {"command": "sort -o ../task-other/list.txt list.txt"}, "{repo}/.worktrees/task-other/list.txt"),
    ("Bash", {"command": "curl -sS -o '{repo}/vendor.js' https://example.invalid/v.js"}, "{repo}/vendor.js"),
    ("Bash", {"command": "wget --output-document=../../x.tgz https://example.invalid/x.tgz"}, "{repo}/x.tgz"),
    ("Bash", {"command": "dd if=/dev/zero of=../task-other/blob bs=1k count=1"}, "{repo}/.worktrees/task-other/blob"),
    ("Bash", {"command": "sort -o out.txt in.txt && curl -o - https://example.invalid | dd of=x oflag=sync"}, None),
    # git config writes the repository's config, shared by the main checkout and every worktree
    ("Bash", {"command": "git config core.hooksPath .githooks"}, "{repo}/.git/config"),
    ("Bash", {"command": "git config set --local alias.ci '!sh x.sh'"}, "{repo}/.git/config"),
    ("Bash", {"command": "git config --unset user.name"}, "{repo}/.git/config"),
    ("Bash", {"command": "git config --file ../task-other/x.cfg a.b c"}, "{repo}/.worktrees/task-other/x.cfg"),
    ("Bash", {"command": "git config user.name && git config --get core.hooksPath && git config list"}, None),
    ("Bash", {"command": "git config --file local.cfg a.b c && git -c core.pager=cat log -1"}, None),
    # --git-dir / GIT_DIR point git at the main checkout's repository: its index, HEAD and branch
    ("Bash", {"command": "git --git-dir='{repo}/.git' --work-tree=. commit -qam x"}, "{repo}/.git"),
    ("Bash", {"command": "git -c user.name=x --git-dir=../../.git add -A"}, "{repo}/.git"),
    ("Bash", {"command": "GIT_DIR=../../.git git commit -qam x"}, "{repo}/.git"),
    ("Bash", {"command": "export GIT_DIR='{repo}/.git'; git reset --hard"}, "{repo}/.git"),
    ("Bash", {"command": "GIT_DIR=\"$(git rev-parse --git-dir)\" git status && git --git-dir=.git log -1"}, None),
    # EnterWorktree moves the whole session: only into the run's own worktree
    ("EnterWorktree", {"path": "{repo}/.worktrees/task-other"}, "{repo}/.worktrees/task-other"),
    ("EnterWorktree", {"path": "../.."}, "{repo}"),
    ("EnterWorktree", {"name": "mine"}, "a new worktree"),
    ("EnterWorktree", {"path": "{tree}/"}, None),
], ids=lambda v: v if isinstance(v, str) and len(v) < 14 else None)
def test_boundary_decisions(sprint: Path, tool, tool_input, denied) -> None:
    repo = sprint
    tree = repo / ".worktrees" / "task-t-1"
    tree.mkdir(parents=True)
    seed(repo, **{f"agents.{MEMBER[0]}": {"id": MEMBER[0], "agent_type": MEMBER[1], "worktree": str(tree),
                                          "status": "active", "session_id": SESSION}})
    scratch = tempfile.mkdtemp(prefix="orchestra-scratch-")
    fill = json.loads(json.dumps(tool_input).replace("{repo}", str(repo)).replace("{tree}", str(tree))
                      .replace("{scratch}", scratch))
    verdict = in_process(tool_call(repo, MEMBER, tool, fill, cwd=tree))
    os.rmdir(scratch)
    if denied is None:
        assert not isinstance(verdict, Deny), verdict
    else:
        expected = str(Path.home()) if denied == "~" else denied.replace("{repo}", str(repo))
        assert isinstance(verdict, Deny) and f"{expected} is outside your worktree {tree}" in verdict.reason


def test_a_member_may_name_its_own_worktrees_repository_but_not_the_main_checkouts(sprint: Path) -> None:
    repo = sprint
    tree = live_member(repo)
    own = repo / ".git" / "worktrees" / "task-t-1"
    assert own.is_dir()
    allowed = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": f"GIT_DIR='{own}' git status"}, cwd=tree))
    assert "permissionDecision" not in allowed, allowed
    denied = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": "git --git-dir=../../.git --work-tree=. commit -qam x"},
                                   cwd=tree))
    assert denied["permissionDecision"] == "deny"
    assert (f"Bash `git` on the repository {repo / '.git'} is outside your worktree {tree}"
            in denied["permissionDecisionReason"]), denied


@pytest.mark.parametrize("command, denied", [
    # branches are shared by every worktree and the main checkout: a member moves or deletes only its own
    ("git update-ref refs/heads/main HEAD", "refs/heads/main"),
    ("git update-ref -d refs/heads/task-t-2", "refs/heads/task-t-2"),
    ("git -c core.x=1 update-ref -m x refs/heads/feature-x HEAD~0", "refs/heads/feature-x"),
    ("git update-ref --stdin < refs.txt", "the refs given on standard input"),
    ("git branch -D feature-x", "refs/heads/feature-x"),
    ("git branch --delete --force task-t-2", "refs/heads/task-t-2"),
    ("git branch -f feature-x HEAD", "refs/heads/feature-x"),
    ("git --no-pager branch -m feature-x mine", "refs/heads/feature-x"),
    ("env GIT_PAGER=cat git branch -M main", "refs/heads/main"),
    ("git branch -C feature-x", "refs/heads/feature-x"),
    ("sh -c 'git branch -Df feature-x'", "refs/heads/feature-x"),
    ("git -c alias.nuke='!git branch -D' nuke feature-x", "refs/heads/feature-x"),
    ("git -c alias.ur=update-ref ur refs/heads/main HEAD", "refs/heads/main"),
    ("NUKE='branch -D' git --config-env=alias.nuke=NUKE nuke feature-x", "refs/heads/feature-x"),
    ("export U=update-ref; git --config-env alias.u=U u refs/heads/main HEAD", "refs/heads/main"),
    # quotes and backslashes the shell removes hide no word from the guard
    ("g''it branch -D feature-x", "refs/heads/feature-x"),
    ("gi\\t br\"an\"ch -D feature-x", "refs/heads/feature-x"),
    ("$'\\x67it' update-ref refs/heads/main HEAD", "refs/heads/main"),
    ("git checkout -B feature-x", "refs/heads/feature-x"),
    ("git switch --force-create main", "refs/heads/main"),
    ("git symbolic-ref HEAD refs/heads/main", "refs/heads/main"),
    ("git symbolic-ref refs/heads/feature-x refs/heads/main", "refs/heads/feature-x"),  # then a name for main
    ("git symbolic-ref -q -m x refs/tags/v1 refs/heads/task-t-1", "refs/tags/v1"),
    ("git symbolic-ref --delete refs/heads/feature-x", "refs/heads/feature-x"),
    ("git symbolic-ref refs/heads/task-t-1 refs/heads/main", "refs/heads/main"),  # commits on it then move main
    ("git symbolic-ref refs/heads/alias-new refs/heads/main", "refs/heads/main"),
    # `git filter-branch` rewrites the refs its rev-list names
    ("git filter-branch -f --msg-filter cat -- --all", "every branch and tag"),
    ("git filter-branch --msg-filter cat feature-x", "refs/heads/feature-x"),
    ("git filter-branch -f --env-filter 'X=1' -- main..feature-x", "refs/heads/feature-x"),
    ("git filter-branch --tag-name-filter cat -- task-t-1", "the tags on the commits it rewrites"),
    ("git filter-branch --msg-filter cat -- --branches=feat*", "every branch"),
    ("git switch feature-x && git reset --hard HEAD~0", "refs/heads/feature-x"),  # then moves feature-x
    ("git checkout -q feature-x", "refs/heads/feature-x"),
    ("git fetch . HEAD:feature-x", "refs/heads/feature-x"),
    ("git fetch -q origin +refs/heads/main:refs/heads/task-t-2", "refs/heads/task-t-2"),
    ("git tag -d v1", "refs/tags/v1"),
    ("git tag -f -m again v1 HEAD", "refs/tags/v1"),
    # a branch operand of rebase is checked out and rewritten; --update-refs moves the branches on its commits
    ("git rebase main feature-x", "refs/heads/feature-x"),
    ("git rebase -q --onto main -X theirs HEAD~0 task-t-2", "refs/heads/task-t-2"),
    ("git rebase -i --root feature-x", "refs/heads/feature-x"),
    ("git rebase --update-refs main", "the other branches on the commits it rebases"),
    # the branch checked out before (the worktree's HEAD log: feature-x, then task-t-1)
    ("git checkout -", "refs/heads/feature-x"),
    ("git switch -q -", "refs/heads/feature-x"),
    ("git checkout @{-1}", "refs/heads/feature-x"),
    ("git branch -D @{-1}", "refs/heads/feature-x"),
    ("git checkout -B @{-1} HEAD", "refs/heads/feature-x"),
    ("git switch @{-9}", "@{-9} (a branch checked out before that your worktree's HEAD log does not name: "
                         "name the branch instead)"),
    # a refspec's local destination: pull fetches into it
    ("git pull . HEAD:feature-x", "refs/heads/feature-x"),
    ("git pull --rebase origin main:main", "refs/heads/main"),
    # `git worktree add` resetting a branch, or checking one out where its commits then move it
    ("git worktree add -B feature-x sub", "refs/heads/feature-x"),
    ("git worktree add -f --lock sub task-t-2", "refs/heads/task-t-2"),
    ("git worktree add tmp/feature-x", "refs/heads/feature-x"),  # PATH alone: the branch named like its end
    # its own branch, and new branches and tags of its own
    ("git update-ref refs/heads/task-t-1 HEAD && git branch -f task-t-1 HEAD && git checkout -B task-t-1", None),
    ("git branch new-x && git checkout -b new-y && git switch -c new-z && git branch -f new-w HEAD", None),
    ("git update-ref refs/heads/brand-new HEAD && git tag v2 && git tag -f v3 && git branch -m task-t-1 mine", None),
    ("git branch -a && git branch --list 'task-*' && git branch -vv && git branch --contains main", None),
    ("git branch -c main copy && git branch -rd origin/gone && git tag -l && git log main..HEAD", None),
    ("git checkout main -- README.md && git switch -c fix main && git symbolic-ref HEAD", None),
    ("git symbolic-ref refs/heads/alias-new refs/heads/task-t-1 && git symbolic-ref -q --short HEAD", None),
    ("git filter-branch -f --msg-filter cat && git filter-branch --tree-filter true -- task-t-1 ^main HEAD", None),
    ("git checkout task-t-1 && git checkout README.md && git switch --detach main && git checkout a b", None),
    ("git fetch origin && git fetch origin main:refs/remotes/origin/main && git fetch . main:task-t-1", None),
    ("git branch -D never-made && git update-ref -d refs/heads/never-made", None),  # deletes nothing
    ("git rebase main && git rebase --onto main HEAD~0 task-t-1 && git rebase -i --root && git rebase --continue",
     None),
    ("git checkout @{-2} && git switch -c mine - && git checkout - -- README.md && git log @{-1}", None),
    ("git worktree add -b new-q sub && git worktree add --detach sub2 main && git worktree add sub3 HEAD~0 && "
     "git worktree add new-r && git worktree list && git worktree remove -f sub", None),
    ("git pull --rebase origin main && git pull . main:task-t-1 && git pull origin main:refs/remotes/origin/main",
     None),
], ids=lambda v: v if isinstance(v, str) and len(v) < 14 else None)
def test_a_member_moves_or_deletes_no_branch_but_its_own(sprint: Path, command: str, denied: str | None) -> None:
    repo = sprint
    tree = live_member(repo)
    assert git(tree, "rev-parse", "--abbrev-ref", "HEAD").strip() == "task-t-1"
    git(repo, "worktree", "add", "-q", "-b", "task-t-2", str(repo / ".worktrees" / "task-t-2"))
    git(repo, "branch", "feature-x")
    git(repo, "tag", "v1")
    git(repo, "pack-refs", "--all")  # refs in packed-refs, not loose files, exist as well
    git(tree, "checkout", "-q", "feature-x")  # the branch checked out before is feature-x: `-`, @{-1}
    git(tree, "checkout", "-q", "task-t-1")
    verdict = in_process(tool_call(repo, MEMBER, "Bash", {"command": command}, cwd=tree))
    if denied is None:
        assert not isinstance(verdict, Deny), verdict
    else:
        assert isinstance(verdict, Deny), command
        assert f"{denied}, which is not your worktree's branch task-t-1" in verdict.reason, verdict.reason
        assert "ask the orchestrator, who merges" in verdict.reason


@pytest.mark.parametrize("command, denied", [
    ("git push . HEAD:feature-x", "`git push` to this repository updating refs/heads/feature-x"),
    ("git push -q ../.. +HEAD:refs/heads/main", "`git push` to this repository updating refs/heads/main"),
    ("git push . :task-t-2", "`git push` to this repository deleting refs/heads/task-t-2"),
    ("git push --delete ./ feature-x", "`git push` to this repository deleting refs/heads/feature-x"),
    ("git push -d . v1", "`git push` to this repository deleting refs/tags/v1"),
    ("git push origin HEAD:main && git push . HEAD:task-t-1 HEAD:brand-new && git push . feature-x", None),
], ids=lambda v: v if isinstance(v, str) and len(v) < 14 else None)
def test_a_member_that_may_push_moves_no_other_branch_by_pushing_to_its_own_repository(
        sprint: Path, command: str, denied: str | None) -> None:
    repo = sprint
    (repo / ".claude" / "policy.yaml").write_text("git:\n  push: [orchestrator, team_member]\n", encoding="utf-8")
    tree = live_member(repo)
    git(repo, "worktree", "add", "-q", "-b", "task-t-2", str(repo / ".worktrees" / "task-t-2"))
    git(repo, "branch", "feature-x")
    git(repo, "tag", "v1")
    verdict = in_process(tool_call(repo, MEMBER, "Bash", {"command": command}, cwd=tree))
    if denied is None:
        assert not isinstance(verdict, Deny), verdict
    else:
        assert isinstance(verdict, Deny) and f"Bash {denied}, which is not your worktree's branch task-t-1" in (
            verdict.reason), verdict


# aliases in git's config files, as git reads them for the member's worktree: (config lines, command, denied,
# how the denial names the alias and what it expands to)
NUKE = "`git nuke` (the git alias for `branch -D`) running `git branch -d` deleting refs/heads/feature-x"
CONFIG_ALIASES = [
    (["alias.nuke", "branch -D"], "git nuke feature-x", NUKE),
    (["alias.up", "!git branch -D"], "git up feature-x",
     "`git up` (the git alias for `!git branch -D`) running `git branch -d` deleting refs/heads/feature-x"),
    (["alias.rmb", '!f() { git branch -D "$1"; }; f'], "git rmb feature-x", "refs/heads/feature-x"),
    (["alias.ur", "update-ref"], "git -c core.quotePath=false ur refs/heads/main HEAD", "refs/heads/main"),
    (["alias.sw", "switch"], "cd sub && git sw -q task-t-2", "refs/heads/task-t-2"),
    (["alias.mv-tag", "tag -f"], "git mv-tag v1", "refs/tags/v1"),
    (["alias.nk", "nuke"], "git nk feature-x", "`git nk` (the git alias for `nuke`) running `git branch -d`"),
    (["alias.st", "status"], "git st && git status", None),  # aliases that move nothing
    (["alias.nb", "checkout -b"], "git nb new-x", None),
    (["alias.status", "branch -D feature-x"], "git status", None),  # git's own commands take no alias
]


def config_alias(repo: Path, tree: Path, where: str, key: str, value: str, home: Path) -> None:
    """Put an alias where git reads it for the worktree: the repository's config, an included file, the
    worktree's own config, or the global one ($HOME/.gitconfig)."""
    if where == "repository":
        git(repo, "config", key, value)
    elif where == "include":
        (repo / "aliases.inc").write_text("", encoding="utf-8")
        subprocess.run(["git", "config", "-f", str(repo / "aliases.inc"), key, value], check=True)
        git(repo, "config", "include.path", str(repo / "aliases.inc"))
    elif where == "worktree":
        git(repo, "config", "extensions.worktreeConfig", "true")
        git(tree, "config", "--worktree", key, value)
    else:
        subprocess.run(["git", "config", "-f", str(home / ".gitconfig"), key, value], check=True)


@pytest.mark.parametrize("where", ["repository", "include", "worktree", "global"])
@pytest.mark.parametrize("setting, command, denied", CONFIG_ALIASES,
                         ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
def test_a_member_moves_no_other_branch_through_an_alias_in_gits_config(
        sprint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, setting: list[str], command: str,
        denied: str | None) -> None:
    repo, home = sprint, tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    tree = live_member(repo)
    (tree / "sub").mkdir()
    git(repo, "worktree", "add", "-q", "-b", "task-t-2", str(repo / ".worktrees" / "task-t-2"))
    git(repo, "branch", "feature-x")
    git(repo, "tag", "v1")
    git(repo, "config", "alias.nuke", "branch -D")  # the alias `nk` stands for
    config_alias(repo, tree, where, *setting, home)
    verdict = in_process(tool_call(repo, MEMBER, "Bash", {"command": command}, cwd=tree))
    if denied is None:
        assert not isinstance(verdict, Deny), verdict
    else:
        assert isinstance(verdict, Deny), command
        assert denied in verdict.reason and "which is not your worktree's branch task-t-1" in verdict.reason, (
            verdict.reason)


def test_an_alias_in_the_global_git_config_is_denied_through_the_real_hook_and_names_what_it_runs(
        sprint: Path, tmp_path: Path) -> None:
    repo, config = sprint, tmp_path / "global.gitconfig"
    tree = live_member(repo)
    git(repo, "branch", "feature-x")
    subprocess.run(["git", "config", "-f", str(config), "alias.nuke", "branch -D"], check=True)
    event = tool_call(repo, MEMBER, "Bash", {"command": "git nuke feature-x"}, cwd=tree)
    proc = run_hook("pre_tool.py", event, repo, env={"GIT_CONFIG_GLOBAL": str(config)})
    denied = hook_output(proc).get("hookSpecificOutput", {})
    assert denied.get("permissionDecision") == "deny", (proc.stdout, proc.stderr)
    assert (f"Bash {NUKE}, which is not your worktree's branch task-t-1" in denied["permissionDecisionReason"])
    # the line's own variables choosing git's config are read as git reads them; set after the command, or
    # making the look-up fail, they hide nothing
    for command in (f"GIT_CONFIG_GLOBAL='{config}' git nuke feature-x",
                    f"export GIT_CONFIG_GLOBAL='{config}'; git nuke feature-x",
                    "GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=alias.nk GIT_CONFIG_VALUE_0='branch -D' git nk feature-x",
                    f"cd . && git nuke feature-x; export GIT_CONFIG_GLOBAL=/dev/null GIT_DIR='{tmp_path}/none'"):
        other = tool_call(repo, MEMBER, "Bash", {"command": command}, cwd=tree)
        assert guard(repo, other, {"GIT_CONFIG_GLOBAL": str(config)} if "/dev/null" in command else None)[
            "permissionDecision"] == "deny", command
    assert git(repo, "rev-parse", "--verify", "-q", "feature-x")


@pytest.mark.parametrize("command, autocorrect, denied", [
    ("git brnach -D feature-x", "-1", True),  # git runs `git branch -D feature-x` at once
    ("git brnach -D feature-x", "1", True),  # after a tenth of a second
    ("git -c help.autocorrect=immediate upate-ref -d refs/heads/feature-x", None, True),
    ("git brnach -D feature-x", "0", False),  # git only suggests `branch`
    ("git brnach -D feature-x", None, False),
    ("git -c help.autocorrect=0 brnach -D feature-x", "-1", False),
    ("git my-tool -D feature-x", "-1", False),  # a `git-my-tool` program on PATH runs as itself
    ("git stauts && git bra -D feature-x", "-1", False),  # `status`; `bra` begins `branch`: git lists, runs none
    ("git nuek feature-x", "-1", True),  # the alias `nuke` is nearest
])
def test_a_word_git_autocorrects_to_a_command_is_not_let_through(
        sprint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, autocorrect: str | None,
        denied: bool) -> None:
    repo, tools = sprint, tmp_path / "bin"
    tools.mkdir()
    (tools / "git-my-tool").write_text("#!/bin/sh\n", encoding="utf-8")
    (tools / "git-my-tool").chmod(0o755)
    monkeypatch.setenv("PATH", f"{os.environ['PATH']}{os.pathsep}{tools}")
    tree = live_member(repo)
    git(repo, "branch", "feature-x")
    git(repo, "config", "alias.nuke", "branch -D")
    if autocorrect is not None:
        git(repo, "config", "help.autocorrect", autocorrect)
    verdict = in_process(tool_call(repo, MEMBER, "Bash", {"command": command}, cwd=tree))
    if not denied:
        assert not isinstance(verdict, Deny), verdict
        return
    assert isinstance(verdict, Deny), command
    word, guess = next((typed, meant) for typed, meant in (("brnach", "branch"), ("upate-ref", "update-ref"),
                                                           ("nuek", "nuke")) if typed in command.split())
    assert (f"`git {word}` (which help.autocorrect in git config runs as `git {guess}`) running `git "
            ) in verdict.reason and "feature-x, which is not your worktree's branch task-t-1" in verdict.reason, (
        verdict.reason)


ON = {"rebase.updateRefs": "true"}


@pytest.mark.parametrize("command, config, denied", [
    ("git rebase main", ON, "`git rebase`"),
    ("git rebase -q --onto main HEAD~0", ON, "`git rebase`"),
    ("git -c rebase.updateRefs=true rebase main", {}, "`git rebase`"),
    ("git rebase --no-update-refs main", ON, None),
    ("git rebase --update-refs --no-update-refs main", ON, None),
    ("git rebase --continue", ON, None),
    ("git rebase main", {"rebase.updateRefs": "false"}, None),
    ("git rebase main", {}, None),
    ("git -c rebase.updateRefs=false rebase main", ON, None),
    # `git pull` that rebases runs `git rebase`, which reads rebase.updateRefs too
    ("git pull --rebase . main", ON, "`git pull`"),
    ("git pull -q -r . main", ON, "`git pull`"),
    ("git pull . main", {**ON, "pull.rebase": "true"}, "`git pull`"),
    ("git pull . main", {**ON, "branch.task-t-1.rebase": "merges"}, "`git pull`"),
    ("git pull . main", ON, None),
    ("git pull --no-rebase . main", {**ON, "pull.rebase": "true"}, None),
    ("git pull --rebase=false . main", {**ON, "pull.rebase": "true"}, None),
    ("git pull --rebase . main", {"pull.rebase": "true"}, None),
    ("git -c rebase.updateRefs=false pull --rebase . main", ON, None),
])
def test_rebase_update_refs_in_git_config_moves_other_branches_and_is_denied(
        sprint: Path, command: str, config: dict[str, str], denied: str | None) -> None:
    repo = sprint
    tree = live_member(repo)
    for key, value in config.items():
        git(repo, "config", key, value)
    verdict = in_process(tool_call(repo, MEMBER, "Bash", {"command": command}, cwd=tree))
    if denied is None:
        assert not isinstance(verdict, Deny), verdict
        return
    assert isinstance(verdict, Deny), command
    alone = ("`git rebase --no-update-refs` rebases your branch alone" if "rebase" in denied else
             "`git -c rebase.updateRefs=false pull` rebases your branch alone")
    assert (f"{denied} (rebase.updateRefs is true in git config, so it rebases as with `--update-refs`; {alone}) "
            "moving the other branches on the commits it rebases, which is not your worktree's branch task-t-1"
            ) in verdict.reason, verdict.reason


def test_rebase_update_refs_in_git_config_really_moves_another_branch(sprint: Path) -> None:
    """What the guard above stops: with rebase.updateRefs true a rebase without `--update-refs` on the line
    moves another branch."""
    repo = sprint
    tree = live_member(repo)
    (tree / "a.txt").write_text("a\n", encoding="utf-8")
    git(tree, "add", "a.txt")
    git(tree, "commit", "-qm", "a")
    git(tree, "branch", "feature-x")  # another branch on the member's commit
    (tree / "b.txt").write_text("b\n", encoding="utf-8")
    git(tree, "add", "b.txt")
    git(tree, "commit", "-qm", "b")
    (repo / "m.txt").write_text("m\n", encoding="utf-8")
    git(repo, "add", "m.txt")
    git(repo, "commit", "-qm", "m")
    before = git(repo, "rev-parse", "feature-x")
    git(repo, "config", "rebase.updateRefs", "true")
    git(tree, "pull", "-q", "--rebase", ".", "main")  # `git pull --rebase` as well as `git rebase main`
    assert git(repo, "rev-parse", "feature-x") != before


def test_a_member_moving_the_main_checkouts_branch_is_denied_and_audited(sprint: Path) -> None:
    repo = sprint
    tree = live_member(repo)
    before = git(repo, "rev-parse", "main")
    denied = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": "git update-ref refs/heads/main HEAD~0"},
                                   cwd=tree))
    assert denied["permissionDecision"] == "deny"
    reason = denied["permissionDecisionReason"]
    assert ("Bash `git update-ref` moving refs/heads/main, which is not your worktree's branch task-t-1" in reason
            and "move or delete the branch main" in reason), reason
    [audit] = [json.loads(line) for line in (repo / ".claude/state/audit.jsonl").read_text().splitlines()
               if '"refs/heads/main"' in line]
    assert (audit["rule"], audit["decision"], audit["worktree"]) == ("worktree:boundary", "deny", str(tree))
    assert git(repo, "rev-parse", "main") == before
    own = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": "git branch scratch && git update-ref "
                                                                  "refs/heads/task-t-1 HEAD"}, cwd=tree))
    assert "permissionDecision" not in own, own


def test_a_member_editing_the_main_checkout_in_place_is_stopped_with_a_reason_it_can_follow(sprint: Path) -> None:
    repo, tree = sprint, sprint / ".worktrees" / "task-t-1"
    tree.mkdir(parents=True)
    seed(repo, **{f"agents.{MEMBER[0]}": {"id": MEMBER[0], "agent_type": MEMBER[1], "worktree": str(tree),
                                          "status": "active", "session_id": SESSION}})
    denied = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": f"sed -i s/shop/store/ '{repo}/README.md'"},
                                   cwd=tree))
    reason = denied["permissionDecisionReason"]
    assert denied["permissionDecision"] == "deny" and f"Bash `sed` writing to {repo / 'README.md'}" in reason
    assert f"use {tree / 'README.md'}" in reason
    up = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": "cd .. && ls"}, cwd=tree))
    assert up["permissionDecision"] == "deny" and f"Bash `cd` into {repo / '.worktrees'}" in up["permissionDecisionReason"]
    assert "use " not in up["permissionDecisionReason"]  # no same-file suggestion for the worktrees' directory
    hooks = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": "git config core.hooksPath hooks"}, cwd=tree))
    assert f"Bash `git config` writing to {repo / '.git' / 'config'} is outside" in hooks["permissionDecisionReason"]
    assert "use " not in hooks["permissionDecisionReason"]  # a worktree has no .git/config of its own to use
    (tree / "docs").symlink_to(repo)  # a link that leads out of the worktree
    linked = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": "echo x > docs/notes.md"}, cwd=tree))
    assert f"{tree / 'docs' / 'notes.md'} (a symbolic link leads there to {repo / 'notes.md'}) is outside" in (
        linked["permissionDecisionReason"])


def test_a_member_cannot_reach_another_worktree_by_enter_worktree_or_by_its_name_in_git_worktree(sprint: Path) -> None:
    repo, tree, other = sprint, sprint / ".worktrees" / "task-t-1", sprint / ".worktrees" / "task-t-2"
    git(repo, "worktree", "add", "-q", "-b", "task-t-2", str(other))
    tree.mkdir(parents=True)
    seed(repo, **{f"agents.{MEMBER[0]}": {"id": MEMBER[0], "agent_type": MEMBER[1], "worktree": str(tree),
                                          "status": "active", "session_id": SESSION}})
    denied = guard(repo, tool_call(repo, MEMBER, "EnterWorktree", {"path": str(other)}, cwd=tree))
    assert denied["permissionDecision"] == "deny"
    assert f"EnterWorktree into {other} is outside your worktree {tree}" in denied["permissionDecisionReason"]
    [audit] = [json.loads(line) for line in (repo / ".claude/state/audit.jsonl").read_text().splitlines()
               if '"EnterWorktree"' in line]
    assert (audit["rule"], audit["resource"], audit["decision"]) == ("worktree:boundary", str(other), "deny")
    assert guard(repo, tool_call(repo, None, "EnterWorktree", {"path": str(other)})).get("permissionDecision") is None
    # git finds the worktree that remove, move, lock and unlock name by the end of its path first
    for command in ("git worktree remove --force task-t-2", "git worktree lock .worktrees/task-t-2"):
        by_name = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": command}, cwd=tree))
        assert by_name["permissionDecision"] == "deny", command
        assert f"Bash `git worktree` changing {other} is outside" in by_name["permissionDecisionReason"]
    assert "permissionDecision" not in guard(repo, tool_call(repo, MEMBER, "Bash", {"command": "git worktree list"},
                                                            cwd=tree))


def test_the_main_thread_and_runs_without_a_worktree_are_not_confined(sprint: Path) -> None:
    repo = sprint
    seed(repo, **{"agents.a-free": {"id": "a-free", "agent_type": "fullstack-eng", "status": "active"}})
    anywhere = {"file_path": str(repo / "anywhere.py"), "content": ""}
    assert isinstance(in_process(tool_call(repo, None, "Write", anywhere)), Allow)
    assert isinstance(in_process(tool_call(repo, ("a-free", "fullstack-eng"), "Write", anywhere)), Allow)


REVIEWER = ("a2e00000000000002", "tech-lead")
DIRECTOR = ("a3d00000000000003", "engineering-director")


def live_member(repo: Path) -> Path:
    """fullstack-eng delegated task t-1 and at work in its worktree, which its run holds."""
    delegate(repo, "toolu_w1", "fullstack-eng", "t-1")
    assert run_hook("subagent_start.py", started(repo, *MEMBER), repo).returncode == 0
    return repo / ".worktrees" / "task-t-1"


def test_a_reviewer_reads_and_tests_a_members_worktree_but_changes_nothing_in_it(sprint: Path) -> None:
    repo = sprint
    tree = live_member(repo)
    target = tree / "src" / "cart.py"
    denied = guard(repo, tool_call(repo, REVIEWER, "Edit", {"file_path": str(target), "old_string": "a",
                                                           "new_string": "b"}))
    assert denied["permissionDecision"] == "deny"
    reason = denied["permissionDecisionReason"]
    assert f"Edit to {target} is inside the worktree task-t-1 ({tree})" in reason, reason
    assert "tech-lead (role reviewer) reviews" in reason and "verdict" in reason and "send_message" in reason
    [audit] = [json.loads(line) for line in (repo / ".claude/state/audit.jsonl").read_text().splitlines()
               if '"worktree:reviewer"' in line]
    assert (audit["decision"], audit["resource"], audit["worktree"], audit["role"]) == (
        "deny", str(target), str(tree), "reviewer")
    bash = guard(repo, tool_call(repo, REVIEWER, "Bash", {"command": f"git -C '{tree}' commit -qam 'fix typo'"}))
    assert bash["permissionDecision"] == "deny"
    assert f"Bash `git commit` changing {tree} is inside the worktree task-t-1" in bash["permissionDecisionReason"]
    scratch = tempfile.mkdtemp(prefix="orchestra-review-")
    try:
        for command, denied_path in (
                (f"cd '{tree}' && echo x >> src/cart.py", target),
                (f"git -C '{tree}' stash", tree),
                ("cd .worktrees/task-t-1 && git checkout -- .", tree),
                (f"GIT_WORK_TREE='{tree}' git reset --hard", tree),
                (f"sh -c \"rm -rf '{tree}/src'\"", tree / "src"),
                (f"cp notes.md '{tree}/'", tree / "notes.md"),
                (f"git -C '{tree}' diff main && cd '{tree}' && pytest -q > {scratch}/out.txt", None),
                (f"git -C '{tree}' log --stat | head && cat '{target}' && echo ok > {repo}/review.md", None),
        ):
            verdict = in_process(tool_call(repo, REVIEWER, "Bash", {"command": command}))
            if denied_path is None:
                assert not isinstance(verdict, Deny), (command, verdict)
            else:
                assert isinstance(verdict, Deny) and f"{denied_path} is inside the worktree task-t-1" in verdict.reason, (
                    command, verdict)
    finally:
        os.rmdir(scratch)
    assert isinstance(in_process(tool_call(repo, REVIEWER, "Read", {"file_path": str(target)})), Allow)
    # the member reported: its work waits for review, and the reviewer still leaves it as it is
    proc = run_hook("subagent_stop.py", stopped(repo, *MEMBER, "Done.\nSTATUS: needs_review"), repo)
    assert proc.returncode == 0, proc.stderr
    assert state(repo, "worktrees.task-t-1.lock") is None
    again = guard(repo, tool_call(repo, REVIEWER, "Write", {"file_path": str(target), "content": ""}))
    assert again["permissionDecision"] == "deny" and "inside the worktree task-t-1" in again["permissionDecisionReason"]


def test_an_orchestrator_leaves_a_worktree_alone_while_a_live_run_works_in_it(sprint: Path) -> None:
    repo = sprint
    tree = live_member(repo)
    target = tree / "src" / "cart.py"
    denied = guard(repo, tool_call(repo, DIRECTOR, "Write", {"file_path": str(target), "content": ""}))
    assert denied["permissionDecision"] == "deny"
    reason = denied["permissionDecisionReason"]
    assert f"Write to {target} is inside the worktree task-t-1 ({tree}), held by run {MEMBER[0]} (task t-1" in reason
    assert f"send_message to agent:{MEMBER[0]}" in reason, reason
    [audit] = [json.loads(line) for line in (repo / ".claude/state/audit.jsonl").read_text().splitlines()
               if '"worktree:held"' in line]
    assert (audit["decision"], audit["resource"], audit["role"]) == ("deny", str(target), "orchestrator")
    bash = guard(repo, tool_call(repo, DIRECTOR, "Bash", {"command": f"git -C '{tree}' reset --hard HEAD~1"}))
    assert bash["permissionDecision"] == "deny" and f"held by run {MEMBER[0]}" in bash["permissionDecisionReason"]
    # a `claude --agent engineering-director` session: agent_type without agent_id
    session = tool_call(repo, None, "Write", {"file_path": str(target), "content": ""})
    session["agent_type"] = DIRECTOR[1]
    assert isinstance(in_process(session), Deny)
    # a member run without a worktree of its own is kept out too
    seed(repo, **{"agents.a-free": {"id": "a-free", "agent_type": "api-engineer", "status": "active"}})
    assert isinstance(in_process(tool_call(repo, ("a-free", "api-engineer"), "Write",
                                           {"file_path": str(target), "content": ""})), Deny)
    # a worktree nobody holds is the orchestrator's to change, in the same command line too
    seed(repo, **{"tasks.t-2": {"title": "Checkout", "sprint": "s1"}})
    made = cli(repo, "worktree", "create", "t-2")
    assert made.returncode == 0, made.stderr
    free = repo / ".worktrees" / "task-t-2"
    for command, denied_path in ((f"touch '{free}/x' && git -C '{free}' commit -qam x", None),
                                 (f"touch '{free}/x' && touch '{tree}/y'", tree / "y"),
                                 ("find . -name '*.pyc' -delete", None)):
        verdict = in_process(tool_call(repo, DIRECTOR, "Bash", {"command": command}))
        if denied_path is None:
            assert not isinstance(verdict, Deny), (command, verdict)
        else:
            assert isinstance(verdict, Deny) and f"{denied_path} is inside the worktree task-t-1" in verdict.reason, (
                command, verdict)
    for allowed in (tool_call(repo, DIRECTOR, "Bash", {"command": f"git -C '{tree}' log -3 && cd '{tree}' && make test"}),
                    tool_call(repo, DIRECTOR, "Read", {"file_path": str(target)}),
                    tool_call(repo, DIRECTOR, "Write", {"file_path": str(repo / "PLAN.md"), "content": ""}),
                    tool_call(repo, None, "Write", {"file_path": str(target), "content": ""})):  # the human's session
        assert isinstance(in_process(allowed), Allow), allowed
    # the run reports: its lock goes, and the orchestrator may now take the work on
    proc = run_hook("subagent_stop.py", stopped(repo, *MEMBER, "Done.\nSTATUS: needs_review"), repo)
    assert proc.returncode == 0, proc.stderr
    assert state(repo, "worktrees.task-t-1.lock") is None
    after = guard(repo, tool_call(repo, DIRECTOR, "Write", {"file_path": str(target), "content": ""}))
    assert after.get("permissionDecision") != "deny", after


def test_a_shared_worktree_is_held_by_one_run_at_a_time_and_freed_by_session_end(sprint: Path) -> None:
    repo, tree = sprint, sprint / ".worktrees" / "sprint-s1-checkout"
    first = delegate(repo, "toolu_p1", "product-manager", "p-1")
    assert f"Worktree: {tree} (" in first["updatedInput"]["prompt"]
    second = delegate(repo, "toolu_p2", "product-manager", "p-2")
    assert second["permissionDecision"] == "deny"
    reason = second["permissionDecisionReason"]
    assert f"task p-2 is not delegated: its worktree sprint-s1-checkout ({tree}) is held by" in reason
    assert f"held by delegation toolu_p1 (task p-1, session {SESSION}), not started yet" in reason
    assert state(repo, "tasks.p-2.status") == "queued" and state(repo, "delegations.toolu_p2") is None

    end = payload(repo, "SessionEnd", reason="other")
    assert run_hook("session_end.py", end, repo).returncode == 0
    assert state(repo, "worktrees.sprint-s1-checkout.lock") is None
    other = "5e551011-0000-4000-8000-00000000wt02"
    again = delegate(repo, "toolu_p3", "product-manager", "p-2", session_id=other)
    assert f"Worktree: {tree} (" in again["updatedInput"]["prompt"]
    assert state(repo, "worktrees.sprint-s1-checkout.lock.session_id") == other
    assert state(repo, "worktrees.sprint-s1-checkout.tasks") == ["p-1", "p-2"]


def test_a_run_assigned_a_worktree_before_it_started_is_confined_once_it_starts(sprint: Path) -> None:
    repo, tree = sprint, sprint / ".worktrees" / "task-t-1"
    assigned = cli(repo, "worktree", "assign", "t-1", "--agent", MEMBER[0], "--session", SESSION)
    assert assigned.returncode == 0, assigned.stderr
    assert state(repo, f"agents.{MEMBER[0]}") is None  # not in state yet: nothing to confine until it starts
    assert run_hook("subagent_start.py", started(repo, *MEMBER), repo).returncode == 0
    assert state(repo, f"agents.{MEMBER[0]}.worktree") == str(tree)
    outside = tool_call(repo, MEMBER, "Write", {"file_path": str(repo / "src" / "cart.py"), "content": ""})
    denied = guard(repo, outside)
    assert denied["permissionDecision"] == "deny" and f"outside your worktree {tree}" in denied["permissionDecisionReason"]
    inside = tool_call(repo, MEMBER, "Write", {"file_path": str(tree / "src" / "cart.py"), "content": ""})
    assert isinstance(in_process(inside), Allow)


def test_reviewers_orchestrators_and_isolated_agents_get_no_worktree(sprint: Path) -> None:
    repo = sprint
    review = delegate(repo, "toolu_r1", "tech-lead", "r-1")
    assert "Worktree:" not in review["updatedInput"]["prompt"]
    orchestrate = delegate(repo, "toolu_o1", "engineering-director", "s1")
    assert "Worktree:" not in orchestrate["updatedInput"]["prompt"]
    native = payload(repo, "PreToolUse", "Agent", tool_use_id="toolu_i1",
                     tool_input={"description": "isolated", "prompt": "[task:t-1] Work.",
                                 "subagent_type": "fullstack-eng", "isolation": "worktree"})
    out = hook_output(run_hook("pre_agent.py", native, repo))["hookSpecificOutput"]
    assert "Worktree:" not in out["updatedInput"]["prompt"]
    assert state(repo, "worktrees") == {} and not (repo / ".worktrees").exists()


def test_a_worktree_git_cannot_make_denies_the_delegation(sprint: Path) -> None:
    repo = sprint
    git(repo, "checkout", "-q", "-b", "task-t-1")  # the branch is checked out in the main checkout already
    out = delegate(repo, "toolu_w9", "fullstack-eng", "t-1")
    assert out["permissionDecision"] == "deny"
    assert "needs the task worktree task-t-1, and it cannot be made" in out["permissionDecisionReason"]
    assert "worktree_strategy: none" in out["permissionDecisionReason"]
    assert state(repo, "delegations.toolu_w9") is None and state(repo, "worktrees") == {}


def test_a_repository_without_commits_delegates_without_a_worktree(project: Path) -> None:
    (project / ".claude" / "teams.yaml").write_text(
        "teams:\n  engineering:\n    orchestrator: lead\n    members: [{name: fullstack-eng}]\n")
    seed(project, **{"tasks.t-1": {"title": "x"}})
    out = delegate(project, "toolu_n1", "fullstack-eng", "t-1")
    assert "updatedInput" in out and "Worktree:" not in out["updatedInput"]["prompt"]


def test_native_worktrees_are_recorded_without_a_worktree_create_hook(repo: Path) -> None:
    assert "WorktreeCreate" not in hooks_block() and "WorktreeRemove" in hooks_block()
    path = str(repo / ".claude" / "worktrees" / "bold-fox")
    entered = payload(repo, "PostToolUse", "Write", tool_name="EnterWorktree", tool_input={"name": "bold-fox"},
                      tool_response={"worktreePath": path, "worktreeBranch": "worktree-bold-fox", "message": "ok"})
    assert run_hook("worktree_native.py", entered, repo).returncode == 0
    record = state(repo, "worktrees.native-bold-fox")
    assert (record["origin"], record["status"], record["branch"], record["path"]) == (
        "native", "active", "worktree-bold-fox", path)
    isolated = payload(repo, "PostToolUse", "Agent", tool_use_id="toolu_iso",
                       tool_input={"description": "d", "prompt": "p", "isolation": "worktree"},
                       tool_response={"status": "completed", "agentId": "a-iso", "content": [],
                                      "worktreePath": str(repo / ".claude/worktrees/agent-a1"),
                                      "worktreeBranch": "worktree-agent-a1"})
    assert run_hook("worktree_native.py", isolated, repo).returncode == 0
    removed = payload(repo, "SessionEnd", hook_event_name="WorktreeRemove", worktree_path=path)
    assert run_hook("worktree_native.py", removed, repo).returncode == 0
    assert state(repo, "worktrees.native-bold-fox.status") == "removed"
    assert state(repo, "worktrees.native-agent-a1.agent_id") == "a-iso"
    assert [e["type"] for e in events(repo, "native_worktree_entered", "native_worktree_isolated",
                                      "native_worktree_removed")] == [
        "native_worktree_entered", "native_worktree_isolated", "native_worktree_removed"]


def test_a_native_worktree_entered_again_after_its_removal_is_active_again(repo: Path) -> None:
    path = str(repo / ".claude" / "worktrees" / "bold-fox")
    entered = payload(repo, "PostToolUse", "Write", tool_name="EnterWorktree", tool_input={"name": "bold-fox"},
                      tool_response={"worktreePath": path, "worktreeBranch": "worktree-bold-fox", "message": "ok"})
    removed = payload(repo, "SessionEnd", hook_event_name="WorktreeRemove", worktree_path=path)
    for event in (entered, removed, {**entered, "session_id": "second-session"}):
        assert run_hook("worktree_native.py", event, repo).returncode == 0
    record = state(repo, "worktrees.native-bold-fox")
    assert (record["status"], record["session_id"], "removed_at" in record) == ("active", "second-session", False)
    assert [e["type"] for e in events(repo, "native_worktree_entered", "native_worktree_removed")] == [
        "native_worktree_entered", "native_worktree_removed", "native_worktree_entered"]


def test_a_worktree_made_at_delegation_is_set_up_in_the_background(sprint: Path) -> None:
    repo = sprint
    (repo / ".claude" / "worktrees.yaml").write_text("setup: 'sleep 0.3 && echo ready > ready.txt'\n")
    out = delegate(repo, "toolu_s1", "fullstack-eng", "t-1")
    log = repo / ".claude" / "state" / "worktrees" / "task-t-1.setup.log"
    assert f"setup (`sleep 0.3 && echo ready > ready.txt`) is still running; its log {log}" in \
        out["updatedInput"]["prompt"]
    deadline = time.monotonic() + 60
    while "orchestra: setup exited" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text().rstrip().endswith("orchestra: setup exited 0")
    assert (repo / ".worktrees" / "task-t-1" / "ready.txt").read_text() == "ready\n"


def test_a_guess_crossed_between_parallel_members_is_settled_from_the_transcript(sprint: Path) -> None:
    """Two fullstack-eng delegations wait at once; SubagentStart can only guess which run is which. The
    first tool call of each run reads its own transcript's [task:<id>] and settles the link, so each
    member writes in its own worktree."""
    from tests.hooks.test_delegation import write_transcript

    repo = sprint
    seed(repo, **{"tasks.t-2": {"title": "Checkout", "sprint": "s1"}})
    delegate(repo, "toolu_p1", "fullstack-eng", "t-1")
    delegate(repo, "toolu_p2", "fullstack-eng", "t-2")
    first, second = ("a1f0000000000000a", "fullstack-eng"), ("a1f0000000000000b", "fullstack-eng")
    # the run that started first was launched by the second delegation: the oldest-first guess is wrong
    for agent, task_id in ((first, "t-2"), (second, "t-1")):
        transcript = repo / "cc" / SESSION / "subagents" / f"agent-{agent[0]}.jsonl"
        write_transcript(transcript, f"[task:{task_id}] Do the work.", [], "")
        assert run_hook("subagent_start.py", started(repo, *agent), repo).returncode == 0
    assert state(repo, f"agents.{first[0]}.task") == "t-1"  # the guess
    assert state(repo, f"agents.{first[0]}.link") == "provisional"

    own = repo / ".worktrees" / "task-t-2" / "checkout.py"
    allowed = guard(repo, tool_call(repo, first, "Write", {"file_path": str(own), "content": ""}))
    assert allowed.get("permissionDecision") != "deny", allowed
    run = state(repo, f"agents.{first[0]}")
    assert (run["task"], run["link"], run["worktree"]) == ("t-2", "definitive", str(own.parent))
    assert state(repo, f"agents.{second[0]}.task") == "t-1"  # the displaced run took the other one

    # the other member is kept out of its neighbour's worktree and let into its own
    denied = guard(repo, tool_call(repo, second, "Write", {"file_path": str(own), "content": ""}))
    assert denied["permissionDecision"] == "deny"
    mine = repo / ".worktrees" / "task-t-1" / "cart.py"
    assert guard(repo, tool_call(repo, second, "Write", {"file_path": str(mine), "content": ""})).get(
        "permissionDecision") != "deny"
    assert state(repo, f"agents.{second[0]}.link") == "definitive"


def test_native_worktrees_whose_names_slug_alike_keep_a_record_each(repo: Path) -> None:
    paths = [str(repo / ".claude" / "worktrees" / name) for name in ("Bold.Fox", "bold-fox")]
    for path in paths:
        entered = payload(repo, "PostToolUse", "Write", tool_name="EnterWorktree", tool_input={"name": Path(path).name},
                          tool_response={"worktreePath": path, "worktreeBranch": f"worktree-{Path(path).name}"})
        assert run_hook("worktree_native.py", entered, repo).returncode == 0
    listed = {row["path"]: row for row in json.loads(cli(repo, "worktree", "list", "--json").stdout)}
    assert sorted(listed) == sorted(paths) and len({row["id"] for row in listed.values()}) == 2
    assert listed[paths[0]]["id"] == "native-bold-fox" and listed[paths[1]]["branch"] == "worktree-bold-fox"


def test_a_worktree_directory_that_is_no_checkout_any_more_is_not_handed_out(sprint: Path) -> None:
    repo, tree = sprint, sprint / ".worktrees" / "task-t-1"
    assert cli(repo, "worktree", "create", "t-1").returncode == 0
    git(repo, "worktree", "remove", str(tree))  # by hand; then something writes there again
    tree.mkdir()
    (tree / "stray.txt").write_text("x\n")

    out = delegate(repo, "toolu_w9", "fullstack-eng", "t-1")
    assert out["permissionDecision"] == "deny" and f"{tree} exists and is not a git worktree" in \
        out["permissionDecisionReason"]
    assert "Worktree:" not in json.dumps(out) and state(repo, "worktrees.task-t-1.lock") is None
    again = cli(repo, "worktree", "create", "t-1")
    assert again.returncode == 1 and f"{tree} exists and is not a git worktree" in again.stderr


def test_a_worktree_moved_by_hand_is_followed_not_pruned_or_refused(sprint: Path) -> None:
    repo, tree = sprint, sprint / ".worktrees" / "task-t-1"
    seed(repo, **{"tasks.t-2": {"sprint": "s1"}})
    assert cli(repo, "worktree", "create", "t-1").returncode == 0 and cli(repo, "worktree", "create", "t-2").returncode == 0
    (tree / "wip.py").write_text("work\n")
    elsewhere, other = repo / ".worktrees" / "my cart", repo / ".worktrees" / "task-t-2"
    git(repo, "worktree", "move", str(tree), str(elsewhere))
    git(repo, "worktree", "move", str(other), str(repo / ".worktrees" / "t2 moved"))
    listed = cli(repo, "worktree", "list").stdout
    assert f"{other} (moved by hand to {repo / '.worktrees' / 't2 moved'})" in listed

    out = delegate(repo, "toolu_w8", "fullstack-eng", "t-1")
    assert f"Worktree: {elsewhere} (work and commit only inside it)" in out["updatedInput"]["prompt"]
    assert state(repo, "worktrees.task-t-1.path") == state(repo, "tasks.t-1.worktree") == str(elsewhere)
    assert cli(repo, "worktree", "release", "task-t-1").returncode == 0
    pruned = json.loads(cli(repo, "worktree", "prune", "--json").stdout)
    assert pruned["moved"] == [{"worktree": "task-t-2", "path": str(repo / ".worktrees" / "t2 moved"),
                                "why": f"moved by hand from {other}"}]
    assert pruned["removed"] == pruned["closed"] == [] and (elsewhere / "wip.py").is_file()
    assert state(repo, "worktrees.task-t-2.path") == str(repo / ".worktrees" / "t2 moved")
    made = json.loads(cli(repo, "worktree", "create", "t-1", "--json").stdout)
    assert made["path"] == str(elsewhere) and made["status"] == "active"

    shutil.rmtree(elsewhere)  # deleted by hand, and its branch checked out in another worktree: no move
    git(repo, "worktree", "prune")
    git(repo / ".worktrees" / "t2 moved", "switch", "-q", "task-t-1")
    listed = {row["id"]: row for row in json.loads(cli(repo, "worktree", "list", "--json").stdout)}
    assert "moved_to" not in listed["task-t-1"] and not listed["task-t-1"]["exists"]


def test_a_finished_worktree_moved_out_of_the_root_is_followed_but_left_to_remove_by_hand(sprint: Path) -> None:
    repo, tree = sprint, sprint / ".worktrees" / "task-t-1"
    assert cli(repo, "worktree", "create", "t-1").returncode == 0
    outside = repo.parent / f"{repo.name}-t1 kept"
    git(repo, "worktree", "move", str(tree), str(outside))
    assert cli(repo, "task", "set-status", "t-1", "completed").returncode == 0  # finished, clean and merged

    pruned = json.loads(cli(repo, "worktree", "prune", "--json").stdout)
    assert [e["worktree"] for e in pruned["moved"]] == ["task-t-1"] and pruned["removed"] == []
    assert pruned["kept"] == [{"worktree": "task-t-1", "why": "its task is finished but it was moved out of the "
                               f"worktree root to {outside}, which prune leaves alone "
                               "(`orchestra worktree remove task-t-1` removes it)"}]
    assert outside.is_dir() and state(repo, "worktrees.task-t-1.path") == str(outside)
    assert cli(repo, "worktree", "remove", "task-t-1").returncode == 0 and not outside.exists()


def test_a_worktree_whose_copy_fails_at_delegation_is_removed_again_and_the_delegation_denied(sprint: Path) -> None:
    repo, tree = sprint, sprint / ".worktrees" / "task-t-1"
    (repo / "settings").write_text("committed as a file\n")
    git(repo, "add", "settings")
    git(repo, "commit", "-q", "-m", "settings")
    (repo / "settings").unlink()
    (repo / "settings").mkdir()
    (repo / "settings" / "local.toml").write_text("debug = true\n")
    (repo / ".claude" / "worktrees.yaml").write_text("copy: ['settings/local.toml']\n")

    for use in ("toolu_c1", "toolu_c2"):  # the second is not handed a half-made worktree
        out = delegate(repo, use, "fullstack-eng", "t-1")
        assert out["permissionDecision"] == "deny", out
        assert "preparing it failed" in out["permissionDecisionReason"]
        assert "the new worktree was removed again" in out["permissionDecisionReason"]
        assert not tree.exists() and state(repo, "worktrees") == {}


def test_a_worktree_whose_preparation_was_cut_short_is_made_afresh_for_a_delegation(sprint: Path) -> None:
    """Its creator gone while setup ran: refused while its branch has a commit (someone's work may be in it), made
    afresh for the delegation once it has none, and handed out."""
    repo, tree = sprint, sprint / ".worktrees" / "task-t-1"
    (repo / ".claude" / "worktrees.yaml").write_text("setup: 'sleep 3 && touch set-up'\n")
    creator = subprocess.Popen([sys.executable, "-c", "from orchestra.cli import run; run()", "worktree", "create",
                                "t-1"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "CLAUDE_PROJECT_DIR": str(repo)})
    log = repo / ".claude" / "state" / "worktrees" / "task-t-1.setup.log"
    deadline = time.monotonic() + 60
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    creator.kill()
    creator.wait()
    (tree / "notes.txt").write_text("work\n")
    git(tree, "add", "notes.txt")
    git(tree, "commit", "-q", "-m", "work in a half-made worktree")

    out = delegate(repo, "toolu_c3", "fullstack-eng", "t-1")
    assert out["permissionDecision"] == "deny", out
    reason = out["permissionDecisionReason"]
    assert f"{tree} was made but never prepared" in reason and "the process preparing it stopped" in reason, reason
    assert "it is not repaired by itself because its branch task-t-1 has 1 commit(s) beyond its base" in reason
    assert "`orchestra worktree remove task-t-1 --force`" in reason
    assert state(repo, "worktrees.task-t-1.lock") is None and (tree / "notes.txt").exists()
    assert events(repo, "worktree_repaired") == []

    git(tree, "reset", "-q", "--hard", "HEAD~1")  # the commit taken back: nothing of anyone's is left in it
    out = delegate(repo, "toolu_c4", "fullstack-eng", "t-1")
    assert out.get("permissionDecision") != "deny", out
    assert f"Worktree: {tree} (" in out["updatedInput"]["prompt"]
    assert not (tree / "notes.txt").exists() and (tree / ".git").is_file()
    assert state(repo, "worktrees.task-t-1.lock.delegation") == "toolu_c4"
    repaired = events(repo, "worktree_repaired")
    assert [(e["data"]["worktree"], e["task_id"], e["session_id"]) for e in repaired] == [("task-t-1", "t-1", SESSION)]
    assert "the process preparing it stopped before it was done" in repaired[0]["data"]["why"]
    assert [e["data"]["worktree"] for e in events(repo, "worktree_created")] == ["task-t-1", "task-t-1"]


def send_message(repo: Path, to: str) -> dict:
    return tool_call(repo, None, "SendMessage", {"to": to, "message": "The key is in place now; go on."})


def test_a_member_resumed_by_send_message_takes_its_worktree_lock_again(sprint: Path) -> None:
    repo, first, second = sprint, ("a1f00000000000011", "product-manager"), ("a1f00000000000012", "product-manager")
    named = delegation(repo, "toolu_p1", "product-manager", "p-1")
    named["tool_input"]["name"] = "spec-writer"  # addressable by SendMessage under that name
    assert run_hook("pre_agent.py", named, repo).returncode == 0
    assert run_hook("subagent_start.py", started(repo, *first), repo).returncode == 0
    proc = run_hook("subagent_stop.py", stopped(repo, *first, "Waiting.\nSTATUS: blocked\nBLOCKER: no key"), repo)
    assert proc.returncode == 0, proc.stderr
    assert state(repo, "worktrees.sprint-s1-checkout.lock") is None

    resumed = guard(repo, send_message(repo, first[0]))
    assert resumed.get("permissionDecision") != "deny", resumed
    lock = state(repo, "worktrees.sprint-s1-checkout.lock")
    assert (lock["delegation"], lock["session_id"], lock["task"]) == ("toolu_p1", SESSION, "p-1")
    types = [e["type"] for e in events(repo, "worktree_locked", "worktree_released")]
    assert types == ["worktree_locked", "worktree_released", "worktree_locked"]
    assert events(repo, "worktree_locked")[-1]["agent_id"] == first[0]
    assert guard(repo, send_message(repo, "spec-writer")).get("permissionDecision") != "deny"  # by name: held already
    assert len(events(repo, "worktree_locked")) == 2

    # the resumed run holds the sprint's worktree: another delegation into it waits
    denied = delegate(repo, "toolu_p2", "product-manager", "p-2")
    assert denied["permissionDecision"] == "deny"
    assert f"held by run {first[0]} (task p-1, session {SESSION})" in denied["permissionDecisionReason"]

    # its next report lets go again, and the next delegation gets the worktree
    proc = run_hook("subagent_stop.py", stopped(repo, *first, "Still no key.\nSTATUS: blocked\nBLOCKER: no key"), repo)
    assert proc.returncode == 0, proc.stderr
    assert state(repo, "worktrees.sprint-s1-checkout.lock") is None
    assert "Worktree: " in delegate(repo, "toolu_p3", "product-manager", "p-2")["updatedInput"]["prompt"]
    assert run_hook("subagent_start.py", started(repo, *second), repo).returncode == 0

    # while that live run holds it, resuming the first one (by agentId or name) is denied, naming the holder
    for to in (first[0], "spec-writer"):
        busy = guard(repo, send_message(repo, to))
        assert busy["permissionDecision"] == "deny", busy
        reason = busy["permissionDecisionReason"]
        assert f"run {first[0]} is not resumed: its worktree sprint-s1-checkout" in reason
        assert f"held by run {second[0]} (task p-2, session {SESSION})" in reason
        assert "Wait for that run's report" in reason
    assert state(repo, "worktrees.sprint-s1-checkout.lock.delegation") == "toolu_p3"


def test_send_message_to_a_name_no_agent_id_can_be_reaches_its_run_and_blocks_nothing(sprint: Path) -> None:
    """Agent names are free text (`Spec writer`) and `*` addresses every teammate: the resumption guard read them as
    state paths, failed, and the hook blocked the message as an internal error."""
    repo, run = sprint, ("a1f00000000000021", "product-manager")
    named = delegation(repo, "toolu_p1", "product-manager", "p-1")
    named["tool_input"]["name"] = "Spec writer"
    assert run_hook("pre_agent.py", named, repo).returncode == 0
    assert run_hook("subagent_start.py", started(repo, *run), repo).returncode == 0
    proc = run_hook("subagent_stop.py", stopped(repo, *run, "Waiting.\nSTATUS: blocked\nBLOCKER: no key"), repo)
    assert proc.returncode == 0, proc.stderr
    assert state(repo, "worktrees.sprint-s1-checkout.lock") is None
    for to in ("*", "ünï", "Spec writer"):
        proc = run_hook("pre_tool.py", send_message(repo, to), repo)
        assert proc.returncode == 0, proc.stderr
        assert hook_output(proc).get("hookSpecificOutput", {}).get("permissionDecision") != "deny"
    assert state(repo, "worktrees.sprint-s1-checkout.lock")["delegation"] == "toolu_p1"  # resumed by its name
