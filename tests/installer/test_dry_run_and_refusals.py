"""What the installer shows without writing (`--dry-run`) and what it refuses to touch at all."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.installer.conftest import contents, snapshot


def git_apply(root: Path, diff: str) -> None:
    subprocess.run(["git", "apply", "--unsafe-paths", "-"], input=diff, text=True, cwd=root, check=True,
                   capture_output=True)


def test_dry_run_writes_nothing(repo: Path, orchestra, tmp_path: Path) -> None:
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text('{\n  "env": {"A": "1"}\n}\n')
    before = snapshot(repo)
    result = orchestra("install", repo, "--dry-run")
    assert result.code == 0
    assert snapshot(repo) == before
    assert "--- a/.claude/settings.json\n+++ b/.claude/settings.json\n" in result.out
    assert "--- /dev/null\n+++ b/.claude/orchestra/install-manifest.json\n" in result.out
    # The diff is the install: applied with git, it produces the same files a real install writes.
    twin = tmp_path / "twin"
    shutil.copytree(repo, twin, symlinks=True)
    git_apply(twin, result.out)
    assert orchestra("install", repo).code == 0
    assert contents(twin) == contents(repo)
    # An uninstall's dry run, too, only shows.
    before = snapshot(repo)
    shown = orchestra("uninstall", repo, "--dry-run")
    assert shown.code == 0 and "+++ /dev/null" in shown.out
    assert snapshot(repo) == before
    assert orchestra("install", repo, "--dry-run").out.startswith(f"# install {repo}: nothing to change\n")


@pytest.mark.parametrize("name, text, complaint", [
    (".claude/settings.json", "{ \"hooks\": {,", ".claude/settings.json:1: not valid JSON"),
    (".claude/settings.json", "[]\n", "the top level is an array, not an object"),
    (".claude/settings.json", '{"hooks": []}', "`hooks` is an array, not an object"),
    (".claude/settings.json", '{"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", '
                              '"timeout": "5"}]}]}}', "'5' is not of type 'number'"),
    (".claude/settings.json", '{"statusLine": {"type": "command", "command": "x", "color": "red"}}',
     "Additional properties are not allowed ('color' was unexpected)"),
    (".claude/settings.json", '{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x", "args": 5}]}]}}',
     "hooks.Stop[0].hooks[0].args: 5 is not of type 'array'"),
    (".mcp.json", '{"mcpServers": ["x"]}', "`mcpServers` is an array, not an object"),
])
def test_refuses_invalid_settings_without_writing(repo: Path, orchestra, name: str, text: str,
                                                  complaint: str) -> None:
    (repo / name).parent.mkdir(exist_ok=True)
    (repo / name).write_text(text)
    before = snapshot(repo)
    result = orchestra("install", repo)
    assert result.code == 1
    assert result.err.startswith(f"orchestra install: {repo / name}") and complaint in result.err, result.err
    assert "then run the install again; nothing was written" in result.err
    assert result.err.count("\n") == 1  # one line a person can act on, not a traceback
    assert snapshot(repo) == before


def test_each_problem_of_the_settings_is_named_once(repo: Path, orchestra) -> None:
    """A handler that is not an object fails every handler type's branch of the schema: one problem."""
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text('{"hooks": {"Stop": [{"hooks": ["x"]}]}, '
                                                '"statusLine": {"type": "command"}}')
    result = orchestra("install", repo)
    assert result.code == 1
    assert result.err.count("hooks.Stop[0].hooks[0]: 'x' is not of type 'object'") == 1, result.err
    assert "statusLine: 'command' is a required property" in result.err


