"""A member kept inside its worktree where a careless or hostile call would leave it: Bash calls that start in
the main checkout (where Claude Code starts every Bash call of a subagent), the worktree's `.git` file that ties
it to its own repository, links made earlier on the same command line, and git's index named by path."""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestra.hookio import Deny

from tests.conftest import run_hook
from tests.worktrees.conftest import git, seed, started, tool_call
from tests.worktrees.test_hooks import MEMBER, delegate, guard, in_process, live_member

OTHER = ("a2f00000000000002", "api-engineer")


@pytest.fixture
def member(repo: Path) -> tuple[Path, Path, Path]:
    """(project, the member's worktree task-t-1, another member's live worktree task-t-2); the user has an
    uncommitted change in the main checkout, and a branch feature-x of its own."""
    seed(repo, **{"sprints.s1": {"id": "s1", "name": "Checkout", "status": "active"},
                  "tasks.t-1": {"title": "Cart", "sprint": "s1"},
                  "tasks.t-2": {"title": "Orders", "sprint": "s1", "assignee": "api-engineer"}})
    tree = live_member(repo)
    delegate(repo, "toolu_w2", "api-engineer", "t-2")
    assert run_hook("subagent_start.py", started(repo, *OTHER), repo).returncode == 0
    git(repo, "branch", "feature-x")
    (repo / "README.md").write_text("# shop, being edited by the user\n", encoding="utf-8")
    return repo, tree, repo / ".worktrees" / "task-t-2"


def verdict(project: Path, cwd: Path, tool: str, tool_input: dict) -> Deny | None:
    found = in_process(tool_call(project, MEMBER, tool, tool_input, cwd=cwd))
    return found if isinstance(found, Deny) else None


def test_git_run_from_the_main_checkout_changes_nothing_there(member: tuple[Path, Path, Path]) -> None:
    """Every Bash call of a subagent starts in the project's own checkout: `git commit` or `git reset --hard`
    there without `cd` into the worktree would commit the user's changes onto main, or throw them away."""
    repo, tree, _ = member
    main = git(repo, "rev-parse", "main")
    denied = guard(repo, tool_call(repo, MEMBER, "Bash", {"command": "git add -A && git commit -qm wip"}, cwd=repo))
    assert denied.get("permissionDecision") == "deny", denied
    reason = denied["permissionDecisionReason"]
    assert f"Bash `git add` changing {repo} is outside your worktree {tree}" in reason, reason
    assert f"cd '{tree}' && " in reason, reason  # each Bash call starts in the project: go into the worktree first
    assert git(repo, "rev-parse", "main") == main and "being edited" in (repo / "README.md").read_text()


@pytest.mark.parametrize("command, denied", [
    ("git reset --hard", "git reset"),
    ("git stash", "git stash"),
    ("git commit -qam wip", "git commit"),
    ("git -c user.name=x commit --amend --no-edit", "git commit"),
    ("git merge feature-x", "git merge"),
    ("git pull --rebase . feature-x", "git pull"),
    ("git cherry-pick feature-x", "git cherry-pick"),
    ("git read-tree -u --reset feature-x", "git read-tree"),
    ("git update-index --assume-unchanged README.md", "git update-index"),
    ("git sparse-checkout set src", "git sparse-checkout"),
    ("git clean -fdq", "git clean"),
    # reading there, and working in the worktree, stay allowed
    ("git status && git log -1 && git diff && git stash list && git branch -a && git worktree list", None),
    ("cd '{tree}' && git add -A && git commit -qm wip && git reset --hard", None),
    ("git -C '{tree}' commit -qam wip", None),
    ("git -C .worktrees/task-t-1 stash", None),
    ("GIT_WORK_TREE='{tree}' git status", None),
    ("cd \"$WORKTREE\" && git commit -qam wip", None),  # not known where: best effort lets it through
])
def test_git_changes_in_the_directory_a_call_starts_in_are_checked_there(member: tuple[Path, Path, Path],
                                                                         command: str, denied: str | None) -> None:
    repo, tree, _ = member
    found = verdict(repo, repo, "Bash", {"command": command.replace("{tree}", str(tree))})
    if denied is None:
        assert found is None, found
    else:
        assert found is not None and f"Bash `{denied}` changing {repo}" in found.reason, (command, found)


def test_a_call_starting_in_another_members_worktree_changes_nothing_there(member: tuple[Path, Path, Path]) -> None:
    repo, tree, other = member
    found = verdict(repo, other, "Bash", {"command": "git reset --hard HEAD"})
    assert found is not None and f"Bash `git reset` changing {other} is outside your worktree {tree}" in found.reason
    assert f"cd '{tree}' && " not in found.reason  # not the project: no hint about where calls start


