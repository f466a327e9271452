"""`orchestra install` / `uninstall` into real git repos, through the real CLI, named after the safety
property each test proves."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from orchestra import wiring
from orchestra.installer.manifest import sha256
from orchestra.installer.settings import unmerge
from orchestra.installer.source import MANIFEST, load_pack, mcp_server_entry

from tests.installer.conftest import REPO, contents, snapshot, write_pack
from tests.worktrees.conftest import cli


def settings_of(root: Path) -> dict:
    return json.loads((root / ".claude/settings.json").read_text())


def our_handlers(settings: dict) -> dict[str, list[dict]]:
    found = {event: [h for g in groups for h in g["hooks"] if wiring.is_ours(h)]
             for event, groups in settings.get("hooks", {}).items()}
    return {event: handlers for event, handlers in found.items() if handlers}


def first_agent(pack) -> tuple[str, str]:
    """(path, name) of the pack's first agent file with a name."""
    from orchestra import agentfiles

    for item in pack.files:
        if item.rel.startswith(".claude/agents/") and item.rel.endswith(".md"):
            name = agentfiles.read(pack.root / item.rel).meta.get("name")
            if name:
                return item.rel, name
    raise AssertionError("the pack has no agents")


def test_install_into_empty_repo(repo: Path, orchestra, pack_source: Path) -> None:
    result = orchestra("install", repo)
    assert result.code == 0, result.err
    pack = load_pack(pack_source)
    installed = contents(repo)
    for item in pack.files:
        assert installed[item.rel] == item.data, item.rel
        assert stat.S_IMODE((repo / item.rel).stat().st_mode) == item.mode, item.rel
    settings = settings_of(repo)
    assert settings["hooks"] == pack.hooks
    assert settings["statusLine"] == pack.statusline
    assert json.loads((repo / ".mcp.json").read_text()) == {"mcpServers": {"orchestra": mcp_server_entry()}}
    state = repo / ".claude/state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert (state / ".gitignore").read_text() == "*\n"
    manifest = json.loads((repo / MANIFEST).read_text())
    assert manifest["files"] == {i.rel: {"sha256": sha256(i.data), "mode": i.mode, "kind": i.kind} for i in pack.files}
    assert manifest["settings"]["restore"] is None and manifest["mcp"]["restore"] is None  # neither existed
    assert f"installed Orchestra {pack.version} into {repo}" in result.out
    # git sees the pack but not the runtime state
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout
    assert ".claude/state" not in status and ".claude/settings.json" in status


def test_install_twice_is_noop(repo: Path, orchestra) -> None:
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text('{\n    "env": {"A": "1"}\n}\n')
    assert orchestra("install", repo).code == 0
    before = snapshot(repo)
    again = orchestra("install", repo)
    assert again.code == 0
    assert "nothing changed" in again.out
    assert snapshot(repo) == before  # bytes, modes and mtimes: nothing was even rewritten
    assert orchestra("install", repo, "--json").json()["noop"] is True


def test_keeps_foreign_hooks_permissions_and_env(repo: Path, orchestra, pack_source: Path) -> None:
    foreign = {"type": "command", "command": "python3", "args": ["${CLAUDE_PROJECT_DIR}/tools/lint.py"], "timeout": 5}
    stale_ours = {"type": "command", "command": "uv",
                  "args": ["run", "--script", "${CLAUDE_PROJECT_DIR}/.claude/orchestra/hooks/retired.py"]}
    original = {
        "permissions": {"allow": ["Bash(npm test)"], "deny": ["Read(./.env)"]},
        "env": {"DEBUG": "1"},
        "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [foreign, stale_ours]}],
                  "Stop": [{"hooks": [{"type": "prompt", "prompt": "Done? $ARGUMENTS"}]}]},
        "model": "sonnet",
    }
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text(json.dumps(original, indent=4) + "\n")
    assert orchestra("install", repo).code == 0
    text = (repo / ".claude/settings.json").read_text()
    assert text.startswith('{\n    "permissions"')  # the file's own indentation is kept
    merged = json.loads(text)
    assert list(merged) == ["permissions", "env", "hooks", "model", "statusLine"]
    assert merged["permissions"] == original["permissions"] and merged["env"] == original["env"]
    assert merged["hooks"]["PreToolUse"][0] == {"matcher": "Bash", "hooks": [foreign]}  # theirs first, ours gone
    assert merged["hooks"]["Stop"][0] == original["hooks"]["Stop"][0]
    assert our_handlers(merged) == our_handlers({"hooks": load_pack(pack_source).hooks})
    assert "retired.py" not in text
    without_ours = unmerge(merged)
    assert without_ours["hooks"]["PreToolUse"] == [{"matcher": "Bash", "hooks": [foreign]}]


def test_keeps_user_statusline(repo: Path, orchestra, pack_source: Path) -> None:
    theirs = {"type": "command", "command": "~/.claude/my-status.sh", "padding": 1}
    (repo / ".claude").mkdir()
    original = json.dumps({"statusLine": theirs}, indent=2).encode()
    (repo / ".claude/settings.json").write_bytes(original)
    result = orchestra("install", repo)
    assert settings_of(repo)["statusLine"] == theirs
    assert "statusLine is kept; --statusline replaces it" in result.out
    replaced = orchestra("install", repo, "--statusline")
    assert replaced.code == 0
    assert settings_of(repo)["statusLine"] == load_pack(pack_source).statusline
    assert json.loads((repo / MANIFEST).read_text())["settings"]["displaced_statusLine"] == theirs
    assert ("backed-up  .claude/settings.json: your statusLine is replaced by the pack's (--statusline); "
            "uninstall puts yours back") in replaced.out
    assert "statusLine" not in orchestra("install", repo, "--statusline").out  # said once, when it happens
    removed = orchestra("uninstall", repo)
    assert removed.code == 0 and "restored   .claude/settings.json: your statusLine is back" in removed.out
    assert (repo / ".claude/settings.json").read_bytes() == original


def test_keeps_user_agent_with_same_name(repo: Path, orchestra, pack_source: Path) -> None:
    pack = load_pack(pack_source)
    ours_rel, name = first_agent(pack)
    same_name = repo / ".claude/agents" / f"{name}.md"  # elsewhere, but Claude Code would load only one
    same_name.parent.mkdir(parents=True)
    same_name.write_text(f"---\nname: {name}\ndescription: Our house reviewer.\n---\nReview like we do.\n")
    other_rel = next(i.rel for i in pack.files if i.rel.startswith(".claude/commands/"))
    same_path = repo / other_rel  # exactly where the pack has a file
    same_path.parent.mkdir(parents=True)
    same_path.write_text("---\ndescription: mine\n---\nMy own command.\n")
    before = {p: p.read_bytes() for p in (same_name, same_path)}

    result = orchestra("install", repo)
    assert result.code == 0
    assert not (repo / ours_rel).exists()
    assert {p: p.read_bytes() for p in before} == before
    assert f"kept       .claude/agents/{name}.md: your agent has the name of ours ({ours_rel})" in result.out
    assert f"kept       {other_rel}: a file of yours is where the pack has one" in result.out
    assert ours_rel not in json.loads((repo / MANIFEST).read_text())["files"]

    forced = orchestra("install", repo, "--force")
    assert forced.code == 0
    assert (repo / ours_rel).read_bytes() == (pack_source / ours_rel).read_bytes()
    assert (repo / other_rel).read_bytes() == (pack_source / other_rel).read_bytes()
    assert not same_name.exists()
    assert "uninstall puts it back" in forced.out
    assert orchestra("uninstall", repo).code == 0
    assert {p: p.read_bytes() for p in before} == before
    assert not (repo / ours_rel).exists()