@pytest.mark.parametrize("name, text, complaint", [
    (".mcp.json", '{"mcpServers": ["x"]}', "`mcpServers` is an array, not an object; fix .mcp.json"),
    (".claude/settings.json", '{"hooks": {"Stop": {}}}', "hooks.Stop is not a list of matcher groups; fix "),
])
def test_uninstall_refuses_invalid_settings_with_its_own_hint(repo: Path, orchestra, name: str, text: str,
                                                               complaint: str) -> None:
    assert orchestra("install", repo).code == 0
    (repo / name).write_text(text)
    before = snapshot(repo)
    result = orchestra("uninstall", repo)
    assert result.code == 1 and result.err.count("\n") == 1
    assert result.err.startswith(f"orchestra uninstall: {repo / name}: {complaint}"), result.err
    assert result.err.endswith("then run the uninstall again; nothing was written\n")
    assert snapshot(repo) == before


def test_uninstall_takes_ours_out_beside_a_handler_of_yours_of_another_shape(repo: Path, orchestra) -> None:
    """Claude Code would reject these; they are the user's to fix, and ours still go."""
    assert orchestra("install", repo).code == 0
    path = repo / ".claude/settings.json"
    data = json.loads(path.read_text())
    theirs = [{"type": "command", "command": "lint", "args": 5}, "x"]
    data["hooks"]["Stop"].append({"hooks": theirs})
    path.write_text(json.dumps(data))
    result = orchestra("uninstall", repo)
    assert result.code == 0, result.err
    assert json.loads(path.read_text()) == {"hooks": {"Stop": [{"hooks": theirs}]}}


@pytest.mark.parametrize("manifest, complaint", [
    ({"format": "x", "files": {}}, '`format` is "x", not a format number'),
    ({"files": {".claude/agents/a.md": {"mode": 420}}}, "an entry of `files` has no `sha256`"),
])
def test_refuses_a_broken_manifest_naming_it(repo: Path, orchestra, manifest: dict, complaint: str) -> None:
    assert orchestra("install", repo).code == 0
    path = repo / ".claude/orchestra/install-manifest.json"
    path.write_text(json.dumps(manifest))
    before = snapshot(repo)
    for command in ("install", "uninstall"):
        result = orchestra(command, repo)
        assert result.code == 1 and result.err.count("\n") == 1
        assert result.err.startswith(f"orchestra {command}: {path}: {complaint}; restore it from git"), result.err
    assert snapshot(repo) == before


def test_refuses_unsafe_targets_without_writing(repo: Path, orchestra, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / ".claude").symlink_to(elsewhere)
    before, outside = snapshot(repo), snapshot(elsewhere)
    result = orchestra("install", repo)
    assert result.code == 1 and "a symlink to" in result.err and "outside" in result.err
    assert snapshot(repo) == before and snapshot(elsewhere) == outside

    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    result = orchestra("install", not_a_dir)
    assert result.code == 1 and "not a directory" in result.err and not_a_dir.read_text() == "x"
    assert "no such directory" in orchestra("install", tmp_path / "missing").err
    assert not (tmp_path / "missing").exists()

    (repo / ".claude").unlink()
    fake_bin = tmp_path / "old uv"
    fake_bin.mkdir()
    (fake_bin / "uv").write_text("#!/bin/sh\necho 'uv 0.4.30'\n")
    (fake_bin / "uv").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    before = snapshot(repo)
    result = orchestra("install", repo)
    assert result.code == 1 and "uv 0.4.30 is too old" in result.err and "uv self update" in result.err
    assert snapshot(repo) == before