@pytest.mark.parametrize("tool, tool_input", [
    ("Write", {"file_path": "{tree}/.git", "content": "gitdir: {repo}/.git\n"}),
    ("Edit", {"file_path": "{tree}/.git", "old_string": "worktrees/task-t-1", "new_string": ""}),
    ("Bash", {"command": "echo 'gitdir: {repo}/.git' > .git && git commit -qam x"}),
    ("Bash", {"command": "printf 'gitdir: %s' ../../.git | tee .git"}),
    ("Bash", {"command": "sed -i s#/worktrees/task-t-1## .git"}),
    ("Bash", {"command": "rm -f .git && git init -q"}),
    ("Bash", {"command": "mv .git .git.bak"}),
    ("Bash", {"command": "ln -sfn '{repo}/.git' .git"}),
    ("Bash", {"command": "cp /tmp/dotgit '{tree}/.git'"}),
])
def test_the_file_tying_the_worktree_to_its_repository_stays_as_git_made_it(member: tuple[Path, Path, Path],
                                                                            tool: str, tool_input: dict) -> None:
    """A worktree's `.git` file names its repository; one rewritten to `gitdir: <project>/.git` turns the
    worktree into the main checkout's: its commits land on main, and main's branch counts as its own."""
    repo, tree, _ = member
    fill = {k: v.replace("{tree}", str(tree)).replace("{repo}", str(repo)) for k, v in tool_input.items()}
    found = verdict(repo, tree, tool, fill)
    assert found is not None, fill
    assert f"{tree / '.git'}" in found.reason and "ties your worktree to its own repository" in found.reason, found
    assert (tree / ".git").read_text().strip() == f"gitdir: {repo / '.git' / 'worktrees' / 'task-t-1'}"


@pytest.mark.parametrize("command", [
    "echo '*.log' >> .gitignore && mkdir -p .github/workflows && touch .github/workflows/ci.yml",
    "printf x > .gitattributes && git add .gitattributes .gitignore && git commit -qm attrs",
    "git rev-parse --git-dir && cat .git",
])
def test_git_files_of_the_project_in_the_worktree_stay_writable(member: tuple[Path, Path, Path], command: str) -> None:
    repo, tree, _ = member
    assert verdict(repo, tree, "Bash", {"command": command}) is None


@pytest.mark.parametrize("command, denied", [
    ("ln -s '{repo}/README.md' notes.md && echo x >> notes.md", "{repo}/README.md"),
    ("ln -sfn ../task-t-2 peer; touch peer/x.py", "{other}/x.py"),
    ("ln -s '{repo}' up && cd up && git commit -qam x", "{repo}"),
    ("mkdir -p lib && ln -s '{other}' lib/ && cp a.py lib/task-t-2/", "{other}/a.py"),
    ("ln -s -t . '{repo}/src' && rm -rf src/cart", "{repo}/src/cart"),
    # links leading inside, or made for reading, are fine
    ("ln -s src/app.py app.py && echo x >> app.py", None),
    ("ln -s '{repo}/README.md' upstream.md && cat upstream.md > mine.md", None),
    ("ln '{tree}/a' b && echo x >> b", None),  # a hard link of its own file is no way out
    # a hard link is the very file it was made from: writing it writes the file in the main checkout
    ("ln '{repo}/README.md' notes.md", "{repo}/README.md"),
    ("cp -al '{repo}/src' vendored", "{repo}/src"),
    ("cp --link ../task-t-2/app.py .", "{other}/app.py"),
    ("cp -r '{repo}/docs' docs && ln -s /usr/share/dict/words words && cp -l /tmp/x.bin .", None),
])
def test_a_link_made_earlier_on_the_line_leads_writes_where_it_points(member: tuple[Path, Path, Path], command: str,
                                                                     denied: str | None) -> None:
    repo, tree, other = member

    def fill(text: str) -> str:
        return text.replace("{tree}", str(tree)).replace("{repo}", str(repo)).replace("{other}", str(other))

    found = verdict(repo, tree, "Bash", {"command": fill(command)})
    if denied is None:
        assert found is None, found
    else:
        assert found is not None and f"{fill(denied)} is outside your worktree {tree}" in found.reason, found


@pytest.mark.parametrize("command, denied", [
    ("GIT_INDEX_FILE=../../.git/index git add -A", True),
    ("env GIT_INDEX_FILE='{repo}/.git/index' git read-tree HEAD", True),
    ("export GIT_INDEX_FILE=../task-t-2/idx; git add -A", True),
    ("GIT_INDEX_FILE=/tmp/scratch.idx git read-tree HEAD && GIT_INDEX_FILE=.idx git add -A", False),
    ("GIT_INDEX_FILE='{repo}/.git/worktrees/task-t-1/index' git add -A", False),  # its own
])
def test_git_is_given_no_index_but_its_own(member: tuple[Path, Path, Path], command: str, denied: bool) -> None:
    """GIT_INDEX_FILE names the index git writes: the main checkout's would stage the worktree's files there."""
    repo, tree, _ = member
    found = verdict(repo, tree, "Bash", {"command": command.replace("{repo}", str(repo))})
    assert (found is not None) == denied, found
    if denied:
        assert "outside your worktree" in found.reason and "index" in found.reason, found