def test_uninstall_restores_original_bytes(repo: Path, orchestra) -> None:
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_bytes(b'{"permissions":{"allow":["Bash(ls)"]},"env":{"X":"\\u00e9"}}')
    (repo / ".mcp.json").write_bytes(b'{\n\t"mcpServers": {\n\t\t"db": {"command": "db-mcp"}\n\t}\n}\n')
    (repo / "CLAUDE.md").write_text("# Notes\n")
    before = snapshot(repo, mtimes=False)
    assert orchestra("install", repo).code == 0
    assert json.loads((repo / ".mcp.json").read_text())["mcpServers"]["db"] == {"command": "db-mcp"}
    result = orchestra("uninstall", repo)
    assert result.code == 0
    after = snapshot(repo, mtimes=False)
    state = {k for k in after if k.startswith(".claude/state")}
    assert state == {".claude/state/", ".claude/state/.gitignore"}
    assert "kept       .claude/state: the team's state" in result.out
    assert {k: v for k, v in after.items() if k not in state} == before
    assert orchestra("install", repo).code == 0
    assert orchestra("uninstall", repo, "--purge").code == 0
    assert snapshot(repo, mtimes=False) == before


def test_uninstall_after_user_edits_removes_only_our_entries(repo: Path, orchestra) -> None:
    assert orchestra("install", repo).code == 0
    settings = settings_of(repo)
    settings["env"] = {"ADDED_LATER": "1"}
    (repo / ".claude/settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    edited_rel = next(rel for rel in json.loads((repo / MANIFEST).read_text())["files"] if rel.endswith(".md"))
    (repo / edited_rel).write_text("my edits\n")
    result = orchestra("uninstall", repo)
    assert result.code == 0
    assert settings_of(repo) == {"env": {"ADDED_LATER": "1"}}
    assert (repo / edited_rel).read_text() == "my edits\n"
    assert f"kept       {edited_rel}: you changed it since it was installed" in result.out
    assert not (repo / ".claude/orchestra").exists()
    assert not (repo / ".mcp.json").exists()


def test_upgrade_keeps_user_modified_file(repo: Path, orchestra, pack_source: Path, tmp_path: Path) -> None:
    pack = load_pack(pack_source)
    old_pack = write_pack(pack, tmp_path / "old pack", json.loads((pack_source / ".claude/settings.json").read_text()))
    pyproject = old_pack / ".claude/orchestra/pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'version = "{pack.version}"', 'version = "0.0.1"', 1))
    agents = [i.rel for i in pack.files if i.rel.startswith(".claude/agents/")]
    changed, edited = agents[0], agents[1]
    for rel in (changed, edited):
        (old_pack / rel).write_text((old_pack / rel).read_text() + "\nAn older paragraph.\n")
    retired = old_pack / ".claude/commands/retired/old.md"
    retired.parent.mkdir(parents=True, exist_ok=True)
    retired.write_text("---\ndescription: gone in the next version\n---\nOld.\n")
    added = next(i.rel for i in pack.files if i.rel.startswith(".claude/orchestra/hooks/"))
    (old_pack / added).unlink()

    assert orchestra("install", repo, "--source", old_pack).code == 0
    assert json.loads((repo / MANIFEST).read_text())["pack_version"] == "0.0.1"
    (repo / edited).write_text((repo / edited).read_text() + "\nOur team's own rule.\n")
    users_copy = (repo / edited).read_bytes()

    result = orchestra("install", repo)
    assert result.code == 0, result.err
    assert (repo / changed).read_bytes() == (pack_source / changed).read_bytes()  # untouched: upgraded
    assert (repo / edited).read_bytes() == users_copy  # edited: kept
    assert f"kept       {edited}: you changed this pack file since it was installed" in result.out
    assert not (repo / ".claude/commands/retired").exists()  # dropped from the pack: removed
    assert (repo / added).read_bytes() == (pack_source / added).read_bytes()  # new in the pack: added
    manifest = json.loads((repo / MANIFEST).read_text())
    assert manifest["pack_version"] == pack.version
    assert manifest["files"][edited]["sha256"] == sha256((old_pack / edited).read_bytes())
    assert "nothing changed" in orchestra("install", repo).out
    assert orchestra("uninstall", repo).code == 0
    assert (repo / edited).read_bytes() == users_copy


def test_force_backs_up_edited_pack_file(repo: Path, orchestra, pack_source: Path) -> None:
    assert orchestra("install", repo).code == 0
    rel = next(rel for rel in json.loads((repo / MANIFEST).read_text())["files"] if rel.startswith(".claude/agents/"))
    (repo / rel).write_text("edited\n")
    result = orchestra("install", repo, "--force")
    assert (repo / rel).read_bytes() == (pack_source / rel).read_bytes()
    backup = repo / ".claude/orchestra/backup/replaced" / rel
    assert backup.read_text() == "edited\n"
    assert f"your edited copy moved to .claude/orchestra/backup/replaced/{rel}" in result.out
    result = orchestra("uninstall", repo)
    assert backup.read_text() == "edited\n"  # the user's words are never deleted
    assert "your edited copy of a pack file, replaced by --force" in result.out


def test_upgrade_from_a_manifest_missing_later_fields(repo: Path, orchestra, pack_source: Path) -> None:
    assert orchestra("install", repo).code == 0
    manifest = json.loads((repo / MANIFEST).read_text())
    (repo / MANIFEST).write_text(json.dumps({"pack_version": "0.0.1", "files": manifest["files"]}))
    result = orchestra("install", repo)
    assert result.code == 0, result.err
    upgraded = json.loads((repo / MANIFEST).read_text())
    assert upgraded["format"] == 1 and upgraded["pack_version"] == load_pack(pack_source).version
    assert upgraded["files"] == manifest["files"] and upgraded["settings"]["hooks"] == manifest["settings"]["hooks"]
    assert orchestra("uninstall", repo).code == 0
    assert not (repo / ".claude/orchestra").exists() and not (repo / ".claude/agents").exists()


def test_refuses_a_manifest_from_a_newer_installer(repo: Path, orchestra) -> None:
    assert orchestra("install", repo).code == 0
    (repo / MANIFEST).write_text(json.dumps({"format": 2, "files": {}}))
    before = snapshot(repo)
    result = orchestra("install", repo)
    assert result.code == 1 and "written by a newer installer (format 2)" in result.err
    assert snapshot(repo) == before


def test_symlinked_settings_keep_their_link(repo: Path, orchestra) -> None:
    shared = repo / "config/claude-settings.json"
    shared.parent.mkdir()
    shared.write_text('{"env": {"SHARED": "1"}}\n')
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").symlink_to("../config/claude-settings.json")
    assert orchestra("install", repo).code == 0
    assert (repo / ".claude/settings.json").is_symlink()
    assert json.loads(shared.read_text())["hooks"]
    assert orchestra("uninstall", repo).code == 0
    assert (repo / ".claude/settings.json").is_symlink() and shared.read_text() == '{"env": {"SHARED": "1"}}\n'


def test_install_replaces_the_earlier_uv_form_of_our_server_and_keeps_theirs(repo: Path, orchestra) -> None:
    """Before `bin/orchestra-mcp`, `.mcp.json` ran `uv run --script .../bin/orchestra mcp`: still ours."""
    theirs = {"type": "stdio", "command": "node", "args": ["their-server.js"]}
    earlier = mcp_server_entry(windows=True)  # the form every platform had then
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"orchestra": earlier, "theirs": theirs}}))

    result = orchestra("install", repo)

    assert result.code == 0, result.err
    assert json.loads((repo / ".mcp.json").read_text())["mcpServers"] == {"orchestra": mcp_server_entry(),
                                                                          "theirs": theirs}


