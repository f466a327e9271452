"""A worktree's branch counts as merged when its base has its changes, however they got there: merged,
squash-merged, rebased or cherry-picked. A branch with any change its base lacks still needs --force
(and keeps its branch even then)."""

from __future__ import annotations

from pathlib import Path

from tests.worktrees.conftest import cli, cli_json, commit_all, git, seed, state


def worked(repo: Path, task: str, *changes: tuple[str, str], status: str = "in_progress") -> Path:
    """Task `task`'s worktree with one commit per (file, text) change."""
    seed(repo, **{f"tasks.{task}": {"status": status}})
    tree = Path(cli_json(repo, "worktree", "create", task, "--strategy", "task")["path"])
    for name, text in changes:
        (tree / name).write_text(text)
        commit_all(tree, f"write {name}")
    return tree


def main_moves_on(repo: Path) -> None:
    (repo / "elsewhere.txt").write_text("main's own work\n")
    commit_all(repo, "main moves on")


def squash(repo: Path, branch: str) -> None:
    git(repo, "merge", "-q", "--squash", branch)
    git(repo, "commit", "-q", "-m", f"{branch} squashed")


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--format=%(refname:short)").split()


def test_a_squash_merged_worktree_is_removed_without_force_and_its_branch_goes(repo: Path) -> None:
    tree = worked(repo, "sq", ("a.py", "a = 1\n"), ("b.py", "b = 2\n"), ("a.py", "a = 3\n"))
    main_moves_on(repo)
    squash(repo, "task-sq")

    removed = cli(repo, "worktree", "remove", "task-sq")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == "task-sq: removed" and not tree.exists()
    assert "task-sq" not in branches(repo) and (repo / "a.py").read_text() == "a = 3\n"


def test_a_rebase_merged_worktree_is_removed_without_force(repo: Path) -> None:
    tree = worked(repo, "rb", ("a.py", "a = 1\n"), ("b.py", "b = 2\n"))
    main_moves_on(repo)
    git(repo, "cherry-pick", "main..task-rb")  # what "rebase and merge" puts on main: new commits, same patches

    removed = cli_json(repo, "worktree", "remove", "task-rb")
    assert removed["status"] == "removed" and removed["branch_kept"] is False and not tree.exists()


def test_a_branch_only_partly_picked_is_refused_naming_the_missing_commit(repo: Path) -> None:
    tree = worked(repo, "pick", ("a.py", "a = 1\n"), ("b.py", "b = 2\n"))
    main_moves_on(repo)
    picked, missing = git(repo, "log", "--format=%h", "--reverse", "main..task-pick").split()
    git(repo, "cherry-pick", picked)

    refused = cli(repo, "worktree", "remove", "task-pick")
    assert refused.returncode == 1 and tree.is_dir()
    assert f"has 1 commit(s) not in main ({missing} write b.py)" in refused.stderr, refused.stderr
    forced = cli_json(repo, "worktree", "remove", "task-pick", "--force")
    assert forced["branch_kept"] is True and forced["branch_kept_why"] == "unmerged commits"
    assert "task-pick" in branches(repo)


def test_work_after_a_squash_merge_is_refused(repo: Path) -> None:
    tree = worked(repo, "more", ("a.py", "a = 1\n"))
    squash(repo, "task-more")
    (tree / "a.py").write_text("a = 2\n")
    commit_all(tree, "after the squash")

    refused = cli(repo, "worktree", "remove", "task-more")
    assert refused.returncode == 1 and "commit(s) not in main" in refused.stderr and tree.is_dir()
    assert "after the squash" in refused.stderr and "task-more" in branches(repo)


def test_a_squash_merge_that_dropped_the_branch_s_change_is_refused(repo: Path) -> None:
    tree = worked(repo, "clash", ("README.md", "# shop, by the branch\n"))
    (repo / "README.md").write_text("# shop, by main\n")
    commit_all(repo, "main edits the same line")
    git(repo, "merge", "-q", "--squash", "-X", "ours", "task-clash")  # the conflict resolved to main's line
    git(repo, "commit", "-q", "--allow-empty", "-m", "squash, keeping main's line")

    refused = cli(repo, "worktree", "remove", "task-clash")
    assert refused.returncode == 1 and "1 commit(s) not in main" in refused.stderr and tree.is_dir()


def test_work_undone_on_the_branch_is_not_taken_for_merged(repo: Path) -> None:
    tree = worked(repo, "undone", ("a.py", "a = 1\n"))
    git(tree, "revert", "--no-edit", "HEAD")

    refused = cli(repo, "worktree", "remove", "task-undone")
    assert refused.returncode == 1 and "2 commit(s) not in main" in refused.stderr and tree.is_dir()