def test_uninstall_refuses_a_target_it_cannot_take_anything_out_of_in_its_own_words(repo: Path, orchestra,
                                                                                    tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    result = orchestra("uninstall", not_a_dir)
    assert result.err == (f"orchestra uninstall: {not_a_dir}: not a directory; give the root of the project to "
                          "uninstall from; nothing was written\n")
    result = orchestra("uninstall", tmp_path / "missing")
    assert result.err == (f"orchestra uninstall: {tmp_path / 'missing'}: no such directory; give the root of the "
                          "project Orchestra is installed in; nothing was written\n")
    (repo / ".claude").write_text("x")
    result = orchestra("uninstall", repo)
    assert result.code == 1 and result.err == (f"orchestra uninstall: {repo / '.claude'}: a file, not a directory, "
                                               f"so Orchestra is not installed in {repo}; nothing was written\n")
    (repo / ".claude").unlink()
    (repo / ".claude").symlink_to(tmp_path)
    result = orchestra("uninstall", repo)
    assert result.code == 1 and "uninstalling would change files there" in result.err
    assert not (tmp_path / "missing").exists() and not_a_dir.read_text() == "x"


def test_refuses_to_install_into_its_own_checkout(orchestra, pack_source: Path) -> None:
    before = snapshot(pack_source)
    result = orchestra("install", pack_source)
    assert result.code == 1 and "this is the checkout the pack is installed from" in result.err
    assert snapshot(pack_source) == before


def test_a_source_without_the_pack_says_how_to_install_from_a_clone(repo: Path, orchestra, tmp_path: Path) -> None:
    """`uvx --from git+URL` installs the package alone: its installer finds no pack beside it."""
    before = snapshot(repo)
    result = orchestra("install", repo, "--source", tmp_path / "site-packages")
    assert result.code == 1 and "not an Orchestra checkout" in result.err and result.err.count("\n") == 1
    assert "`uvx --from <path of the clone> orchestra install TARGET`" in result.err
    assert "`uvx --from git+URL` installs the package without the pack" in result.err
    assert snapshot(repo) == before


def test_uninstall_without_manifest_refuses(repo: Path, orchestra) -> None:
    (repo / ".claude/agents").mkdir(parents=True)
    (repo / ".claude/agents/mine.md").write_text("---\nname: mine\ndescription: Mine.\n---\n")
    before = snapshot(repo)
    result = orchestra("uninstall", repo)
    assert result.code == 1 and "install-manifest.json: not found" in result.err
    assert snapshot(repo) == before
    # a settings.json nothing can read says nothing was installed, unless it names the pack
    (repo / ".claude/settings.json").write_text('{"env": {"A": "1"},}')
    result = orchestra("uninstall", repo)
    assert result.code == 1 and "install-manifest.json: not found, so nothing here was installed" in result.err
    (repo / ".claude/settings.json").write_text('{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": '
                                                '"uv", "args": [".claude/orchestra/hooks/stop.py"]}]}]},}')
    result = orchestra("uninstall", repo)
    assert result.code == 1 and "settings.json:1: not valid JSON" in result.err


def test_purge_after_an_uninstall_says_how_to_delete_the_state_it_kept(repo: Path, orchestra) -> None:
    assert orchestra("install", repo, "--no-warm").code == 0
    (repo / ".claude/state/orchestration.db").write_bytes(b"tasks")
    result = orchestra("uninstall", repo)
    assert result.code == 0 and "delete the folder by hand" in result.out  # not only: run it with --purge
    before = snapshot(repo)
    result = orchestra("uninstall", repo, "--purge")
    assert result.code == 1 and result.err.count("\n") == 1
    assert f"the state it kept in {repo / '.claude/state'} is no longer the pack's to delete" in result.err
    assert f"rm -rf {shlex.quote(str(repo / '.claude/state'))})" in result.err
    assert snapshot(repo) == before


def test_json_plan_lists_steps_and_notices(repo: Path, orchestra) -> None:
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"orchestra": {"command": "their-server"}}}))
    plan = orchestra("install", repo, "--dry-run", "--json").json()
    assert plan["dry_run"] is True and plan["command"] == "install" and not plan["noop"]
    assert {"kind": "write", "path": ".claude/settings.json", "why": "hooks merged"} in plan["steps"]
    assert any(n["kind"] == "kept" and n["path"] == ".mcp.json" for n in plan["notices"])
    assert not (repo / ".claude").exists()