def test_force_never_overwrites_an_earlier_backup(repo: Path, orchestra, pack_source: Path) -> None:
    rel = next(i.rel for i in load_pack(pack_source).files if i.rel.startswith(".claude/commands/"))
    backup = repo / ".claude/orchestra/backup/displaced" / rel
    (repo / rel).parent.mkdir(parents=True)
    (repo / rel).write_text("my original command\n")
    assert orchestra("install", repo, "--force").code == 0
    (repo / rel).write_text("my second command\n")  # edited after the install: uninstall cannot put the first back
    assert "not put back" in orchestra("uninstall", repo).out
    assert backup.read_text() == "my original command\n"

    result = orchestra("install", repo, "--force")

    assert result.code == 0, result.err
    assert backup.read_text() == "my original command\n"
    assert backup.with_name(backup.name + ".1").read_text() == "my second command\n"
    result = orchestra("uninstall", repo)
    assert result.code == 0, result.err
    assert (repo / rel).read_text() == "my second command\n"
    assert backup.read_text() == "my original command\n"  # no manifest lists it now, so it is never deleted
    assert f"left       .claude/orchestra/backup/displaced/{rel}: a backup of a file of yours" in result.out


def test_an_install_without_a_package_index_builds_the_environments_from_the_cache(
        repo: Path, orchestra, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline (here: every connection refused), the environments are built from uv's cache, so the
    hooks then run; unbuilt, each hook would try the index and fail."""
    from orchestra.installer.warm import warm

    assert orchestra("install", repo).code == 0  # without warming
    script = repo / ".claude/orchestra/bin/orchestra"
    subprocess.run(["uv", "sync", "--quiet", "--script", str(script)], check=True, capture_output=True,
                   timeout=600)  # the packages are in the cache, as after any earlier install
    moved = repo.with_name("moved repo")  # a new path: uv keeps one environment per script path
    repo.rename(moved)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("UV_OFFLINE", raising=False)
    assert warm(moved, [".claude/orchestra/bin/orchestra"]) == []
    proc = subprocess.run([str(moved / ".claude/orchestra/bin/orchestra"), "--interpreter"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_environments_left_unbuilt_for_one_reason_are_one_line(repo: Path, orchestra, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline with an empty uv cache, no script's environment can be built: one line says so, with the
    reason, instead of the same long line for each of the pack's scripts."""
    import re

    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty uv cache"))

    result = orchestra("install", repo, "--warm")

    assert result.code == 0, result.err
    unbuilt = [line for line in result.out.splitlines() if "environment not built" in line]
    assert len(unbuilt) == 1, result.out
    count = re.match(r"  left {7}(\d+) scripts: environment not built \(.+\); until it is built, each run of the "
                     r"script tries the package index itself and, where it cannot reach it, fails, blocking the "
                     r"prompt or tool call its hook runs for; once uv can reach the index, run the install again "
                     r"\(it builds what is missing\) \(such as \.claude/orchestra/\S+; --json lists each\)$", unbuilt[0])
    assert count is not None, unbuilt[0]
    assert int(count.group(1)) == len(list((repo / ".claude/orchestra/hooks").glob("*.py"))) + 2  # + bin, status line


def test_an_install_run_again_builds_the_environments_an_offline_install_could_not(
        repo: Path, orchestra, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unbuilt, a hook's environment is built by the hook itself, from the index, and offline that fails and
    blocks what the hook guards: the install run again, changing nothing else, builds what is missing."""
    script = repo / ".claude/orchestra/hooks/user_prompt.py"
    subprocess.run(["uv", "sync", "--quiet", "--script", str(REPO / ".claude/orchestra/bin/orchestra")], check=True,
                   capture_output=True, timeout=600)  # the packages are in the cache, as after any earlier install

    def built() -> bool:
        out = subprocess.run(["uv", "sync", "--dry-run", "--offline", "--script", str(script)], capture_output=True,
                             text=True, timeout=120)
        return "Would use script environment" in out.stdout + out.stderr

    monkeypatch.setenv("UV_OFFLINE", "1")
    with monkeypatch.context() as offline:
        offline.setenv("UV_CACHE_DIR", str(tmp_path / "empty uv cache"))
        first = orchestra("install", repo, "--warm")
    assert first.code == 0 and "environment not built" in first.out and "run the install again" in first.out
    assert not built()

    again = orchestra("install", repo, "--warm")

    assert again.code == 0 and again.out.startswith(f"{repo}: already installed"), again.out
    assert "environment not built" not in again.out
    assert built()


def test_uninstall_after_the_pack_folder_was_deleted_takes_its_entries_out(repo: Path, orchestra) -> None:
    """Deleted by hand, .claude/orchestra/ takes the manifest with it while settings.json and .mcp.json
    still run its scripts, and every hook of a session fails: uninstall takes out our entries, only."""
    import shutil

    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text(json.dumps({"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "echo mine"}]}]}, "model": "opus"}, indent=2) + "\n")
    (repo / ".mcp.json").write_text('{"mcpServers": {"db": {"command": "db-mcp"}}}\n')
    assert orchestra("install", repo).code == 0
    shutil.rmtree(repo / ".claude/orchestra")
    result = orchestra("uninstall", repo)
    assert result.code == 0, result.err
    assert "delete its agents, commands and teams.yaml by hand" in result.out
    assert json.loads((repo / ".claude/settings.json").read_text()) == {"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "echo mine"}]}]}, "model": "opus"}
    assert json.loads((repo / ".mcp.json").read_text()) == {"mcpServers": {"db": {"command": "db-mcp"}}}
    again = orchestra("uninstall", repo)
    assert again.code == 1 and "none of .claude/settings.json, .claude/settings.local.json and .mcp.json wires the pack" in again.err


def untracked(root: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                          capture_output=True, text=True, check=True).stdout


def test_backups_and_bytecode_stay_out_of_git(repo: Path, orchestra, pack_source: Path) -> None:
    from orchestra.installer.warm import compile_package

    (repo / ".gitignore").write_text(".mcp.json\n")  # it holds a token: the user keeps it out of git
    (repo / ".mcp.json").write_text('{"mcpServers": {"api": {"type": "http", "url": "https://api.example", '
                                    '"headers": {"Authorization": "Bearer s3cret"}}}}\n')
    rel = next(i.rel for i in load_pack(pack_source).files if i.rel.startswith(".claude/commands/"))
    (repo / rel).parent.mkdir(parents=True)
    (repo / rel).write_text("my command\n")
    assert orchestra("install", repo, "--force").code == 0
    assert (repo / ".claude/orchestra/backup/restore/.mcp.json").is_file()
    assert compile_package(repo) is None  # what warming does after an install; running hooks write more

    status = untracked(repo)
    assert ".claude/orchestra/bin/orchestra" in status and ".claude/orchestra/.gitignore" in status
    assert "backup/" not in status and ".pyc" not in status

    (repo / rel).write_text("my command, edited since\n")  # so uninstall cannot put the backup back
    result = orchestra("uninstall", repo)
    assert result.code == 0, result.err
    assert (repo / ".claude/orchestra/backup/displaced" / rel).read_text() == "my command\n"
    assert "kept       .claude/orchestra/.gitignore: keeps the backups left in" in result.out
    assert "backup/" not in untracked(repo)


def test_an_upgrade_names_backups_and_bytecode_an_earlier_pack_let_git_track(repo: Path, orchestra) -> None:
    """A pack before its .gitignore let `git add -A` commit its restore points (.mcp.json secrets) and
    bytecode; an ignore rule never untracks them, so install and doctor say how to."""
    from orchestra.installer.warm import compile_package

    (repo / ".mcp.json").write_text('{"mcpServers": {"api": {"type": "http", "url": "https://api.example", '
                                    '"headers": {"Authorization": "Bearer s3cret"}}}}\n')
    assert orchestra("install", repo).code == 0
    assert compile_package(repo) is None
    subprocess.run(["git", "-C", str(repo), "add", "-A", "-f"], check=True)  # as the earlier pack let it happen
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=u", "-c", "user.email=u@example.com", "commit", "-q",
                    "-m", "orchestra"], check=True)

    again = orchestra("install", repo)
    doctor = [c for c in orchestra("doctor", repo, "--json").json()["checks"] if c["name"] == "install"]

    told = "the installer's backups (a restore point of .mcp.json can hold secrets) and bytecode (__pycache__/)"
    assert again.code == 0 and told in again.out and "nothing changed" in again.out
    assert "`git rm -r -q --cached .claude/orchestra && git add .claude/orchestra`" in again.out
    assert any(c["status"] == "warn" and told in c["detail"] for c in doctor)
    subprocess.run(["git", "-C", str(repo), "rm", "-r", "-q", "--cached", ".claude/orchestra"], check=True)
    subprocess.run(["git", "-C", str(repo), "add", ".claude/orchestra"], check=True)
    assert "git tracks" not in orchestra("install", repo).out
    assert not [c for c in orchestra("doctor", repo, "--json").json()["checks"] if "git tracks" in c["detail"]]


def pre_tool_hooks(settings: dict, tool: str) -> list[str]:
    """The scripts of our PreToolUse handlers Claude Code runs for `tool` (matcher rules: reference §1.8)."""
    import re

    def fires(matcher: str) -> bool:
        if re.fullmatch(r"[\w ,|-]+", matcher):
            return tool in {part.strip() for part in re.split(r"[|,]", matcher)}
        return re.search(matcher, tool) is not None

    return [h["args"][-1].rsplit("/", 1)[-1] for g in settings["hooks"]["PreToolUse"] if fires(g.get("matcher", ""))
            for h in g["hooks"] if wiring.is_ours(h)]


def test_a_kept_orchestra_server_of_yours_gets_the_ordinary_guard(repo: Path, orchestra) -> None:
    theirs = {"type": "stdio", "command": "their-orchestra", "args": ["--serve"]}
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"orchestra": theirs}}))

    result = orchestra("install", repo)

    assert result.code == 0, result.err
    assert "your own `orchestra` MCP server is kept" in result.out
    settings = settings_of(repo)
    assert pre_tool_hooks(settings, "mcp__orchestra__deploy") == ["pre_tool.py"]  # no caller stamped into theirs
    assert pre_tool_hooks(settings, "mcp__plugin_orchestra_orchestra__ask") == ["pre_mcp.py"]
    assert pre_tool_hooks(settings, "Bash") == ["pre_tool.py"]
    wiring_checks = [c for c in orchestra("doctor", repo, "--json").json()["checks"] if c["name"] == "wiring"]
    assert [c["status"] for c in wiring_checks] == ["ok"]

    forced = orchestra("install", repo, "--force")
    assert forced.code == 0
    assert json.loads((repo / ".mcp.json").read_text())["mcpServers"]["orchestra"] == mcp_server_entry()
    assert ("backed-up  .mcp.json: your own `orchestra` MCP server is replaced by the pack's (--force); "
            "uninstall puts yours back") in forced.out
    assert ".mcp.json" not in orchestra("install", repo, "--force").out  # said once, when it happens
    removed = orchestra("uninstall", repo)
    assert removed.code == 0 and "restored   .mcp.json: your own `orchestra` MCP server is back" in removed.out
    assert json.loads((repo / ".mcp.json").read_text()) == {"mcpServers": {"orchestra": theirs}}

    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"theirs": theirs}}))  # renamed: ours can go in
    assert orchestra("install", repo).code == 0
    assert pre_tool_hooks(settings_of(repo), "mcp__orchestra__ask") == ["pre_mcp.py"]
    assert orchestra("uninstall", repo).code == 0


def test_an_orchestra_server_of_yours_of_another_shape_is_kept_as_yours(repo: Path, orchestra) -> None:
    theirs = {"command": "their-orchestra", "args": 5}  # Claude Code would reject it; it is theirs to fix
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"orchestra": theirs}}))
    result = orchestra("install", repo)
    assert result.code == 0, result.err
    assert "your own `orchestra` MCP server is kept" in result.out
    assert json.loads((repo / ".mcp.json").read_text()) == {"mcpServers": {"orchestra": theirs}}
    mcp = [c for c in orchestra("doctor", repo, "--json").json()["checks"] if c["name"] == "mcp"]
    assert mcp == [{"name": "mcp", "status": "warn", "detail": ".mcp.json: `orchestra` is a server of yours, "
                                                                "not the pack's"}]
    assert orchestra("uninstall", repo).code == 0


def test_pack_files_a_rule_of_yours_keeps_out_of_git_are_named(repo: Path, orchestra, tmp_path: Path) -> None:
    """`bin/` in the project's .gitignore (common) would leave the MCP server's launcher out of every commit:
    a clone wires a server whose file it lacks."""
    (repo / ".gitignore").write_text("bin/\n")
    result = orchestra("install", repo)
    assert result.code == 0
    advice = "add `!/.claude/orchestra/bin/` and `!/.claude/orchestra/bin/**` after it"
    assert "left       .claude/orchestra: .gitignore:1: bin/ keeps " in result.out and advice in result.out
    assert ".claude/orchestra/bin/orchestra-mcp" in result.out
    warned = [c for c in orchestra("doctor", repo, "--json").json()["checks"] if c["name"] == "install"]
    assert [c["status"] for c in warned] == ["ok", "warn"] and advice in warned[1]["detail"]

    (repo / ".gitignore").write_text("bin/\n!/.claude/orchestra/bin/\n!/.claude/orchestra/bin/**\n")  # as advised
    added = subprocess.run(["git", "add", "--dry-run", ".claude/orchestra/bin"], cwd=repo, capture_output=True,
                           text=True, check=True).stdout
    assert "add '.claude/orchestra/bin/orchestra-mcp'" in added
    assert [c["status"] for c in orchestra("doctor", repo, "--json").json()["checks"] if c["name"] == "install"] == [
        "ok"]
    (repo / ".gitignore").write_text(".claude/\n")  # the whole folder kept to itself: nothing half shared
    assert [c["status"] for c in orchestra("doctor", repo, "--json").json()["checks"] if c["name"] == "install"] == [
        "ok"]


def test_keeps_a_byte_order_mark(repo: Path, orchestra) -> None:
    """Claude Code reads settings.json and .mcp.json that start with one (editors on Windows write it)."""
    (repo / ".claude").mkdir()
    settings = '\ufeff{\n  "env": {"A": "1"}\n}\n'.encode()
    servers = '\ufeff{"mcpServers": {"db": {"command": "db-mcp"}}}'.encode()
    (repo / ".claude/settings.json").write_bytes(settings)
    (repo / ".mcp.json").write_bytes(servers)

    result = orchestra("install", repo)

    assert result.code == 0, result.err
    for name in (".claude/settings.json", ".mcp.json"):
        raw = (repo / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf{") and b"\xef\xbb\xbf" not in raw[3:], name
    merged = json.loads((repo / ".claude/settings.json").read_text(encoding="utf-8-sig"))
    assert merged["env"] == {"A": "1"} and merged["hooks"]
    assert orchestra("uninstall", repo).code == 0
    assert (repo / ".claude/settings.json").read_bytes() == settings and (repo / ".mcp.json").read_bytes() == servers


def test_keeps_crlf_line_endings(repo: Path, orchestra) -> None:
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_bytes(b'{\r\n    "env": {\r\n        "A": "1"\r\n    }\r\n}\r\n')
    (repo / ".mcp.json").write_bytes(b'{\r\n  "mcpServers": {}\r\n}')

    assert orchestra("install", repo).code == 0

    for name in (".claude/settings.json", ".mcp.json"):
        raw = (repo / name).read_bytes()
        assert raw.count(b"\n") > 5 and raw.count(b"\n") == raw.count(b"\r\n"), name  # every line ends in CRLF
    assert (repo / ".claude/settings.json").read_bytes().startswith(b'{\r\n    "env": {\r\n        "A": "1"')
    assert not (repo / ".mcp.json").read_bytes().endswith(b"\n")
    settings = settings_of(repo)
    settings["env"]["B"] = "2"  # edited since: uninstall takes only our entries out, in the file's own style
    (repo / ".claude/settings.json").write_bytes(json.dumps(settings, indent=4).replace("\n", "\r\n").encode())
    assert orchestra("uninstall", repo).code == 0
    assert (repo / ".claude/settings.json").read_bytes() == (
        b'{\r\n    "env": {\r\n        "A": "1",\r\n        "B": "2"\r\n    }\r\n}')


def test_a_temp_file_left_by_a_killed_install_is_cleared_by_the_next(repo: Path, orchestra) -> None:
    before = snapshot(repo, mtimes=False)
    # What an install killed while writing paths.py leaves: the directories, and the temp file beside
    # the file it was about to replace (named as orchestra.atomic names it).
    leftover = repo / ".claude/orchestra/src/orchestra/.paths.py.k1lled0x.tmp"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b'"""Where the pack keeps its st')

    assert orchestra("install", repo).code == 0

    assert not leftover.exists()
    assert [p for p in repo.rglob("*.tmp")] == []
    assert orchestra("uninstall", repo, "--purge").code == 0
    # the directories the killed install made stay (the next install found them), empty: git shows nothing
    assert {k: v for k, v in snapshot(repo, mtimes=False).items() if v != ("dir",)} == before
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True)
    assert status.stdout == ""


def test_uninstall_after_a_killed_install_leaves_no_folders_behind(repo: Path, orchestra, pack_source: Path) -> None:
    """An install killed partway made folders and wrote some files; the next install adopts them, and the
    folders are as much the pack's as the files: uninstall leaves the repo as it was, folders included."""
    from orchestra.installer import apply, plan_install
    from orchestra.installer.plan import Plan

    (repo / ".claude/commands/sprint").mkdir(parents=True)
    (repo / ".claude/commands/sprint/mine.md").write_text("---\ndescription: ours\n---\nA command of the team.\n")
    before = snapshot(repo, mtimes=False)
    plan = plan_install(repo, pack_source)
    written = [s for s in plan.steps if s.kind == "write" and s.path.startswith(".claude/")][:len(plan.steps) // 2]
    apply(Plan("install", repo, steps=written, make_dirs=plan.make_dirs))  # killed before the rest and the manifest
    (repo / ".claude/orchestra/hooks").mkdir(parents=True, exist_ok=True)  # made just before the kill

    assert orchestra("install", repo).code == 0
    assert orchestra("uninstall", repo, "--purge").code == 0

    assert snapshot(repo, mtimes=False) == before

def test_uninstall_unwires_the_hooks_before_it_deletes_their_scripts(repo: Path, orchestra) -> None:
    # An uninstall killed partway must not leave settings.json running guards (onFailure: block)
    # whose scripts are gone: that would block every tool call of the next session.
    (repo / ".mcp.json").write_text('{"mcpServers": {"db": {"command": "db-mcp"}}}\n')
    assert orchestra("install", repo).code == 0
    steps = [(s["kind"], s["path"]) for s in orchestra("uninstall", repo, "--dry-run", "--json").json()["steps"]]
    first_delete = min(i for i, (kind, path) in enumerate(steps) if kind == "delete"
                       and path.startswith(".claude/orchestra/"))
    wiring = [i for i, (_, path) in enumerate(steps) if path in (".claude/settings.json", ".mcp.json")]
    assert len(wiring) == 2 and max(wiring) < first_delete, steps


def test_a_member_removed_from_teams_yaml_stays_removed(repo: Path, orchestra) -> None:
    """teams.yaml says: remove members you do not need, and their agent files. Install must not bring the
    file back (doctor would then fail it as an agent teams.yaml does not list), nor doctor call it missing."""
    assert orchestra("install", repo).code == 0
    teams_path = repo / ".claude/teams.yaml"
    original = teams_path.read_text()
    team = next(t for t in yaml.safe_load(original)["teams"].values() if t.get("members"))
    name = team["members"][-1]["name"]
    removed = next(rel for rel in json.loads((repo / MANIFEST).read_text())["files"] if rel.endswith(f"/{name}.md"))
    entry = f"      - name: {name}\n"
    start = original.index(entry)
    end = original.find("      - name:", start + len(entry))
    teams_path.write_text(original[:start] + (original[end:] if end >= 0 else ""))
    (repo / removed).unlink()
    assert "pack files missing" not in orchestra("doctor", repo).out

    result = orchestra("install", repo)

    assert result.code == 0, result.err
    assert not (repo / removed).exists()
    assert f"kept       {removed}: you deleted it and teams.yaml no longer lists the agent" in result.out
    assert "nothing changed" in orchestra("install", repo).out
    teams_path.write_text(original)  # the member is back: so is its file
    assert orchestra("install", repo).code == 0
    assert (repo / removed).is_file()


def test_an_upgrade_names_new_agents_that_your_teams_yaml_does_not_list(repo: Path, orchestra, pack_source: Path,
                                                                         tmp_path: Path) -> None:
    """A newer pack adds an agent; the user's edited teams.yaml (kept) does not list it, so doctor fails on
    it: the install says so, and how to settle it either way."""
    pack = load_pack(pack_source)
    old_pack = write_pack(pack, tmp_path / "old pack", json.loads((pack_source / ".claude/settings.json").read_text()))
    teams = yaml.safe_load((old_pack / ".claude/teams.yaml").read_text())
    team = next(t for t in teams["teams"].values() if t.get("members"))
    name = team["members"].pop()["name"]
    (old_pack / ".claude/teams.yaml").write_text(yaml.safe_dump(teams, sort_keys=False))
    added = next(i.rel for i in pack.files if i.rel.endswith(f"/{name}.md"))
    (old_pack / added).unlink()
    assert orchestra("install", repo, "--source", old_pack).code == 0
    teams_path = repo / ".claude/teams.yaml"
    teams_path.write_text(teams_path.read_text().replace(teams["organization"], "Our shop"))

    result = orchestra("install", repo)

    assert result.code == 0, result.err
    assert (repo / added).is_file()
    assert (f"kept       .claude/teams.yaml: your teams.yaml does not list the pack's agents installed now ({name}): "
            "add them to a team") in result.out
    assert f"agent '{name}' is not in teams.yaml" in orchestra("doctor", repo).out
    (repo / added).unlink()  # the user's choice: without it
    result = orchestra("install", repo)
    assert not (repo / added).exists() and "does not list the pack's agents" not in result.out

def test_an_upgrade_keeps_an_agent_the_pack_dropped_while_your_teams_yaml_lists_it(repo: Path, orchestra,
                                                                                   pack_source: Path,
                                                                                   tmp_path: Path) -> None:
    """A newer pack no longer ships an agent (dropped or renamed) that the user's own teams.yaml still lists:
    deleting its file would leave a member with no agent file, every delegation to it failing. The file is
    kept as the user's, and the install says so; a pack-owned teams.yaml, upgraded too, drops it with it."""
    pack = load_pack(pack_source)
    old_pack = write_pack(pack, tmp_path / "old pack", json.loads((pack_source / ".claude/settings.json").read_text()))
    rel = ".claude/agents/engineering/legacy-writer.md"
    (old_pack / rel).write_text("---\nname: legacy-writer\ndescription: Use for release notes.\ntools: Read, Write\n"
                                "model: sonnet\n---\n\nYou write release notes.\n")
    teams_yaml = old_pack / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace(
        "engineering-director\n    members:\n",
        "engineering-director\n    members:\n      - name: legacy-writer\n        role: team_member\n", 1))
    assert yaml.safe_load(teams_yaml.read_text())["teams"]["engineering"]["members"][0]["name"] == "legacy-writer"
    assert orchestra("install", repo, "--source", old_pack).code == 0
    teams_path = repo / ".claude/teams.yaml"
    teams_path.write_text(teams_path.read_text().replace("organization: ", "organization: Our ", 1))

    result = orchestra("install", repo)

    assert result.code == 0, result.err
    assert (repo / rel).is_file()
    assert (f"kept       {rel}: no longer in the pack, but your teams.yaml lists legacy-writer: kept as yours"
            in result.out), result.out
    assert "legacy-writer" not in orchestra("doctor", repo).out
    assert rel not in json.loads((repo / MANIFEST).read_text())["files"]  # the user's file now
    assert "nothing changed" in orchestra("install", repo).out


def test_refuses_to_mix_into_a_copied_pack_of_another_version(repo: Path, orchestra, pack_source: Path) -> None:
    """A pack copied in by hand (no manifest) whose code differs: installed beside it, the old modules and
    the new ones would make a CLI and hooks that crash; --force replaces the copy, which stays in the backup."""
    pack = load_pack(pack_source)
    write_pack(pack, repo, json.loads((pack_source / ".claude/settings.json").read_text()))
    store = repo / ".claude/orchestra/src/orchestra/store/__init__.py"
    store.write_text(store.read_text() + "\n# an older version of the pack\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    before = snapshot(repo)

    for args in ((), ("--dry-run",)):
        result = orchestra("install", repo, *args)
        assert result.code == 1
        assert result.err.startswith(f"orchestra install: {repo / '.claude/orchestra'}: holds another version of "
                                     "the pack (.claude/orchestra/src/orchestra/store/__init__.py differ")
        assert "Install with --force" in result.err and result.err.rstrip().endswith("nothing was written")
        assert snapshot(repo) == before

    assert orchestra("install", repo, "--force").code == 0
    assert store.read_bytes() == (pack_source / ".claude/orchestra/src/orchestra/store/__init__.py").read_bytes()
    backup = repo / ".claude/orchestra/backup/displaced/.claude/orchestra/src/orchestra/store/__init__.py"
    assert backup.read_text().endswith("# an older version of the pack\n")


def test_installing_over_a_copied_pack_of_this_version_says_so_in_one_line(repo: Path, orchestra,
                                                                           pack_source: Path) -> None:
    """README's copy, then the installer: every file is adopted, in one line of the report (it was one line
    per file, some 240, burying what else the install kept); --json still lists each."""
    pack = load_pack(pack_source)
    write_pack(pack, repo, json.loads((pack_source / ".claude/settings.json").read_text()))
    (repo / ".claude/teams.yaml").write_text((repo / ".claude/teams.yaml").read_text() + "# ours now\n")
    files = len([i for i in pack.files if i.kind == "pack"])

    dry = orchestra("install", repo, "--dry-run", "--json").json()
    result = orchestra("install", repo)

    assert len([n for n in dry["notices"] if n["kind"] == "adopted"]) == files
    assert result.code == 0
    lines = result.out.splitlines()
    adopted = [line for line in lines if line.lstrip().startswith("adopted")]
    assert len(adopted) == 1 and f"{files} files already identical to the pack's" in adopted[0]
    assert len(lines) < 10, result.out


def test_uninstall_after_force_over_a_copied_pack_puts_the_whole_copy_back(repo: Path, orchestra,
                                                                          pack_source: Path) -> None:
    """--force over a copied pack of another version moved aside only its files that differ and adopted
    the rest, so uninstall put back a pack missing every file the two versions share (and took the
    copy's wiring out): a half pack whose agents and commands ran code that was gone. Now all of the
    copy goes aside and comes back, its settings.json and .mcp.json byte for byte."""
    pack = load_pack(pack_source)
    write_pack(pack, repo, json.loads((pack_source / ".claude/settings.json").read_text()))
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"orchestra": mcp_server_entry()}}) + "\n")
    store = repo / ".claude/orchestra/src/orchestra/store/__init__.py"
    store.write_text(store.read_text() + "\n# an older version of the pack\n")
    before = snapshot(repo, mtimes=False)

    installed = orchestra("install", repo, "--force")
    result = orchestra("uninstall", repo)

    assert installed.code == 0 and result.code == 0, installed.err + result.err
    assert store.read_text().endswith("# an older version of the pack\n")
    after = snapshot(repo, mtimes=False)
    assert {k: v for k, v in after.items() if not k.startswith(".claude/state")} == before
    files = len(pack.files)
    assert f"backed-up  {files} files moved to .claude/orchestra/backup/displaced/" in installed.out
    assert f"restored   {files} files of yours back from .claude/orchestra/backup/displaced/" in result.out
    assert len(installed.out.splitlines()) < 10, installed.out
    assert "  left  " not in result.out, result.out  # the copy's folders are its own, not the install's


