"""An installed repo works on its own: its hooks run through uv and change its state, its CLI runs from
anywhere, paths with spaces are fine, and the installer is reachable with `uvx --from <repo>`."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from orchestra import wiring

from tests.conftest import load_fixture
from tests.installer.conftest import REPO

PACK_HOOKS = ".claude/orchestra/hooks"
BIN = ".claude/orchestra/bin/orchestra"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORCHESTRA_", "CLAUDE_", "VIRTUAL_ENV", "UV_PROJECT"))}
    return {**env, **extra}


def script_for(root: Path, event: str) -> Path:
    """The installed hook script that handles `event` (from the scripts' own declarations)."""
    for script, decl in wiring.declarations(root / PACK_HOOKS):
        if decl["event"] == event:
            return root / PACK_HOOKS / script
    raise AssertionError(f"the pack wires no {event} hook")


def run_installed_hook(root: Path, event: dict, cwd: Path) -> subprocess.CompletedProcess:
    script = script_for(root, event["hook_event_name"])
    return subprocess.run(["uv", "run", "--quiet", "--script", str(script)], input=json.dumps(event).encode(),
                          capture_output=True, cwd=cwd, env=clean_env(CLAUDE_PROJECT_DIR=str(root)), timeout=300)


def installed_cli(root: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["uv", "run", "--quiet", "--script", str(root / BIN), *args], capture_output=True,
                          text=True, cwd=cwd, env=clean_env(), timeout=300)


def test_installed_repo_hooks_run(repo: Path, orchestra, tmp_path: Path) -> None:
    assert orchestra("install", repo).code == 0
    events = load_fixture("claude-code-2.1.328/nested-delegation.jsonl")
    start = {**next(e for e in events if e["hook_event_name"] == "SessionStart"), "cwd": str(repo)}
    subagent = {**next(e for e in events if e["hook_event_name"] == "SubagentStart"), "cwd": str(repo)}
    elsewhere = tmp_path / "some other dir"
    elsewhere.mkdir()

    for event in (start, subagent):
        proc = run_installed_hook(repo, event, cwd=elsewhere)
        assert proc.returncode == 0, proc.stderr.decode()
    state = repo / ".claude/state"
    assert (state / "orchestration.db").is_file()
    audit = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
    assert [a["event"] for a in audit] == ["SessionStart", "SubagentStart"]
    exported = installed_cli(repo, "state", "export", cwd=repo)
    assert exported.returncode == 0, exported.stderr
    assert subagent["agent_id"] in exported.stdout  # the subagent's run is in the installed repo's state

    # The installed CLI can take the pack out of its own repo; the state stays.
    removed = installed_cli(repo, "uninstall", ".", cwd=repo)
    assert removed.returncode == 0, removed.stderr
    assert not (repo / ".claude/orchestra").exists() and not (repo / ".mcp.json").exists()
    assert (state / "orchestration.db").is_file()


def test_paths_with_spaces_work(repo: Path, pack_source: Path, tmp_path: Path) -> None:
    assert " " in str(repo) and " " in str(pack_source)
    proc = subprocess.run(["uv", "run", "--quiet", "orchestra", "install", str(repo), "--source", str(pack_source)],
                          capture_output=True, text=True, cwd=REPO, env=clean_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "left" not in proc.stdout  # every script environment was built
    settings = json.loads((repo / ".claude/settings.json").read_text())
    script_args = [a for groups in settings["hooks"].values() for g in groups for h in g["hooks"] for a in h["args"]
                   if a.endswith(".py")]
    assert script_args and all(a.startswith("${CLAUDE_PROJECT_DIR}/.claude/orchestra/hooks/") for a in script_args)
    elsewhere = tmp_path / "an other dir"
    elsewhere.mkdir()
    doctor = installed_cli(repo, "doctor", str(repo), "--json", cwd=elsewhere)
    report = json.loads(doctor.stdout)
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert doctor.returncode == 0 and not failed, failed
    assert {c["name"] for c in report["checks"]} >= {"uv", "install", "settings", "wiring", "scripts", "mcp", "teams"}


@pytest.mark.skipif(shutil.which("uvx") is None, reason="uvx is not on PATH (it ships with uv)")
def test_uvx_from_repo_path_installs(repo: Path, tmp_path: Path) -> None:
    proc = subprocess.run(["uvx", "--from", str(REPO), "orchestra", "install", str(repo), "--no-warm", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr, proc.stderr  # the README's command, as a user sees it
    report = json.loads(proc.stdout)
    assert report["command"] == "install" and not report["noop"]
    manifest = json.loads((repo / ".claude/orchestra/install-manifest.json").read_text())
    assert ".claude/orchestra/bin/orchestra" in manifest["files"]
    assert json.loads((repo / ".claude/settings.json").read_text())["hooks"]


def test_installed_doctor_checks_the_repo_it_belongs_to(repo: Path, orchestra, tmp_path: Path) -> None:
    assert orchestra("install", repo).code == 0
    elsewhere = tmp_path / "another project"
    subprocess.run(["git", "init", "-q", str(elsewhere)], check=True)
    command = ["uv", "run", "--quiet", "--script", os.path.relpath(repo / BIN, elsewhere), "doctor", "--json"]

    def doctor(**env: str) -> dict:
        proc = subprocess.run(command, capture_output=True, text=True, cwd=elsewhere, env=clean_env(**env),
                              timeout=300)
        report = json.loads(proc.stdout)
        return {"code": proc.returncode, "install": next(c for c in report["checks"] if c["name"] == "install"),
                **report}

    report = doctor()  # as README shows it: ../shop/.claude/orchestra/bin/orchestra doctor
    assert report["code"] == 0, report
    assert "files recorded" in report["install"]["detail"]  # the install check found the repo's manifest
    told = doctor(CLAUDE_PROJECT_DIR=str(elsewhere))  # inside a session, the session's project, as everywhere
    assert told["code"] == 1 and told["install"]["status"] == "fail"
    assert told["install"]["detail"].startswith(f"Orchestra is not installed in {elsewhere} (no .claude/orchestra/)")


def test_an_installed_cli_whose_pack_is_half_written_says_so_in_one_line(repo: Path, orchestra) -> None:
    """An install killed partway (terminal closed, machine off) left some of the package's modules unwritten:
    the installed CLI, `doctor` first of all, must say that and how to finish, not end in a traceback."""
    assert orchestra("install", repo).code == 0
    shutil.rmtree(repo / ".claude/orchestra/src/orchestra/store")  # not written yet when the install was killed

    proc = installed_cli(repo, "doctor", cwd=repo)

    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr == (f"orchestra: {repo / '.claude/orchestra/src'}: the pack's code is incomplete (no module "
                           "orchestra.store): an install or uninstall stopped partway; finish it from a clone of "
                           f"Orchestra: `uv run orchestra install {shlex.quote(str(repo))}` (or `uninstall`)\n")


def test_installed_doctor_checks_its_repo_through_a_symlinked_claude_folder(repo: Path, orchestra,
                                                                            tmp_path: Path) -> None:
    """`.claude` a symlink inside the repo (to config/claude): the repo is the one the path names, not the
    folder `.claude` resolves into."""
    (repo / "config/claude").mkdir(parents=True)
    (repo / ".claude").symlink_to("config/claude")
    assert orchestra("install", repo).code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(["uv", "run", "--quiet", "--script", str(repo / BIN), "doctor", "--json"],
                          capture_output=True, text=True, cwd=elsewhere, env=clean_env(), timeout=300)
    install = next(c for c in json.loads(proc.stdout)["checks"] if c["name"] == "install")
    assert install["status"] == "ok" and "files recorded" in install["detail"], install


def test_installing_from_an_installed_repo_takes_only_the_pack_as_shipped(repo: Path, orchestra, pack_source: Path,
                                                                         tmp_path: Path) -> None:
    from orchestra.installer.source import load_pack

    from tests.installer.conftest import snapshot
    from tests.installer.test_install import first_agent

    pack = load_pack(pack_source)
    ours, name = first_agent(pack)
    theirs = repo / ".claude/agents/mine" / f"{name}.md"  # keeps ours from being installed
    theirs.parent.mkdir(parents=True)
    theirs.write_text(f"---\nname: {name}\ndescription: Ours, not the pack's.\n---\nBody.\n")
    command = next(i.rel for i in pack.files if i.rel.startswith(".claude/commands/"))
    (repo / command).parent.mkdir(parents=True)
    (repo / command).write_text("my own command\n")
    assert orchestra("install", repo).code == 0
    edited = next(i.rel for i in pack.files if i.rel.startswith(".claude/agents/") and i.rel != ours)
    (repo / edited).write_text("our team's version\n")
    target = tmp_path / "second repo"
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    before = snapshot(target)

    refused = orchestra("install", target, "--source", repo)

    assert refused.code == 1 and snapshot(target) == before
    assert f"{edited} (edited)" in refused.err
    assert f"{ours} (not installed here" in refused.err and f"{command} (not installed here" in refused.err
    assert "Install from a clone of the repository (or `uvx --from <repo>`)" in refused.err

    (repo / edited).write_bytes(pack.file(edited).data)
    theirs.unlink()
    (repo / command).unlink()
    assert orchestra("install", repo).code == 0  # the pack whole again
    assert orchestra("install", target, "--source", repo).code == 0
    assert {i.rel: (target / i.rel).read_bytes() for i in pack.files} == {i.rel: i.data for i in pack.files}


def test_an_installed_repo_rewires_itself_with_its_own_install(repo: Path, orchestra) -> None:
    """doctor in an installed repo says `orchestra install .` rewires it: the repo's own CLI does so (it
    refused, calling the repo the pack's checkout), keeping its pack files as they are and as recorded:
    an edited teams.yaml and agent stay edited (uninstall keeps them), a deleted file stays missing."""
    assert orchestra("install", repo).code == 0
    manifest = repo / ".claude/orchestra/install-manifest.json"
    recorded = json.loads(manifest.read_text())
    teams, agent = repo / ".claude/teams.yaml", repo / ".claude/agents/qa/qa-engineer.md"
    teams.write_text(teams.read_text().replace("organization: ", "organization: Acme # ", 1))
    agent.write_text(agent.read_text() + "Our house rules.\n")
    (repo / ".claude/commands/msg/ask.md").unlink()
    settings = repo / ".claude/settings.json"
    wired = json.loads(settings.read_text())
    settings.write_text(json.dumps({**wired, "hooks": {k: v for k, v in wired["hooks"].items() if k != "Stop"}}))
    checks = orchestra("doctor", repo, "--json").json()["checks"]
    assert any(c["status"] == "fail" and "run `orchestra install .` to rewire" in c["detail"] for c in checks)
    assert any(c["status"] == "fail" and "pack files missing" in c["detail"] and "from a clone of Orchestra"
               in c["detail"] for c in checks)
    pack_files = {p: p.read_bytes() for p in repo.joinpath(".claude").rglob("*") if p.is_file()
                  and "state" not in p.parts and p not in (settings, manifest) and "backup" not in p.parts}

    proc = installed_cli(repo, "install", ".", "--no-warm", cwd=repo)

    assert proc.returncode == 0, proc.stderr
    assert "left       .claude/commands/msg/ask.md: missing; this repo's own install rewires it and no more " \
           "(install from a clone of Orchestra to put it back)" in proc.stdout
    assert json.loads(settings.read_text())["hooks"]["Stop"] == wired["hooks"]["Stop"]
    assert {p: p.read_bytes() for p in pack_files} == pack_files
    after = json.loads(manifest.read_text())
    assert after["files"] == recorded["files"] and after["pack_version"] == recorded["pack_version"]
    assert [c for c in orchestra("doctor", repo, "--json").json()["checks"] if c["status"] == "fail"] == [
        next(c for c in checks if "pack files missing" in c["detail"])]
    result = orchestra("uninstall", repo)
    assert result.code == 0 and teams.read_text().count("Acme") == 1 and agent.read_text().endswith("rules.\n")


def test_its_own_install_names_each_missing_file_and_why_on_a_line_of_its_own(repo: Path, orchestra) -> None:
    """teams.yaml gone as well: it is named on its own line with where to get one, and an agent file that is
    gone is not called a missing pack file outright, since without teams.yaml the install cannot tell
    whether its member was taken out of the organisation."""
    assert orchestra("install", repo).code == 0
    (repo / ".claude/teams.yaml").unlink()
    (repo / ".claude/agents/product/market-researcher.md").unlink()
    (repo / ".claude/commands/msg/ask.md").unlink()

    proc = installed_cli(repo, "install", ".", "--no-warm", cwd=repo)

    assert proc.returncode == 0, proc.stderr
    left = {line.split(": ", 1)[0].split()[-1]: line.split(": ", 1)[1] for line in proc.stdout.splitlines()
            if line.startswith("  left ")}
    assert left[".claude/teams.yaml"].startswith("missing; the organisation (its teams, their orchestrators and "
                                                 "members) comes from it"), left
    assert "templates/teams.yaml" in left[".claude/teams.yaml"]
    assert left[".claude/commands/msg/ask.md"].startswith("missing; this repo's own install rewires it")
    researcher = left[".claude/agents/product/market-researcher.md"]
    assert researcher.startswith("missing, or a member you took out of the organisation: ") and \
        "teams.yaml cannot be read, so this install cannot tell which" in researcher, researcher
    assert not any(".claude/" in message for path, message in left.items() if path != ".claude/teams.yaml"), left

