"""Installing into projects that already have settings of their own: the pack's hooks wired in
settings.local.json, settings files written on one line, links that lead out of the project, and
settings whose values are of the wrong JSON type."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.installer.conftest import snapshot

LOCAL = ".claude/settings.local.json"
MINE = {"type": "command", "command": "prettier --write"}


def _wire_locally(repo: Path) -> bytes:
    """What a user does who keeps hooks out of the committed file: the pack's PreToolUse entries copied into
    settings.local.json, beside a hook and a permission of their own."""
    ours = json.loads((repo / ".claude/settings.json").read_text())["hooks"]["PreToolUse"]
    local = {"permissions": {"allow": ["Bash(ls:*)"]},
             "hooks": {"PreToolUse": [*ours, {"matcher": "Bash", "hooks": [MINE]}]}}
    data = json.dumps(local, indent=4).encode()
    (repo / LOCAL).write_bytes(data)
    return data


def test_uninstall_takes_the_pack_hooks_out_of_settings_local(repo: Path, orchestra) -> None:
    """Left in settings.local.json, the pack's guards would run on every tool call after the uninstall with
    their scripts gone, and block it."""
    assert orchestra("install", repo).code == 0
    _wire_locally(repo)

    result = orchestra("uninstall", repo)

    assert result.code == 0, result.err
    left = json.loads((repo / LOCAL).read_text())
    assert left == {"permissions": {"allow": ["Bash(ls:*)"]},
                    "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [MINE]}]}}
    assert (repo / LOCAL).read_text().startswith('{\n    "permissions"')  # in the file's own indentation
    assert ".claude/orchestra/" not in (repo / LOCAL).read_text()


def test_uninstall_after_the_pack_folder_was_deleted_unwires_settings_local(repo: Path, orchestra) -> None:
    """doctor names settings.local.json among the files that still wire a deleted pack and says uninstall
    takes the entries out: it does."""
    assert orchestra("install", repo).code == 0
    assert orchestra("uninstall", repo).code == 0  # settings.json and .mcp.json are the user's again
    ours = {"type": "command", "command": "uv",
            "args": ["run", "--script", "${CLAUDE_PROJECT_DIR}/.claude/orchestra/hooks/stop.py"]}
    (repo / LOCAL).write_text(json.dumps({"hooks": {"Stop": [{"hooks": [ours, MINE]}]}}, indent=2) + "\n")
    shutil.rmtree(repo / ".claude/orchestra", ignore_errors=True)  # as the user deletes it by hand
    doctor = orchestra("doctor", repo)
    assert ".claude/settings.local.json still wires it" in doctor.out and "`orchestra uninstall" in doctor.out

    result = orchestra("uninstall", repo)

    assert result.code == 0, result.err
    assert json.loads((repo / LOCAL).read_text()) == {"hooks": {"Stop": [{"hooks": [MINE]}]}}
    again = orchestra("uninstall", repo)
    assert again.code == 1 and ".claude/settings.local.json" in again.err


def test_uninstall_refuses_an_unreadable_settings_local_that_wires_the_pack(repo: Path, orchestra) -> None:
    assert orchestra("install", repo).code == 0
    raw = b'{\n  // mine\n  "hooks": {"Stop": [{"hooks": [{"type": "command", "command": ' \
          b'"uv run --script .claude/orchestra/hooks/stop.py"}]}]}\n}\n'
    (repo / LOCAL).write_bytes(raw)
    before = snapshot(repo)

    result = orchestra("uninstall", repo)

    assert result.code == 1
    assert f"{repo / LOCAL}:2: not valid JSON" in result.err and "then run the uninstall again" in result.err
    assert snapshot(repo) == before


def test_uninstall_leaves_a_settings_local_of_the_users_own_alone(repo: Path, orchestra) -> None:
    assert orchestra("install", repo).code == 0
    for raw in (b'{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo"}]}]}}', b"{ // mine\n}"):
        (repo / LOCAL).write_bytes(raw)
        assert orchestra("uninstall", repo, "--dry-run").code == 0
        assert (repo / LOCAL).read_bytes() == raw
    assert orchestra("uninstall", repo).code == 0
    assert (repo / LOCAL).read_bytes() == b"{ // mine\n}"


@pytest.mark.parametrize("raw", [b"{}", b"{}\n", b'{"env": {"A": "1"}}\n', b'\xef\xbb\xbf{"env": {"A": "1"}}\r\n'])
def test_a_settings_file_written_on_one_line_is_spread_over_lines(repo: Path, orchestra, raw: bytes) -> None:
    """A one-line settings.json has no indentation to keep: the merged file, almost all of it the pack's
    hooks, is laid out with two spaces (as Claude Code writes its own), not as one line of kilobytes."""
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_bytes(raw)
    (repo / ".mcp.json").write_bytes(raw)

    assert orchestra("install", repo).code == 0

    for name in (".claude/settings.json", ".mcp.json"):
        text = (repo / name).read_bytes().decode("utf-8")
        newline = "\r\n" if b"\r\n" in raw else "\n"
        assert text.count(newline) > 5, name
        assert f'{newline}  "' in text and f'{newline}    "' in text, name
        assert text.startswith("\ufeff{") == raw.startswith(b"\xef\xbb\xbf"), name
    assert orchestra("uninstall", repo).code == 0
    assert (repo / ".claude/settings.json").read_bytes() == raw and (repo / ".mcp.json").read_bytes() == raw


@pytest.mark.parametrize("rel", [".claude/settings.json", ".mcp.json", ".claude/state", ".claude/agents"])
def test_a_link_out_of_the_project_is_refused_with_what_to_do(repo: Path, orchestra, tmp_path: Path,
                                                              rel: str) -> None:
    """A settings file kept in a dotfiles repo, a state folder shared with another checkout: the install writes
    only inside the project, and says how to go on."""
    outside = tmp_path / "dotfiles" / Path(rel).name
    outside.parent.mkdir()
    if rel.endswith(".json"):
        outside.write_text('{"env": {"A": "1"}}\n')
    else:
        outside.mkdir()
    (repo / ".claude").mkdir(exist_ok=True)
    os.symlink(outside, repo / rel)
    before = snapshot(repo)

    result = orchestra("install", repo)

    assert result.code == 1 and result.err.count("\n") == 1
    assert f"{repo / rel}: a symlink to {outside}, outside {repo}" in result.err
    assert "replace the link with a copy of what it points to" in result.err
    assert "then run the command again" in result.err
    assert snapshot(repo) == before


@pytest.mark.parametrize(("raw", "named"), [
    (b'{"hooks": null}', "`hooks` is null, not an object"),
    (b'{"hooks": []}', "`hooks` is an array, not an object"),
    (b'{"hooks": "none"}', "`hooks` is a string, not an object"),
    (b"[]", "the top level is an array, not an object"),
    (b"1", "the top level is a number, not an object"),
])
def test_a_value_of_the_wrong_type_is_named_by_its_json_type(repo: Path, orchestra, raw: bytes,
                                                             named: str) -> None:
    (repo / ".claude").mkdir()
    (repo / ".claude/settings.json").write_bytes(raw)

    result = orchestra("install", repo)

    assert result.code == 1 and named in result.err, result.err
    assert (repo / ".claude/settings.json").read_bytes() == raw


def _pack_that_kept_an_agent_elsewhere(pack_source: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """An older pack whose doc-writer agent lived in another folder: (its checkout, the old path, the new)."""
    from orchestra.installer.source import load_pack

    from tests.installer.conftest import write_pack

    pack = load_pack(pack_source)
    old_pack = write_pack(pack, tmp_path / "old pack", json.loads((pack_source / ".claude/settings.json").read_text()))
    new = next(i.rel for i in pack.files if i.rel.startswith(".claude/agents/") and i.rel.endswith("/doc-writer.md"))
    old = ".claude/agents/writers/doc-writer.md"
    (old_pack / old).parent.mkdir()
    (old_pack / new).rename(old_pack / old)
    return old_pack, old, new


def test_an_upgrade_that_moved_an_agent_file_leaves_one_definition(repo: Path, orchestra, pack_source: Path,
                                                                   tmp_path: Path) -> None:
    """The newer pack ships the same agent at another path: the old file, untouched, goes (teams.yaml listing
    the agent does not keep it: its file is the new one), so Claude Code is left one definition of it."""
    old_pack, old, new = _pack_that_kept_an_agent_elsewhere(pack_source, tmp_path)
    assert orchestra("install", repo, "--source", old_pack).code == 0

    result = orchestra("install", repo)

    assert result.code == 0, result.err
    assert (repo / new).is_file() and not (repo / old).exists()
    assert old not in result.out
    assert "also defined" not in orchestra("doctor", repo).out
    assert orchestra("uninstall", repo).code == 0
    assert not (repo / ".claude/agents").exists()


def test_an_upgrade_that_moved_an_agent_you_edited_says_the_two_clash(repo: Path, orchestra, pack_source: Path,
                                                                      tmp_path: Path) -> None:
    old_pack, old, new = _pack_that_kept_an_agent_elsewhere(pack_source, tmp_path)
    assert orchestra("install", repo, "--source", old_pack).code == 0
    edited = (repo / old).read_bytes() + b"\nFollow our style guide.\n"
    (repo / old).write_bytes(edited)

    result = orchestra("install", repo)

    assert result.code == 0, result.err
    assert (repo / old).read_bytes() == edited and (repo / new).is_file()
    assert (f"kept       {old}: no longer in the pack, which now has doc-writer at {new}; you changed it, so it "
            "is kept, and the two define the same agent (Claude Code loads only one): carry your changes over "
            f"to {new} and delete this file") in result.out, result.out
    assert orchestra("uninstall", repo).code == 0
    assert (repo / old).read_bytes() == edited


def test_uninstall_reads_a_settings_local_linked_out_of_the_project_and_writes_it_only_if_it_wires_the_pack(
        repo: Path, orchestra, tmp_path: Path) -> None:
    """A settings.local.json kept in a dotfiles repo: uninstall leaves one of the user's own as it is, and
    refuses (writing nothing) while it wires the pack, saying to replace the link."""
    dotfile = tmp_path / "dotfiles" / "settings.local.json"
    dotfile.parent.mkdir()
    dotfile.write_text('{"env": {"X": "1"}}\n')
    (repo / ".claude").mkdir()
    os.symlink(dotfile, repo / LOCAL)
    assert orchestra("install", repo).code == 0
    dotfile.write_text('{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": '
                       '"uv run --script .claude/orchestra/hooks/stop.py"}]}]}}\n')
    before = snapshot(repo)

    refused = orchestra("uninstall", repo)

    assert refused.code == 1 and f"{repo / LOCAL}: a symlink to {dotfile}" in refused.err
    assert snapshot(repo) == before
    dotfile.write_text('{"env": {"X": "1"}}\n')
    assert orchestra("uninstall", repo).code == 0
    assert os.readlink(repo / LOCAL) == str(dotfile) and dotfile.read_text() == '{"env": {"X": "1"}}\n'


def test_doctor_names_a_missing_pack_script_that_settings_local_runs(repo: Path, orchestra) -> None:
    """A hook of an earlier pack wired in settings.local.json whose script is gone runs on every tool call and
    fails (blocks, for a guard): doctor's scripts check names it as it does for settings.json."""
    assert orchestra("install", repo).code == 0
    assert "fail  scripts" not in orchestra("doctor", repo).out
    gone = {"type": "command", "command": "uv",
            "args": ["run", "--script", "${CLAUDE_PROJECT_DIR}/.claude/orchestra/hooks/old_guard.py"]}
    (repo / LOCAL).write_text(json.dumps({"hooks": {"PreToolUse": [{"hooks": [gone, MINE]}]}}))

    result = orchestra("doctor", repo)

    assert result.code == 1
    assert ("fail  scripts: settings run files that do not exist: .claude/settings.local.json PreToolUse: "
            "${CLAUDE_PROJECT_DIR}/.claude/orchestra/hooks/old_guard.py") in result.out, result.out


@pytest.mark.parametrize("entry", ["../victim.txt", "/tmp/victim.txt", ".claude/../../victim.txt"])
def test_a_manifest_naming_a_path_outside_the_project_is_refused_as_such(repo: Path, orchestra, entry: str) -> None:
    from orchestra.installer.source import MANIFEST

    assert orchestra("install", repo).code == 0
    recorded = (repo / MANIFEST).read_text()
    for field in ("files", "dirs", "state_dir"):
        manifest = json.loads(recorded)
        if field == "files":
            manifest["files"][entry] = {"sha256": "0" * 64, "mode": 420, "kind": "file"}
        elif field == "dirs":
            manifest["dirs"].append(entry)
        else:
            manifest["state_dir"] = entry
        (repo / MANIFEST).write_text(json.dumps(manifest))
        before = snapshot(repo)

        for command in (("uninstall", "--purge"), ("install",)):
            result = orchestra(*command, repo)
            assert result.code == 1 and result.err.count("\n") == 1
            assert f"{repo / MANIFEST}: names {entry}, a path outside the project" in result.err, result.err
            assert "symlink" not in result.err
        assert snapshot(repo) == before