def test_reinstall_after_an_uninstall_that_left_backups_is_not_taken_for_a_copied_pack(repo: Path, orchestra) -> None:
    """Uninstall leaves .claude/orchestra/.gitignore beside the backups it could not put back. A later
    pack whose .gitignore reads otherwise refused to install, calling it another version of the pack's
    code that would not run; a .gitignore runs nothing: it is kept as the user's, as any such file."""
    backup = repo / ".claude/orchestra/backup/replaced/.claude/orchestra/hooks/stop.py"
    backup.parent.mkdir(parents=True)
    backup.write_text("# your edited copy, replaced by --force\n")
    (repo / ".claude/orchestra/.gitignore").write_text("__pycache__/\n/backup/\n# an earlier pack's wording\n")

    result = orchestra("install", repo)

    assert result.code == 0, result.err
    assert "kept       .claude/orchestra/.gitignore: a file of yours is where the pack has one" in result.out
    assert (repo / ".claude/orchestra/hooks/stop.py").is_file() and backup.is_file()


def test_an_upgrade_refuses_to_keep_your_edit_of_code_it_changes(repo: Path, orchestra, pack_source: Path,
                                                                  tmp_path: Path) -> None:
    """A local patch of a module the new pack changes, kept beside the new version of every other module,
    leaves hooks that cannot import (the guards then block every tool call). Agent and command edits stay
    kept as before; code edits are refused until --force moves them to the backup dir."""
    pack = load_pack(pack_source)
    old_pack = write_pack(pack, tmp_path / "old pack", json.loads((pack_source / ".claude/settings.json").read_text()))
    module = ".claude/orchestra/src/orchestra/store/__init__.py"
    (old_pack / module).write_text((old_pack / module).read_text() + "\n# as an older pack had it\n")
    assert orchestra("install", repo, "--source", old_pack).code == 0
    (repo / module).write_text((repo / module).read_text() + "# our local patch\n")
    patched = (repo / module).read_bytes()
    before = snapshot(repo)

    result = orchestra("install", repo)

    assert result.code == 1
    assert result.err.startswith(f"orchestra install: {repo / '.claude/orchestra'}: this pack changes files of its "
                                 f"code that you edited ({module}): ")
    assert "Install with --force" in result.err and snapshot(repo) == before
    assert orchestra("install", repo, "--source", old_pack).code == 0  # the same pack: nothing to mix
    assert (repo / module).read_bytes() == patched
    assert orchestra("install", repo, "--force").code == 0
    assert (repo / module).read_bytes() == (pack_source / module).read_bytes()
    assert (repo / ".claude/orchestra/backup/replaced" / module).read_bytes() == patched


