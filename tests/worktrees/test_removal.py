"""`orchestra worktree remove` and `prune` lose nothing of the user's: commits on a detached HEAD,
ignored files, submodule commits and git's own lock stop them; copied files and rebuildable caches do not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.worktrees.conftest import cli, cli_json, commit_all, git, seed, state


def made(repo: Path, task: str, status: str = "in_progress") -> Path:
    seed(repo, **{f"tasks.{task}": {"status": status}})
    return Path(cli_json(repo, "worktree", "create", task, "--strategy", "task")["path"])


def registered(repo: Path) -> list[str]:
    return [line[len("worktree "):] for line in git(repo, "worktree", "list", "--porcelain").splitlines()
            if line.startswith("worktree ")]


def kept_by_prune(repo: Path) -> dict[str, str]:
    report = cli_json(repo, "worktree", "prune")
    return {e.get("worktree") or Path(e["path"]).name: e["why"] for e in report["kept"]}


def test_commits_on_a_detached_head_are_never_removed(repo: Path) -> None:
    tree = made(repo, "t1", "completed")
    git(tree, "checkout", "-q", "--detach")
    (tree / "work.py").write_text("x = 1\n")
    commit_all(tree, "work on a detached HEAD")
    orphan = repo / ".worktrees" / "exp"
    git(repo, "worktree", "add", "-q", "--detach", str(orphan))
    commit_all(orphan, "experiment")

    for args in (("task-t1",), ("task-t1", "--force")):
        refused = cli(repo, "worktree", "remove", *args)
        assert refused.returncode == 1 and "1 commit(s) on its detached HEAD that no branch holds" in refused.stderr
        assert "work on a detached HEAD" in refused.stderr and "switch -c NAME" in refused.stderr
    kept = kept_by_prune(repo)
    assert "1 commit(s) on its detached HEAD" in kept["task-t1"] and "1 commit(s) on its detached HEAD" in kept["exp"]
    assert tree.is_dir() and orphan.is_dir() and state(repo, "worktrees.task-t1.status") == "active"

    git(tree, "switch", "-q", "-c", "keep-it")
    assert cli_json(repo, "worktree", "remove", "task-t1")["status"] == "removed"
    assert "work on a detached HEAD" in git(repo, "log", "--format=%s", "keep-it")


def test_an_interrupted_rebase_is_not_removed(repo: Path) -> None:
    tree = made(repo, "t2")
    (tree / "a.txt").write_text("one\n")
    commit_all(tree, "applies cleanly")
    (tree / "README.md").write_text("two\n")
    commit_all(tree, "conflicts with the base")
    (repo / "README.md").write_text("base moved\n")
    commit_all(repo, "base changes README")
    rebase = subprocess.run(["git", "-C", str(tree), "rebase", "main"], capture_output=True, timeout=60)
    assert rebase.returncode != 0  # stopped at the conflict, the first commit already rebased
    refused = cli(repo, "worktree", "remove", "task-t2", "--force")
    assert refused.returncode == 1 and "rebase in progress" in refused.stderr and tree.is_dir()


def test_ignored_files_are_not_deleted_without_force(repo: Path) -> None:
    (repo / ".gitignore").write_text(".env\nnode_modules/\n")
    commit_all(repo, "ignore")
    tree = made(repo, "t3", "completed")
    (tree / ".env").write_text("SECRET=x\n")
    (tree / "node_modules" / "pkg").mkdir(parents=True)
    (tree / "node_modules" / "pkg" / "index.js").write_text("")

    refused = cli(repo, "worktree", "remove", "task-t3")
    assert refused.returncode == 1 and "1 ignored file(s) (.env)" in refused.stderr, refused.stderr
    assert kept_by_prune(repo) == {"task-t3": "its task is finished but it has 1 ignored file(s) (.env)"}
    assert (tree / ".env").read_text() == "SECRET=x\n"

    (tree / ".env").unlink()  # a rebuildable cache alone does not keep a worktree
    assert [e["worktree"] for e in cli_json(repo, "worktree", "prune")["removed"]] == ["task-t3"]
    tree = made(repo, "t4")
    (tree / ".env").write_text("SECRET=y\n")
    forced = cli_json(repo, "worktree", "remove", "task-t4", "--force")
    assert forced["status"] == "removed" and forced["discarded"] == [".env"] and not tree.exists()


def test_caches_the_repo_does_not_ignore_do_not_stop_a_clean_worktree_from_going(repo: Path) -> None:
    """A project with no .gitignore for them yet: running the tests leaves untracked __pycache__ files."""
    tree = made(repo, "t7", "completed")
    (tree / "src" / "__pycache__").mkdir(parents=True)
    (tree / "src" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00")
    (tree / "node_modules" / "pkg").mkdir(parents=True)
    (tree / "node_modules" / "pkg" / "index.js").write_text("")
    assert [e["worktree"] for e in cli_json(repo, "worktree", "prune")["removed"]] == ["task-t7"]
    assert not tree.exists()
    other = made(repo, "t8")
    (other / "__pycache__").mkdir()
    (other / "__pycache__" / "conftest.cpython-311.pyc").write_bytes(b"\x00")
    assert cli_json(repo, "worktree", "remove", "task-t8")["status"] == "removed" and not other.exists()
    work = made(repo, "t9")
    (work / "app.py").write_text("x = 1\n")  # work beside the cache still keeps it
    refused = cli(repo, "worktree", "remove", "task-t9")
    assert refused.returncode == 1 and "1 uncommitted change(s) (app.py)" in refused.stderr, refused.stderr


def test_changes_to_files_the_project_commits_count_as_work_even_under_a_cache_s_name(repo: Path) -> None:
    """A project that commits a patched package under node_modules/ (or a __pycache__ fixture): a member's edit
    of it, or a new file it staged there, is work, not a cache the setup makes again."""
    (repo / "vendor" / "node_modules" / "left-pad").mkdir(parents=True)
    (repo / "vendor" / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1;\n")
    commit_all(repo, "vendor a patched package")
    tree = made(repo, "t1", "completed")
    (tree / "vendor" / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 2;\n")
    refused = cli(repo, "worktree", "remove", "task-t1")
    assert refused.returncode == 1, refused.stdout
    assert "1 uncommitted change(s) (vendor/node_modules/left-pad/index.js)" in refused.stderr, refused.stderr
    assert kept_by_prune(repo)["task-t1"] and tree.is_dir()
    assert "= 2" in (tree / "vendor" / "node_modules" / "left-pad" / "index.js").read_text()
    git(tree, "checkout", "--", ".")
    (tree / "vendor" / "node_modules" / "right-pad.js").write_text("x\n")
    git(tree, "add", "vendor/node_modules/right-pad.js")  # staged: on its way into a commit
    staged = cli(repo, "worktree", "remove", "task-t1")
    assert staged.returncode == 1 and "vendor/node_modules/right-pad.js" in staged.stderr, staged.stderr
    git(tree, "rm", "-q", "--cached", "vendor/node_modules/right-pad.js")  # untracked again: a cache, as before
    assert cli_json(repo, "worktree", "remove", "task-t1")["status"] == "removed" and not tree.exists()


def test_copied_files_do_not_stop_a_clean_worktree_from_going(repo: Path) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text("copy: ['.env.example']\n")
    commit_all(repo, "config")
    (repo / ".env.example").write_text("API_KEY=\n")  # untracked: copied into each new worktree
    tree = made(repo, "t5")
    other = made(repo, "t6", "completed")
    assert (tree / ".env.example").exists() and (other / ".env.example").exists()

    assert cli_json(repo, "worktree", "remove", "task-t5")["status"] == "removed" and not tree.exists()
    pruned = cli(repo, "worktree", "prune", "--json")
    assert pruned.returncode == 0 and not other.exists(), pruned.stderr
    assert (repo / ".env.example").read_text() == "API_KEY=\n"


def test_work_written_into_a_copied_directory_or_over_a_copied_file_is_not_deleted(repo: Path) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text("copy: [conf, .env.example]\n")
    commit_all(repo, "config")
    (repo / "conf").mkdir()
    (repo / "conf" / "local.ini").write_text("debug = 1\n")  # untracked: copied into each new worktree
    (repo / "conf" / "alias.ini").symlink_to("local.ini")
    (repo / ".env.example").write_text("API_KEY=\n")
    tree, other = made(repo, "t5"), made(repo, "t6", "completed")
    (tree / "conf" / "notes.md").write_text("a day of work\n")  # new, inside the copied directory
    (other / ".env.example").write_text("API_KEY=edited in the worktree\n")

    refused = cli(repo, "worktree", "remove", "task-t5")
    assert refused.returncode == 1 and "1 uncommitted change(s) (conf/notes.md)" in refused.stderr
    assert (tree / "conf" / "notes.md").read_text() == "a day of work\n"
    assert kept_by_prune(repo) == {"task-t6": "its task is finished but it has 1 uncommitted change(s) (.env.example)"}
    assert (other / ".env.example").read_text() == "API_KEY=edited in the worktree\n"

    (tree / "conf" / "notes.md").unlink()  # only the copies left: nothing to lose
    (other / ".env.example").write_text("API_KEY=\n")
    assert cli_json(repo, "worktree", "remove", "task-t5")["status"] == "removed" and not tree.exists()
    assert cli_json(repo, "worktree", "prune")["removed"] and not other.exists()
    assert (repo / "conf" / "local.ini").read_text() == "debug = 1\n"


def test_remove_of_a_worktree_moved_by_hand_removes_it_where_it_is_now(repo: Path) -> None:
    tree = made(repo, "t7")
    elsewhere = repo / ".worktrees" / "kept here"
    git(repo, "worktree", "move", str(tree), str(elsewhere))
    (elsewhere / "wip.py").write_text("work\n")

    refused = cli(repo, "worktree", "remove", "task-t7")
    assert refused.returncode == 1 and "1 uncommitted change(s) (wip.py)" in refused.stderr
    (elsewhere / "wip.py").unlink()
    assert cli_json(repo, "worktree", "remove", "task-t7")["status"] == "removed"
    assert registered(repo) == [str(repo)] and not elsewhere.exists()
    assert git(repo, "branch", "--list", "task-t7").strip() == ""  # merged (no commits of its own): it went


def test_a_tag_named_like_the_branch_does_not_make_its_commits_count_as_merged(repo: Path) -> None:
    trees = {task: made(repo, task, status) for task, status in (("t8", "in_progress"), ("t9", "completed"))}
    for task, tree in trees.items():
        git(repo, "tag", f"task-{task}")  # at the base: read first, it hid the branch's own commits
        (tree / "work.py").write_text("work\n")
        commit_all(tree, f"work on {task}")

    refused = cli(repo, "worktree", "remove", "task-t8")
    assert refused.returncode == 1 and "1 commit(s) not in" in refused.stderr and "work on t8" in refused.stderr
    assert kept_by_prune(repo) == {"task-t9": "its task is finished but it has 1 unmerged commit(s)"}
    forced = cli_json(repo, "worktree", "remove", "task-t8", "--force")
    assert forced["branch_kept"] and not trees["t8"].exists()
    for task in trees:
        assert git(repo, "log", "-1", "--format=%s", f"refs/heads/task-{task}").strip() == f"work on {task}"


def test_prune_goes_on_when_git_will_not_delete_a_branch(repo: Path) -> None:
    (repo / ".claude" / "worktrees.yaml").write_text("base: main\n")
    commit_all(repo, "config")
    git(repo, "switch", "-q", "-c", "develop")
    merged, shared, last = made(repo, "t7", "completed"), made(repo, "t8", "completed"), made(repo, "t9", "completed")
    (merged / "feature.py").write_text("x = 1\n")
    commit_all(merged, "feature")
    git(repo, "branch", "-f", "main", "task-t7")  # merged into the base, not into develop checked out here
    git(repo, "worktree", "add", "-q", "-f", str(repo.parent / "by hand"), "task-t8")  # its branch checked out twice

    report = cli_json(repo, "worktree", "prune")
    why = {e["worktree"]: e["why"] for e in report["removed"]}
    assert sorted(why) == ["task-t7", "task-t8", "task-t9"] and not (merged.exists() or shared.exists() or last.exists())
    assert "branch task-t8 kept" in why["task-t8"]
    assert git(repo, "branch", "--list", "task-t7", "task-t9").strip() == ""
    assert git(repo, "branch", "--list", "task-t8").strip()
    assert all(state(repo, f"worktrees.task-{t}.status") == "removed" for t in ("t7", "t8", "t9"))


def test_a_git_lock_is_never_overridden(repo: Path) -> None:
    tree = made(repo, "t10", "completed")
    git(repo, "worktree", "lock", "--reason", "on usb", str(tree))
    orphan = repo / ".worktrees" / "locked-orphan"
    git(repo, "worktree", "add", "-q", "-b", "locked-orphan", str(orphan))
    git(repo, "worktree", "lock", str(orphan))

    for args in (("task-t10",), ("task-t10", "--force")):
        refused = cli(repo, "worktree", "remove", *args)
        assert refused.returncode == 1 and "a `git worktree lock` (on usb)" in refused.stderr
        assert "git worktree unlock" in refused.stderr and "--force does not override" in refused.stderr
    kept = kept_by_prune(repo)
    assert "a `git worktree lock` (on usb)" in kept["task-t10"]
    assert "a `git worktree lock` (no reason given)" in kept["locked-orphan"]
    assert tree.is_dir() and orphan.is_dir() and state(repo, "worktrees.task-t10.status") == "active"


def test_a_locked_registration_whose_directory_is_gone_is_reported(repo: Path) -> None:
    tree = made(repo, "t11")
    git(repo, "worktree", "lock", "--reason", "on usb", str(tree))
    shutil.rmtree(tree)
    kept = kept_by_prune(repo)
    assert kept["task-t11"].startswith("its directory is gone but it has a `git worktree lock` (on usb)")
    seed(repo, **{"worktrees.task-t11.status": "removed"})
    again = cli(repo, "worktree", "create", "t11", "--strategy", "task")
    assert again.returncode == 1 and "registered in git as a locked worktree (on usb)" in again.stderr
    assert "add -f -f" not in again.stderr and "again" not in again.stderr  # nothing was made to remove again


@pytest.mark.parametrize("layout", ["linked", "bare"])
def test_prune_leaves_the_projects_own_checkout_out(repo: Path, layout: str) -> None:
    checkout = repo.parent / "own checkout"
    if layout == "linked":
        git(repo, "worktree", "add", "-q", "-b", "side", str(checkout))
    else:
        bare = repo.parent / "bare.git"
        git(repo, "clone", "-q", "--bare", str(repo), str(bare))
        git(bare, "worktree", "add", "-q", str(checkout), "main")
    report = cli(checkout, "worktree", "prune", "--json")
    assert report.returncode == 0 and '"foreign": []' in report.stdout, report.stdout


def test_removing_a_worktree_whose_directory_was_deleted_takes_its_merged_branch(repo: Path) -> None:
    tree = made(repo, "t12")
    shutil.rmtree(tree)
    removed = cli(repo, "worktree", "remove", "task-t12")
    assert removed.returncode == 0 and removed.stdout.strip() == "task-t12: removed", removed.stdout
    assert git(repo, "branch", "--list", "task-t12").strip() == "" and str(tree) not in registered(repo)


def submodule_repo(repo: Path) -> Path:
    """`repo` with a submodule `lib` cloned from a sibling repository."""
    source = repo.parent / "lib source"
    git(repo.parent, "init", "-q", "-b", "main", str(source))
    commit_all(source, "lib")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(source), "lib")
    commit_all(repo, "add lib")
    return source


def test_submodules_are_removed_cleanly_and_their_commits_are_kept(repo: Path) -> None:
    submodule_repo(repo)
    clean, worked = made(repo, "t13", "completed"), made(repo, "t14")
    for tree in (clean, worked):
        git(tree, "-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init")
    commit_all(worked / "lib", "lib work nobody pushed")
    commit_all(worked, "point lib at it")

    refused = cli(repo, "worktree", "remove", "task-t14", "--force")
    assert refused.returncode == 1 and "submodule lib with 1 commit(s) on none of its remotes" in refused.stderr
    assert "lib work nobody pushed" in refused.stderr and (worked / "lib").is_dir()
    assert [e["worktree"] for e in cli_json(repo, "worktree", "prune")["removed"]] == ["task-t13"]
    assert not clean.exists() and str(clean) not in registered(repo)


def test_a_branch_whose_commits_no_other_branch_holds_is_kept(repo: Path) -> None:
    git(repo, "switch", "-q", "-c", "topic")
    tree = made(repo, "t15")
    assert state(repo, "worktrees.task-t15.base") == "topic"
    (tree / "work.py").write_text("x = 1\n")
    commit_all(tree, "work only task-t15 holds")
    git(repo, "switch", "-q", "main")
    git(repo, "branch", "-D", "topic")  # the base goes: nothing tells the branch's work is merged

    removed = cli(repo, "worktree", "remove", "task-t15")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == "task-t15: removed; branch task-t15 kept (1 commit(s) on no other branch)"
    assert "work only task-t15 holds" in git(repo, "log", "--format=%s", "task-t15")


def test_removing_a_deleted_worktree_leaves_git_s_record_of_another_one(repo: Path) -> None:
    detached, plain = made(repo, "t16"), made(repo, "t17")
    git(detached, "checkout", "-q", "--detach")
    commit_all(detached, "only the detached HEAD holds this")
    shutil.rmtree(detached)
    shutil.rmtree(plain)

    assert cli_json(repo, "worktree", "remove", "task-t17")["status"] == "removed"
    assert str(detached) in registered(repo) and str(plain) not in registered(repo)
    third = made(repo, "t18")
    shutil.rmtree(third)
    assert cli_json(repo, "worktree", "prune")["closed"] == [{"worktree": "task-t18", "why": "its directory is gone"}]
    assert str(third) not in registered(repo) and str(detached) in registered(repo)  # git agrees with state
    tip = git(repo, "worktree", "list", "--porcelain").split(f"worktree {detached}\nHEAD ")[1][:7]
    assert f"`git branch NAME {tip}` keeps them" in kept_by_prune(repo)["task-t16"]
    seed(repo, **{"worktrees.task-t16.status": "removed"})
    again = cli(repo, "worktree", "create", "t16", "--strategy", "task")
    assert again.returncode == 1 and "was deleted, but git still lists it" in again.stderr, again.stderr
    assert "only the detached HEAD holds this" in again.stderr and str(detached) in registered(repo)


def test_a_worktree_whose_directory_was_deleted_is_found_by_the_path_it_had(repo: Path) -> None:
    tree = made(repo, "t19")
    shutil.rmtree(tree)
    removed = cli(repo, "worktree", "remove", ".worktrees/task-t19")
    assert removed.returncode == 0 and removed.stdout.strip() == "task-t19: removed", removed.stderr
    assert str(tree) not in registered(repo)