def refuse_writes_to(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A disk that refuses to write `name` (an immutable file, a full or read-only disk), as root as well."""
    import errno

    from orchestra import atomic

    real = atomic.write_bytes

    def write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
        if Path(path).name == name:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        real(path, data, mode)

    monkeypatch.setattr(atomic, "write_bytes", write_bytes)


def test_failed_install_is_undone(repo: Path, orchestra, pack_source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestra.installer.source import load_pack

    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text('{"env": {"A": "1"}}\n')
    (repo / ".mcp.json").write_text('{"mcpServers": {}}\n')
    mine = next(i.rel for i in load_pack(pack_source).files if i.rel.startswith(".claude/commands/"))
    (repo / mine).parent.mkdir(parents=True)
    (repo / mine).write_text("my command\n")
    (repo / mine).chmod(0o600)
    before = snapshot(repo, mtimes=False)
    refuse_writes_to(monkeypatch, ".mcp.json")  # late: the pack files and settings.json are written by then

    result = orchestra("install", repo, "--force")

    assert result.code == 1
    assert result.err == f"orchestra install: {repo / '.mcp.json'}: cannot write (Operation not permitted); " \
                         "nothing was changed\n"
    assert snapshot(repo, mtimes=False) == before  # files moved back, bytes and modes restored, new dirs gone
    monkeypatch.undo()
    assert orchestra("install", repo, "--force").code == 0


def test_failed_uninstall_is_undone(repo: Path, orchestra, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / ".mcp.json").write_text('{"mcpServers": {}}\n')
    assert orchestra("install", repo).code == 0
    before = snapshot(repo, mtimes=False)
    refuse_writes_to(monkeypatch, ".mcp.json")  # after every pack file is deleted and settings.json restored

    result = orchestra("uninstall", repo)

    assert result.code == 1 and result.err.count("\n") == 1
    assert f"{repo / '.mcp.json'}: cannot write (Operation not permitted); nothing was changed" in result.err
    assert snapshot(repo, mtimes=False) == before
    monkeypatch.undo()
    assert orchestra("uninstall", repo).code == 0 and not (repo / ".claude/orchestra").exists()


def interrupt_at_write_of(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Ctrl-C pressed while `name` is being written: a real SIGINT, delivered once the file is in place (as
    when it lands in the fsync that follows), before the step that wrote it could record it. Python handles it
    as in a terminal also when the tests run as a background job, which a shell starts with SIGINT ignored."""
    import signal

    from orchestra import atomic

    real, pressed = atomic.write_bytes, []

    def write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
        real(path, data, mode)
        if Path(path).name == name and not pressed:
            pressed.append(path)
            handler = signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                signal.raise_signal(signal.SIGINT)
            finally:
                signal.signal(signal.SIGINT, handler)

    monkeypatch.setattr(atomic, "write_bytes", write_bytes)


def test_an_install_interrupted_with_ctrl_c_is_undone(repo: Path, orchestra, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_text('{"env": {"A": "1"}}\n')
    (repo / ".mcp.json").write_text('{"mcpServers": {"db": {"command": "db-mcp"}}}\n')
    before = snapshot(repo, mtimes=False)
    interrupt_at_write_of(monkeypatch, ".mcp.json")  # every pack file and settings.json are written by then

    result = orchestra("install", repo)

    assert result.code == 130
    assert result.err == f"orchestra install: {repo}: interrupted; nothing was changed\n"
    assert snapshot(repo, mtimes=False) == before
    monkeypatch.undo()
    assert orchestra("install", repo).code == 0


def test_an_uninstall_interrupted_with_ctrl_c_is_undone(repo: Path, orchestra, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / ".mcp.json").write_text('{"mcpServers": {}}\n')
    assert orchestra("install", repo).code == 0
    before = snapshot(repo, mtimes=False)
    interrupt_at_write_of(monkeypatch, ".mcp.json")

    result = orchestra("uninstall", repo)

    assert result.code == 130
    assert result.err == f"orchestra uninstall: {repo}: interrupted; nothing was changed\n"
    assert snapshot(repo, mtimes=False) == before
    monkeypatch.undo()
    assert orchestra("uninstall", repo).code == 0 and not (repo / ".claude/orchestra").exists()


def test_ctrl_c_while_the_environments_build_still_reports_the_install(repo: Path, pack_source: Path,
                                                                       tmp_path: Path) -> None:
    """The slow part of an install is building the scripts' uv environments, after every file is in place:
    Ctrl-C there must say the pack is installed and which environments are left, not end in silence."""
    import signal
    import sys

    fake_bin = tmp_path / "uv interrupted"
    fake_bin.mkdir()
    (fake_bin / "uv").write_text('#!/bin/sh\nif [ "$1" = sync ]; then kill -INT "$PPID"; exec sleep 30; fi\n'
                                 f'exec {shlex.quote(shutil.which("uv") or "uv")} "$@"\n')
    (fake_bin / "uv").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}

    proc = subprocess.run([sys.executable, "-c", "from orchestra.cli import run; run()", "install", str(repo),
                           "--source", str(pack_source)], capture_output=True, text=True, env=env, timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    assert proc.returncode == 130, proc.stderr
    first = proc.stdout.partition("\n")[0]
    assert first.startswith("installed Orchestra ") and f" into {repo}: " in first, proc.stdout
    assert "uv environments not all built: interrupted; until it is built" in proc.stdout
    assert (repo / ".claude/orchestra/install-manifest.json").is_file()


def test_apply_never_moves_onto_an_existing_file(repo: Path, pack_source: Path) -> None:
    from orchestra.installer import InstallError, apply, plan_install
    from orchestra.installer.source import load_pack

    mine = next(i.rel for i in load_pack(pack_source).files if i.rel.startswith(".claude/commands/"))
    (repo / mine).parent.mkdir(parents=True)
    (repo / mine).write_text("my command\n")
    plan = plan_install(repo, pack_source, force=True)
    [move] = [step for step in plan.steps if step.kind == "move"]
    (repo / move.dest).parent.mkdir(parents=True)
    (repo / move.dest).write_text("a backup made since the plan\n")  # e.g. by another install run meanwhile
    before = snapshot(repo, mtimes=False)

    with pytest.raises(InstallError, match="already exists, and a move never overwrites a file; nothing was changed"):
        apply(plan)

    assert snapshot(repo, mtimes=False) == before


@pytest.mark.parametrize("blocking, needed", [
    (".claude/orchestra", ".claude/orchestra/install-manifest.json"),
    (".claude/state", ".claude/state/.gitignore"),
    (".claude/agents", ".claude/agents/"),
])
def test_a_file_where_the_pack_needs_a_directory_is_named(repo: Path, orchestra, blocking: str, needed: str) -> None:
    (repo / ".claude").mkdir()
    (repo / blocking).write_text("in the way\n")
    before = snapshot(repo)
    for command in ("install", "uninstall") if blocking == ".claude/orchestra" else ("install",):
        result = orchestra(command, repo)
        assert result.code == 1
        assert result.err.startswith(f"orchestra {command}: {repo / blocking}: a file where the pack needs a "
                                     f"directory (for {needed}"), result.err
        assert "move it aside" in result.err and snapshot(repo) == before


def test_install_refuses_a_project_whose_path_is_not_utf8(tmp_path: Path, orchestra) -> None:
    """uv writes the project's path into each script environment's .pth file, which Python reads as UTF-8:
    under a directory named in Latin-1 every hook, the MCP server and the installed CLI failed at start-up."""
    project = tmp_path / os.fsdecode(b"caf\xe9") / "shop"
    project.mkdir(parents=True)
    result = orchestra("install", project)
    assert result.code == 1 and result.out == "" and list(project.iterdir()) == []
    shown = str(project).replace("\udce9", "\ufffd")  # as a terminal shows it
    assert result.err == (f"orchestra install: {shown}: character {len(str(tmp_path)) + 5} of the path is the byte "
                          "0xe9, which is not UTF-8; Python cannot load the pack from there (uv writes the path "
                          "into each script's environment): rename the directory, then install; nothing was written\n")