def test_a_nested_install_names_the_install_above_it(repo: Path, orchestra, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Claude Code runs the hooks of the directory it starts in only: an install inside another (or below
    one) says which of the two runs where, naming both; a git worktree of the project is not another install."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude config"))
    assert orchestra("install", repo).code == 0
    inner = repo / "services" / "api"
    inner.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(inner)], check=True)

    result = orchestra("install", inner, "--json")

    assert result.code == 0
    [nested] = [n for n in result.json()["notices"] if n["path"] == str(repo)]
    assert nested["kind"] == "left"
    assert nested["message"].startswith(f"{repo}, a directory above {inner}, has Orchestra too. Claude Code runs the "
                                        "hooks of the directory it starts in only")
    doctor = json.loads(orchestra("doctor", inner, "--json").out)["checks"]
    assert [c["status"] for c in doctor if c["detail"] == nested["message"]] == ["warn"]
    assert str(inner) not in orchestra("doctor", repo).out  # the outer one is not told about a project inside it

    subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "init"], check=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})
    worktree = repo / ".worktrees" / "t1"
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", str(worktree)], check=True)
    assert "has Orchestra too" not in orchestra("doctor", worktree).out


def test_refuses_to_install_into_the_users_claude_config(tmp_path: Path, orchestra,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed into the home directory, the pack's hooks land in the user settings and run in every project,
    blocking every prompt in those without the pack (seen with Claude Code 2.1.328)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    result = orchestra("install", home)
    assert result.code == 1 and result.err.count("\n") == 1
    assert result.err.startswith(f"orchestra install: {home / '.claude'} is your Claude Code user config dir: its "
                                 "settings.json applies to every project")
    assert list(home.iterdir()) == []

    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(project / ".claude"))
    assert "is your Claude Code user config dir" in orchestra("install", project).err
    assert list(project.iterdir()) == []