def test_prune_removes_a_finished_squash_merged_worktree_and_keeps_one_with_more_work(repo: Path) -> None:
    done = worked(repo, "done", ("a.py", "a = 1\n"), ("b.py", "b = 1\n"), status="completed")
    more = worked(repo, "again", ("c.py", "c = 1\n"), ("d.py", "d = 1\n"), status="completed")
    squash(repo, "task-done")
    squash(repo, "task-again")
    (more / "e.py").write_text("e = 1\n")
    commit_all(more, "after the squash")

    report = cli_json(repo, "worktree", "prune")
    assert [(e["worktree"], e["why"]) for e in report["removed"]] == [("task-done", "its task is finished")]
    assert report["kept"] == [{"worktree": "task-again", "why": "its task is finished but it has 3 unmerged commit(s)"}]
    assert not done.exists() and "task-done" not in branches(repo)
    assert more.is_dir() and "task-again" in branches(repo)
    assert state(repo, "worktrees.task-done.status") == "removed"


def test_a_commit_main_has_only_with_other_whitespace_is_not_taken_for_merged(repo: Path) -> None:
    tree = worked(repo, "indent", ("check.py", "if ready:\n    launch()\n"))
    (repo / "check.py").write_text("if ready:\n  launch()\n")
    commit_all(repo, "check.py, indented differently")

    refused = cli(repo, "worktree", "remove", "task-indent")
    assert refused.returncode == 1 and "1 commit(s) not in main" in refused.stderr and tree.is_dir()


def test_rebased_work_main_went_on_to_change_still_counts_as_merged(repo: Path) -> None:
    tree = worked(repo, "later", ("a.py", "a = 1\n"), ("b.py", "b = 2\n"))
    main_moves_on(repo)
    git(repo, "cherry-pick", "main..task-later")
    (repo / "a.py").write_text("a = 10\n")
    commit_all(repo, "main changes the branch's line again")

    removed = cli_json(repo, "worktree", "remove", "task-later")
    assert removed["status"] == "removed" and removed["branch_kept"] is False and not tree.exists()


def test_binary_and_non_utf8_files_are_compared_byte_for_byte(repo: Path) -> None:
    seed(repo, **{"tasks.bin": {"status": "in_progress"}})
    tree = Path(cli_json(repo, "worktree", "create", "bin", "--strategy", "task")["path"])
    (tree / "logo.png").write_bytes(b"\x89PNG\x00\x01 the branch's")
    (tree / "menu.txt").write_bytes(b"caf\xe9 cr\xe8me\n")
    commit_all(tree, "logo and menu")
    (repo / "logo.png").write_bytes(b"\x89PNG\x00\x02 main's")
    (repo / "menu.txt").write_bytes(b"caf\xe9 cr\xe8me\n")
    commit_all(repo, "another logo, the same menu")

    refused = cli(repo, "worktree", "remove", "task-bin")
    assert refused.returncode == 1 and "1 commit(s) not in main" in refused.stderr and tree.is_dir(), refused.stderr
    assert "Traceback" not in refused.stderr


def test_prune_says_a_finished_worktree_is_kept_because_its_base_is_gone(repo: Path) -> None:
    git(repo, "switch", "-q", "-c", "topic")
    tree = worked(repo, "orphaned", status="completed")  # no commits of its own
    assert state(repo, "worktrees.task-orphaned.base") == "topic"
    git(repo, "switch", "-q", "main")
    git(repo, "branch", "-D", "topic")

    report = cli_json(repo, "worktree", "prune")
    assert report["kept"] == [{"worktree": "task-orphaned", "why": "its task is finished but its base topic is gone, so nothing "
                               "tells whether its work is merged: `orchestra worktree remove task-orphaned` "
                               "removes it, keeping its branch if a commit of it is on no other branch"}]
    assert tree.is_dir()


def test_a_squash_merge_whose_lines_main_changed_again_still_counts_as_merged(repo: Path) -> None:
    tree = worked(repo, "fixed", ("a.py", "a = 1\n"), ("a.py", "a = 2\nb = 2\n"))
    squash(repo, "task-fixed")
    (repo / "a.py").write_text("a = 3\nb = 2\n")
    commit_all(repo, "a fix on main after the squash")

    removed = cli_json(repo, "worktree", "remove", "task-fixed")
    assert removed["status"] == "removed" and removed["branch_kept"] is False and not tree.exists()


def test_a_branch_holding_the_only_copy_of_its_base_commit_is_kept(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    (repo / "loose.txt").write_text("a commit no branch holds\n")
    commit_all(repo, "detached work")
    tree = worked(repo, "loose")
    assert state(repo, "worktrees.task-loose.base") == git(repo, "rev-parse", "HEAD").strip()

    removed = cli(repo, "worktree", "remove", "task-loose")
    assert removed.returncode == 0 and not tree.exists(), removed.stderr
    assert removed.stdout.strip() == "task-loose: removed; branch task-loose kept (1 commit(s) on no other branch)"