def test_doctor_fails_where_the_user_settings_wire_the_pack(repo: Path, orchestra, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "claude config"
    config.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    assert orchestra("install", repo).code == 0
    (config / "settings.json").write_text(json.dumps({"hooks": settings_of(repo)["hooks"]}))

    result = orchestra("doctor", repo, "--json")

    assert result.code == 1
    [wired] = [c for c in result.json()["checks"] if c["status"] == "fail"]
    assert wired["detail"].startswith(f"{config / 'settings.json'}: your user settings wire the pack's hooks, so "
                                      "they run in every project")
    assert "orchestra uninstall" not in wired["detail"]  # a config dir of another name is no install's .claude/


def test_install_and_doctor_say_when_the_plugin_is_on_as_well(repo: Path, orchestra, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin enabled in the user's settings runs beside the installed pack in every project: both MCP
    servers and both sets of agents and commands; install and doctor name the file that turns it on."""
    config = tmp_path / "claude config"
    config.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    user = config / "settings.json"
    user.write_text(json.dumps({"enabledPlugins": {"github@official": True, "orchestra@claude-orchestra": True}}))

    result = orchestra("install", repo, "--json")

    [plugin] = [n for n in result.json()["notices"] if n["path"] == str(user)]
    assert plugin["message"].startswith("`enabledPlugins` turns the Orchestra plugin (orchestra@claude-orchestra) on "
                                        "as well: where this install's hooks run, the plugin's copies stand aside")
    [check] = [c for c in json.loads(orchestra("doctor", repo, "--json").out)["checks"]
               if c["detail"].startswith(f"{user}: `enabledPlugins`")]
    assert check["status"] == "ok"

    (repo / ".claude/settings.local.json").write_text(json.dumps({"enabledPlugins": {"orchestra@claude-orchestra": False}}))
    assert "enabledPlugins" not in orchestra("install", repo).out + orchestra("doctor", repo).out


def test_uninstall_names_the_worktrees_it_leaves_and_how_to_remove_them(repo: Path, orchestra) -> None:
    """Worktrees may hold work, so uninstall keeps them; but `orchestra worktree remove` goes with the
    pack, so it says which remain, what they hold, and the git commands that remove them afterwards."""
    assert orchestra("install", repo).code == 0
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pack"],
                   check=True)
    made = cli(repo, "worktree", "create", "product", "--json")
    assert made.returncode == 0, made.stderr
    path = Path(json.loads(made.stdout)["path"])
    (path / "draft.md").write_text("unsaved work\n")
    (repo / ".claude/worktrees.yaml").write_text("root: ../elsewhere trees\n")  # a root of your own counts too
    other = Path(json.loads(cli(repo, "worktree", "create", "engineering", "--json").stdout)["path"])
    assert other.parent == (repo.parent / "elsewhere trees").resolve()
    name = path.name
    planned = orchestra("uninstall", repo, "--dry-run", "--json").json()["notices"]
    assert sorted(n["path"] for n in planned if "worktree" in n["message"]) == sorted([f".worktrees/{name}", str(other)])
    result = orchestra("uninstall", repo)
    assert result.code == 0
    assert f"left       .worktrees/{name}: worktree {name} of the pack, on {name}, with 1 uncommitted change(s)" \
        in result.out
    assert f"`orchestra worktree remove {name}`" in result.out
    assert f"git worktree remove '{path}' && git branch -d {name}" in result.out
    assert f"left       {other}: worktree {other.name} of the pack, on {other.name};" in result.out
    assert (path / "draft.md").read_text() == "unsaved work\n"  # never removed for the user


def test_a_rule_of_yours_that_keeps_the_install_manifest_out_of_git_is_named(repo: Path, orchestra) -> None:
    """`*.json` in the project's .gitignore leaves install-manifest.json out of every commit: a clone has no
    manifest, so `orchestra uninstall` there refuses to run and cannot put back what the install replaced."""
    (repo / ".gitignore").write_text("*.json\n")
    result = orchestra("install", repo)
    assert result.code == 0, result.err
    take_back = "`!/.claude/orchestra/install-manifest.json`"
    manifest_line = [line for line in result.out.splitlines() if MANIFEST in line]
    assert len(manifest_line) == 1 and take_back in manifest_line[0], result.out
    assert manifest_line[0].startswith("  left       .claude/orchestra: .gitignore:1: *.json keeps ")
    assert "orchestra uninstall" in manifest_line[0]
    warned = [c for c in orchestra("doctor", repo, "--json").json()["checks"]
              if c["name"] == "install" and c["status"] == "warn"]
    assert any(take_back in c["detail"] and "orchestra uninstall" in c["detail"] for c in warned), warned

    advice = {part.strip("`") for line in result.out.splitlines() for part in line.split() if part.startswith("`!/")}
    (repo / ".gitignore").write_text("*.json\n" + "".join(f"{rule}\n" for rule in sorted(advice)))  # as advised
    added = subprocess.run(["git", "add", "--dry-run", ".claude/orchestra"], cwd=repo, capture_output=True,
                           text=True, check=True).stdout
    assert f"add '{MANIFEST}'" in added and "add '.claude/orchestra/schemas/epic.json'" in added
    assert [c["status"] for c in orchestra("doctor", repo, "--json").json()["checks"] if c["name"] == "install"] == [
        "ok"]


def test_a_fresh_install_ends_with_the_next_steps(repo: Path, orchestra, pack_source: Path) -> None:
    result = orchestra("install", repo)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    steps = lines[lines.index("next:") + 1:]
    assert any(f"{repo}/.claude/orchestra/bin/orchestra" in s and " doctor" in s for s in steps), steps
    assert any(f"{pack_source}/templates/CLAUDE.md" in s and "CLAUDE.md" in s for s in steps), steps
    assert any("claude`" in s and "choose \"Use this MCP server\"" in s for s in steps), steps
    assert all(s.startswith("  ") for s in steps)

    again = orchestra("install", repo)
    assert "next:" not in again.out  # nothing changed: nothing new to do
    (repo / "CLAUDE.md").write_text("We work through the Orchestra teams.\n")
    (repo / ".claude/commands/msg/ask.md").unlink()
    upgraded = orchestra("install", repo, "--json")
    data = upgraded.json()  # still one JSON document
    assert data["next_steps"] and not any("templates/CLAUDE.md" in s for s in data["next_steps"])
    assert orchestra("install", repo, "--json").json()["next_steps"] == []
    assert "next:" not in orchestra("uninstall", repo).out
