"""`orchestra doctor` on installed repos: quiet when all is well, precise when something is broken."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from orchestra import wiring

from tests.e2e.harness import REPO, find_claude


@pytest.fixture
def claude_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> bool:
    """Point doctor at the pinned Claude Code CLI (when there is one) with a throwaway config dir."""
    binary = find_claude()
    if binary is not None:
        monkeypatch.setenv("ORCHESTRA_CLAUDE_BIN", str(binary))
        monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude config"))
    else:
        monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no other `claude` either: that check is skipped
    return binary is not None


def checks(result) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for check in result.json()["checks"]:
        found.setdefault(check["name"], []).append(check)
    return found


def test_doctor_passes_on_a_fresh_install(repo: Path, orchestra, claude_env: bool) -> None:
    assert orchestra("install", repo).code == 0
    result = orchestra("doctor", repo, "--json")
    assert result.code == 0, result.out
    found = checks(result)
    assert {c["status"] for cs in found.values() for c in cs} <= {"ok", "warn"}
    assert found["state"][0]["status"] == "warn"  # not created until the first session
    if claude_env:
        assert found["claude doctor"] == [{"name": "claude doctor", "status": "ok",
                                           "detail": "Claude Code reports no invalid settings"}]


def test_doctor_finds_hooks_pointing_at_deleted_scripts(repo: Path, orchestra, claude_env: bool) -> None:
    assert orchestra("install", repo).code == 0
    hooks = repo / ".claude/orchestra/hooks"
    script = wiring.declarations(hooks)[0][0]
    (hooks / script).unlink()
    settings = json.loads((repo / ".claude/settings.json").read_text())
    settings["hooks"]["Bogus"] = [{"hooks": [{"type": "command", "command": "true"}]}]
    (repo / ".claude/settings.json").write_text(json.dumps(settings, indent=2))
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    found = checks(result)
    assert found["scripts"][0]["status"] == "fail"
    assert f"${{CLAUDE_PROJECT_DIR}}/.claude/orchestra/hooks/{script}" in found["scripts"][0]["detail"]
    assert found["wiring"][0]["status"] == "fail" and script in found["wiring"][0]["detail"]
    assert found["settings"][0]["status"] == "fail" and "'Bogus' is not one of" in found["settings"][0]["detail"]
    if claude_env:
        assert found["claude doctor"][0]["status"] == "fail"
        assert 'Unknown hook event "Bogus"' in found["claude doctor"][0]["detail"]


def test_doctor_before_install_says_to_install(repo: Path, orchestra) -> None:
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    found = checks(result)
    assert sorted(found) == ["install", "uv"]  # not a list of failures that all mean the same
    [install] = found["install"]
    assert install["status"] == "fail"
    assert install["detail"].startswith(f"Orchestra is not installed in {repo} (no .claude/orchestra/); run "
                                        f"`orchestra install '{repo}'`")
    assert not (repo / ".claude").exists()


def test_doctor_after_uninstall_says_only_that_it_is_not_installed(repo: Path, orchestra, claude_env: bool) -> None:
    """Uninstall keeps a teams.yaml you edited (and your own settings): the project's .claude/ stays, but
    with nothing of the pack wired, doctor says only that Orchestra is not installed, not that twenty agent
    files are missing."""
    (repo / ".claude").mkdir()
    (repo / ".claude" / "settings.json").write_text('{"permissions": {"allow": ["Bash(make:*)"]}}\n')
    assert orchestra("install", repo).code == 0
    teams_yaml = repo / ".claude" / "teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace("organization: My Organisation", "organization: Shop"))
    assert orchestra("uninstall", repo).code == 0
    assert teams_yaml.is_file()
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    found = checks(result)
    assert sorted(found) == ["install", "uv"]
    assert found["install"][0]["detail"].startswith(f"Orchestra is not installed in {repo} (no .claude/orchestra/)")


def test_doctor_says_what_to_do_when_the_pack_folder_was_deleted(repo: Path, orchestra, claude_env: bool) -> None:
    import shutil

    assert orchestra("install", repo).code == 0
    shutil.rmtree(repo / ".claude/orchestra")
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    found = checks(result)
    [install] = found["install"]
    assert install["status"] == "fail"
    assert install["detail"].startswith(".claude/orchestra/ (the pack's hooks and code) is gone, but "
                                        ".claude/settings.json and .mcp.json still wire it")
    assert f"run `orchestra install '{repo}'`" in install["detail"]
    assert f"`orchestra uninstall '{repo}'` to take its entries out" in install["detail"]
    assert "wiring" not in found  # no comparison with declarations that are gone too
    assert orchestra("install", repo).code == 0  # the advice works
    assert orchestra("doctor", repo).code == 0


def test_doctor_reports_broken_teams_and_state(repo: Path, orchestra, claude_env: bool) -> None:
    assert orchestra("install", repo).code == 0
    (repo / ".claude/teams.yaml").write_text("organization: X\nteams:\n  qa: [unclosed\n")
    (repo / ".claude/state/orchestration.db").write_bytes(b"this is not a database")
    result = orchestra("doctor", repo)
    assert result.code == 1
    assert "fail  teams: " in result.out and "teams.yaml:4: not valid YAML" in result.out
    assert "fail  state: " in result.out and "file is not a database" in result.out
    assert (repo / ".claude/state/orchestration.db").read_bytes() == b"this is not a database"  # only looked


def test_doctor_separates_the_errors_of_a_broken_teams_yaml(repo: Path, orchestra, claude_env: bool) -> None:
    """Several errors in teams.yaml stay one line per check, each error set off by `; ` as doctor lists
    several problems elsewhere, not run together with a space."""
    assert orchestra("install", repo).code == 0
    teams_yaml = repo / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace("role: team_member", "role: team-member"))
    result = orchestra("doctor", repo)
    assert result.code == 1
    line = next(line for line in result.out.splitlines() if line.startswith("fail  teams: "))
    errors = line.removeprefix("fail  teams: ").split("; ")
    assert len(errors) == 6 and all(e.startswith(f"{teams_yaml}:") and e.endswith("(write 'team_member')")
                                    for e in errors[:5]), line
    assert errors[5].endswith("more like these, not listed here")


def test_doctor_says_when_claude_md_does_not_tell_the_main_thread_about_the_teams(repo: Path, orchestra,
                                                                                 claude_env: bool) -> None:
    """Install leaves CLAUDE.md alone, and nothing else tells the main thread to work through the teams:
    doctor warns until the project's CLAUDE.md (or .claude/CLAUDE.md, CLAUDE.local.md) speaks of Orchestra,
    with the command that appends the snippet."""
    assert orchestra("install", repo).code == 0
    (repo / "CLAUDE.md").write_text("# Shop\n\nUse pnpm.\n")
    result = orchestra("doctor", repo, "--json")
    assert result.code == 0
    template = REPO / "templates" / "CLAUDE.md"
    assert checks(result)["claude.md"] == [{
        "name": "claude.md", "status": "warn",
        "detail": "CLAUDE.md does not mention Orchestra, so the main thread is not told to work through the teams "
                  f"(/sprint:start, /task:delegate); append the snippet: `cat {template} >> '{repo}/CLAUDE.md'`"}]
    with (repo / "CLAUDE.md").open("a") as claude_md:
        claude_md.write(template.read_text())
    assert [c["status"] for c in checks(orchestra("doctor", repo, "--json"))["claude.md"]] == ["ok"]
    (repo / "CLAUDE.md").unlink()
    (repo / ".claude" / "CLAUDE.md").write_text(template.read_text())
    assert [c["status"] for c in checks(orchestra("doctor", repo, "--json"))["claude.md"]] == ["ok"]


def test_doctor_says_when_no_session_can_create_or_write_the_state_store(repo: Path, orchestra, claude_env: bool,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """'the first session creates it' was the advice for a state directory on a read-only disk too, where
    every hook of that session then reports a state error instead."""
    from tests.disks import read_only

    assert orchestra("install", repo).code == 0
    state = repo / ".claude/state"
    with read_only(state):
        [check] = checks(orchestra("doctor", repo, "--json"))["state"]
    url = f"sqlite://{state / 'orchestration.db'}"
    assert check["status"] == "warn" and "the first session creates it" not in check["detail"], check
    assert check["detail"].startswith(f"{url}: not created yet, and no session or command can create it: "), check
    assert check["detail"].endswith("; make it writable, or name a store that can be with ORCHESTRA_STATE_URL"), check
    [check] = checks(orchestra("doctor", repo, "--json"))["state"]
    assert check["detail"] == f"{url}: not created yet; the first session creates it (or run `orchestra init`)"

    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(repo))
    assert orchestra("init").code == 0  # made; then the disk turns read-only: readable, never written
    with read_only(state):
        [check] = checks(orchestra("doctor", repo, "--json"))["state"]
    assert check["status"] == "warn", check
    assert check["detail"].startswith(f"{url}: readable (schema_version 1), but no session or command can write "
                                      "it: "), check
    assert checks(orchestra("doctor", repo, "--json"))["state"][0]["status"] == "ok"


def test_doctor_reports_a_policy_file_the_guards_cannot_read_and_limits_that_apply_to_nobody(
        repo: Path, orchestra, claude_env: bool) -> None:
    assert orchestra("install", repo).code == 0
    policy = repo / ".claude/policy.yaml"
    policy.write_text("roles:\n  reviewer: {can_modify_state: maybe}\n")  # every tool call is blocked
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    [check] = checks(result)["policy"]
    assert check["status"] == "fail" and check["detail"].startswith(f"{policy}:2: roles.reviewer.can_modify_state")
    policy.write_text("agents:\n  main: {can_access_secrets: false}\n  devops-manger: {can_spawn_agents: false}\n"
                      "  Explore: {can_access_secrets: false}\n")
    result = orchestra("doctor", repo, "--json")
    assert result.code == 0, result.out
    [check] = checks(result)["policy"]
    assert check["status"] == "warn", check
    assert check["detail"].startswith(f"{policy}:3: agents.devops-manger:") and "Explore" not in check["detail"]
    policy.write_text("roles:\n  team_member: {can_spawn_agents: true, can_access_secrets: false}\n"
                      "agents:\n  tech-lead: {can_modify_state: own_tasks}\n  release-manager: {can_modify_state: true}\n")
    [check] = checks(orchestra("doctor", repo, "--json"))["policy"]  # a grant here changes nothing
    assert check["status"] == "warn" and check["detail"].split("; ") == [
        f"{policy}:2: roles.team_member.can_spawn_agents: asks for True but keeps False: policy.yaml only narrows "
        "what teams.yaml `roles:` grants, so grant it there",
        f"{policy}:4: agents.tech-lead.can_modify_state: asks for 'own_tasks' but keeps False: it and 'reviews' "
        "(from teams.yaml) have nothing in common (write false if that is meant)",
        f"{policy}:5: agents.release-manager.can_modify_state: asks for True but keeps 'reviews': policy.yaml only "
        "narrows what teams.yaml `roles:` grants, so grant it there"]
    policy.write_text("roles:\n  reviewer: {can_modify_state: false}\nagents:\n  devops-manager: {can_spawn_agents: false}\n")
    assert checks(orchestra("doctor", repo, "--json"))["policy"][0]["status"] == "ok"


def test_doctor_finds_scripts_whose_package_does_not_resolve(repo: Path, orchestra, claude_env: bool) -> None:
    assert orchestra("install", repo).code == 0
    (repo / ".claude/orchestra/pyproject.toml").unlink()
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    found = checks(result)
    assert found["scripts"][0]["status"] == "fail" and "has no pyproject.toml" in found["scripts"][0]["detail"]
    assert any("pack files missing: .claude/orchestra/pyproject.toml" in c["detail"] for c in found["install"])


def test_doctor_says_whether_hooks_run_warm(repo: Path, orchestra, claude_env: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import subprocess
    import sys
    import time

    from orchestra.warm import client

    assert orchestra("install", repo).code == 0
    assert "off (ORCHESTRA_WARM_HOOKS=0)" in checks(orchestra("doctor", repo, "--json"))["warm hooks"][0]["detail"]
    monkeypatch.delenv(client.DISABLE_ENV)
    [idle] = checks(orchestra("doctor", repo, "--json"))["warm hooks"]
    assert idle["status"] == "ok" and idle["detail"].startswith("no warm server running")
    server = subprocess.Popen([sys.executable, "-m", "orchestra.warm.server"], stdin=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(repo / ".claude/orchestra/src")})
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(client.socket_path(str(repo / ".claude/orchestra/src/orchestra"))):
            assert time.monotonic() < deadline and server.poll() is None, "the warm server did not start"
            time.sleep(0.05)
        [up] = checks(orchestra("doctor", repo, "--json"))["warm hooks"]
        assert up["status"] == "ok" and up["detail"].startswith("a warm server answers this installation's hooks")
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def test_doctor_fails_without_settings(repo: Path, orchestra, claude_env: bool) -> None:
    assert orchestra("install", repo).code == 0
    (repo / ".claude/settings.json").unlink()
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    found = checks(result)
    assert found["settings"] == [{"name": "settings", "status": "fail", "detail": f"{repo}/.claude/settings.json: "
                                  "not found, so no hook of the pack runs; run `orchestra install .` to rewire"}]
    assert "wiring" not in found  # one failure for one cause


@pytest.mark.parametrize("text, says", [
    ('{"hooks": "x"}', "hooks: 'x' is not of type 'object'"),
    ('{"hooks": {"Stop": [{"hooks": "x"}]}}', "hooks.Stop[0].hooks: 'x' is not of type 'array'"),
    ('{"hooks": {"Stop": [{"hooks": ["x"]}]}}', "hooks.Stop[0].hooks[0]: 'x' is not of type 'object'"),
    ('{"statusLine": 5}', "statusLine: 5 is not of type 'object'"),
])
def test_doctor_names_settings_of_another_shape(repo: Path, orchestra, claude_env: bool, text: str,
                                                says: str) -> None:
    """Hand-edited settings Claude Code would reject: each check says what it can, none raises."""
    assert orchestra("install", repo).code == 0
    (repo / ".claude/settings.json").write_text(text)
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    found = checks(result)
    assert found["settings"] == [{"name": "settings", "status": "fail", "detail": found["settings"][0]["detail"]}]
    assert found["settings"][0]["detail"].startswith(f"{repo}/.claude/settings.json: not valid for Claude Code (")
    assert says in found["settings"][0]["detail"] and "fix it so Claude Code can read it" in found["settings"][0]["detail"]
    assert found["wiring"][0]["status"] == "fail"  # the pack's hooks are not wired as declared


def test_doctor_leaves_your_own_agents_to_you(repo: Path, orchestra, claude_env: bool) -> None:
    (repo / ".claude/agents").mkdir(parents=True)
    (repo / ".claude/agents/reviewer.md").write_text("---\nname: reviewer\ndescription: Reviews code.\n---\nBody\n")
    assert orchestra("install", repo).code == 0

    result = orchestra("doctor", repo, "--json")

    assert result.code == 0, result.out
    agents = checks(result)["agents"]
    assert [c["status"] for c in agents] == ["ok", "ok"]
    assert "your own agent files (not the pack's)" in agents[1]["detail"]
    assert "reviewer.md:2: agent 'reviewer' is not in teams.yaml" in agents[1]["detail"]

    ours = repo / ".claude/agents/qa/qa-engineer.md"  # the pack's agents are still held to teams.yaml
    ours.write_text(ours.read_text().replace("name: qa-engineer", "name: qa-engineer-2", 1))
    found = checks(orchestra("doctor", repo, "--json"))["agents"]
    assert found[0]["status"] == "fail" and "qa-engineer.md:2: name: 'qa-engineer-2' differs" in found[0]["detail"]


def test_doctor_warns_about_your_own_agent_files_that_teams_yaml_lists(repo: Path, orchestra, claude_env: bool) -> None:
    """An agent of your own that you put in a team is part of the organisation: a file Claude Code would
    skip (here: no description) is a warning, not an informational line."""
    assert orchestra("install", repo).code == 0
    teams_yaml = repo / ".claude/teams.yaml"
    teams_yaml.write_text(teams_yaml.read_text().replace(
        "      - name: qa-engineer\n", "      - name: qa-intern\n        role: team_member\n      - name: qa-engineer\n", 1))
    intern = repo / ".claude/agents/qa/qa-intern.md"
    intern.write_text("---\nname: qa-intern\ntools: Read\n---\nBody\n")
    (repo / ".claude/agents/helper.md").write_text("---\nname: helper\ndescription: Helps out.\n---\nBody\n")

    result = orchestra("doctor", repo, "--json")

    assert result.code == 0, result.out
    agents = {c["status"]: c["detail"] for c in checks(result)["agents"]}
    assert f"{intern}:1: description: missing" in agents["warn"] and "helper" not in agents["warn"]
    assert "helper.md:2: agent 'helper' is not in teams.yaml" in agents["ok"]


def test_doctor_warns_about_a_command_whose_bang_line_allowed_tools_does_not_approve(repo: Path, orchestra,
                                                                                    claude_env: bool) -> None:
    """A slash command of your own whose `!` line is not pre-approved aborts when it is run: doctor said all
    was well while `orchestra teams check` failed on it."""
    assert orchestra("install", repo).code == 0
    assert checks(orchestra("doctor", repo, "--json"))["commands"] == [
        {"name": "commands", "status": "ok", "detail": "16 command files: every ! line is pre-approved"}]
    command = repo / ".claude/commands/team/who.md"
    command.parent.mkdir()
    command.write_text("---\ndescription: Who is on a team.\nallowed-tools: Bash(.claude/orchestra/bin/orchestra teams:*)\n"
                       "---\n!`.claude/orchestra/bin/orchestra teams`\n!`.claude/orchestra/bin/orchestra task list`\n")

    result = orchestra("doctor", repo, "--json")

    assert result.code == 0, result.out
    assert checks(result)["commands"] == [{"name": "commands", "status": "warn", "detail": (
        f"{command}:6: !`.claude/orchestra/bin/orchestra task list` is not pre-approved by allowed-tools (a "
        "Bash(...) rule); it would abort the command")}]


def test_doctor_does_not_count_an_agent_file_moved_to_its_new_team_as_missing(repo: Path, orchestra,
                                                                             claude_env: bool) -> None:
    """Moving a member to another team, teams check says to move its file to that team's folder: done, the
    pack's file is not missing (an install then keeps the moved one and leaves ours out)."""
    assert orchestra("install", repo).code == 0
    teams_yaml = repo / ".claude/teams.yaml"
    text = teams_yaml.read_text()
    entry = text[text.index("      - name: qa-engineer\n"):text.index("      - name: qa-analyst\n")]
    teams_yaml.write_text(text.replace(entry, "").replace("      - name: ci-cd-engineer\n", entry + "      - name: ci-cd-engineer\n"))
    (repo / ".claude/agents/devops").mkdir(exist_ok=True)
    (repo / ".claude/agents/qa/qa-engineer.md").rename(repo / ".claude/agents/devops/qa-engineer.md")

    result = orchestra("doctor", repo, "--json")

    assert result.code == 0, result.out
    assert [c["status"] for c in checks(result)["install"]] == ["ok"], checks(result)["install"]


def test_doctor_does_not_run_checks_on_backups(repo: Path, orchestra, claude_env: bool) -> None:
    assert orchestra("install", repo).code == 0
    hooks = repo / ".claude/orchestra/hooks"
    script = hooks / wiring.declarations(hooks)[0][0]
    script.write_text(script.read_text() + "# our own line\n")
    assert orchestra("install", repo, "--force").code == 0  # the edited hook goes to backup/replaced/
    assert (repo / ".claude/orchestra/backup/replaced/.claude/orchestra/hooks" / script.name).is_file()

    result = orchestra("doctor", repo, "--json")

    assert result.code == 0, result.out
    assert checks(result)["scripts"][0]["status"] == "ok"


def test_doctor_on_a_path_that_is_no_directory_says_so_in_one_line(tmp_path: Path, orchestra) -> None:
    for target in (tmp_path / "no such project", tmp_path / "a file"):
        if target.name == "a file":
            target.write_text("x")
        result = orchestra("doctor", target)
        assert result.code == 1
        assert result.out == ""
        assert result.err.strip().splitlines() == [
            f"orchestra doctor: {target}: not a directory; give the root of the project to check"]


def test_doctor_fails_where_the_settings_turn_every_hook_off(repo: Path, orchestra, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`disableAllHooks` in the project's local settings (or the user's) leaves the pack wired but never run."""
    config = tmp_path / "claude config"
    config.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    (repo / ".claude").mkdir()
    local = repo / ".claude/settings.local.json"
    local.write_text('{"disableAllHooks": true}\n')
    installed = orchestra("install", repo)
    assert installed.code == 0
    assert '.claude/settings.local.json: `"disableAllHooks": true` turns every hook off' in installed.out

    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    [off] = [c for c in checks(result)["wiring"] if c["status"] == "fail"]
    assert off["detail"].startswith(f'{local}: `"disableAllHooks": true` turns every hook off')

    # The first file that sets it decides: the project's local file over the user's.
    (config / "settings.json").write_text('{"disableAllHooks": true}\n')
    local.write_text('{"disableAllHooks": false}\n')
    assert orchestra("doctor", repo).code == 0
    local.unlink()
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    assert [c["detail"].split(":")[0] for c in checks(result)["wiring"] if c["status"] == "fail"] == [
        str(config / "settings.json")]


def test_doctor_names_a_disable_all_hooks_that_is_not_a_boolean(repo: Path, orchestra, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`"disableAllHooks": "yes"` (or 1, or "false") makes Claude Code 2.1.328 reject the whole settings file:
    in the project's settings.json that drops the pack's hooks with it; in another file it turns nothing off."""
    config = tmp_path / "claude config"
    config.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    (repo / ".claude").mkdir()
    project = repo / ".claude/settings.json"
    project.write_text('{"disableAllHooks": "yes"}\n')
    installed = orchestra("install", repo)
    assert installed.code == 0
    assert ('.claude/settings.json: `"disableAllHooks": "yes"` is not true or false, so Claude Code rejects this '
            "whole file") in installed.out
    assert json.loads(project.read_text())["disableAllHooks"] == "yes"  # the user's key, kept

    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    [off] = [c for c in checks(result)["wiring"] if c["status"] != "ok"]
    assert off["status"] == "fail"
    assert off["detail"].startswith(f'{project}: `"disableAllHooks": "yes"` is not true or false')
    assert "runs none of the hooks it wires, the pack's included" in off["detail"]

    # In the user's settings it turns nothing off (the file is rejected); a `true` below it then decides.
    settings = json.loads(project.read_text())
    del settings["disableAllHooks"]
    project.write_text(json.dumps(settings))
    (config / "settings.json").write_text('{"disableAllHooks": 1}\n')
    result = orchestra("doctor", repo, "--json")
    assert result.code == 0
    [off] = [c for c in checks(result)["wiring"] if c["status"] != "ok"]
    assert off["status"] == "warn" and off["detail"].startswith(f'{config / "settings.json"}: `"disableAllHooks": 1`')
    assert "it turns no hook off" in off["detail"]

    local = repo / ".claude/settings.local.json"
    local.write_text('{"disableAllHooks": "false"}\n')
    (config / "settings.json").write_text('{"disableAllHooks": true}\n')
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    assert sorted((c["status"], c["detail"].split(": `")[0]) for c in checks(result)["wiring"]
                  if c["status"] != "ok") == [("fail", str(config / "settings.json")), ("warn", str(local))]


def test_doctor_run_by_the_plugin_checks_a_plugin_only_project_as_such(repo: Path, orchestra, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin's CLI on a project without the pack (CLAUDE_PLUGIN_ROOT set, as the plugin's commands run it):
    no install, settings wiring or .mcp.json server to find there, and `orchestra install` is the wrong advice
    (a second pack beside the plugin); the organisation, the state and the settings that turn hooks off are."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude config"))
    monkeypatch.setenv("CLAUDE_PLUGIN_ROOT", str(REPO))
    monkeypatch.setenv("PATH", f"{Path(shutil.which('uv')).parent}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.delenv("ORCHESTRA_CLAUDE_BIN", raising=False)  # `claude doctor` would list the rejected file too

    result = orchestra("doctor", repo, "--json")

    assert result.code == 1
    found = checks(result)
    assert found["plugin"][0]["status"] == "ok" and "install" not in found and "orchestra install" not in result.out
    teams_yaml = repo / ".claude/teams.yaml"
    assert found["teams"][0]["status"] == "fail" and f"cp {REPO / 'templates/teams.yaml'} " in found["teams"][0]["detail"]

    teams_yaml.parent.mkdir()
    teams_yaml.write_text((REPO / "templates/teams.yaml").read_text())
    (repo / ".claude/settings.json").write_text('{"disableAllHooks": "yes"}\n')  # the plugin's hooks are not in it
    result = orchestra("doctor", repo, "--json")
    assert result.code == 0, result.out
    [off] = [c for c in checks(result)["wiring"]]
    assert off["status"] == "warn" and "it turns no hook off" in off["detail"]


def test_doctor_names_managed_settings_that_keep_the_pack_hooks_from_running(repo: Path, orchestra, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """An organisation's managed settings (managed-settings.json, then the managed-settings.d drop-ins in name
    order, the later key winning) decide `disableAllHooks` over every settings file, and `allowManagedHooksOnly`
    keeps every hook but theirs from running; a value of the wrong type there is left out, not the document.
    Each seen with Claude Code 2.1.328 in /etc/claude-code."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude config"))
    managed = tmp_path / "managed"
    (managed / "managed-settings.d").mkdir(parents=True)
    (managed / "managed-settings.json").write_text('{"disableAllHooks": false}')
    drop_in = managed / "managed-settings.d/20-hooks.json"
    drop_in.write_text('{"disableAllHooks": true}')

    installed = orchestra("install", repo)
    assert installed.code == 0
    assert ('`"disableAllHooks": true` in the managed settings turns every hook off, so no hook of the pack runs'
            in installed.out) and "only whoever manages this machine can change that" in installed.out
    (repo / ".claude/settings.local.json").write_text('{"disableAllHooks": false}')  # does not override it
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    [off] = [c for c in checks(result)["wiring"] if c["status"] != "ok"]
    assert off["status"] == "fail" and off["detail"].startswith(f"{drop_in}: `\"disableAllHooks\": true` in the managed")

    # A later drop-in's false decides, over a true in the project's own files too.
    (managed / "managed-settings.d/30-hooks.json").write_text('{"disableAllHooks": false}')
    (repo / ".claude/settings.local.json").write_text('{"disableAllHooks": true}')
    result = orchestra("doctor", repo, "--json")
    assert result.code == 0, result.out
    assert {c["status"] for c in checks(result)["wiring"]} == {"ok"}

    # Of the wrong type it is left out: the project's true decides again.
    for path in (managed / "managed-settings.d").iterdir():
        path.unlink()
    (managed / "managed-settings.json").write_text('{"disableAllHooks": "no"}')
    [off] = [c for c in checks(orchestra("doctor", repo, "--json"))["wiring"] if c["status"] != "ok"]
    assert off["detail"].startswith(f'{repo / ".claude/settings.local.json"}: `"disableAllHooks": true` turns')

    (repo / ".claude/settings.local.json").unlink()
    (managed / "managed-settings.json").write_text('{"allowManagedHooksOnly": true}')
    result = orchestra("doctor", repo, "--json")
    assert result.code == 1
    [off] = [c for c in checks(result)["wiring"] if c["status"] != "ok"]
    assert off["status"] == "fail"
    assert off["detail"].startswith(f'{managed / "managed-settings.json"}: `"allowManagedHooksOnly": true` in the '
                                    "managed settings: Claude Code runs only the hooks and status line those")


def test_doctor_warns_when_managed_settings_keep_the_pack_server_out(repo: Path, orchestra, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Managed `deniedMcpServers`, an `allowedMcpServers` without the server, and a managed-mcp.json without it each
    keep Claude Code 2.1.328 from starting a project's server (seen in /etc/claude-code)."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude config"))
    assert orchestra("install", repo).code == 0
    managed = tmp_path / "managed"
    managed.mkdir()
    settings = managed / "managed-settings.json"
    server = json.loads((repo / ".mcp.json").read_text())["mcpServers"]["orchestra"]

    def mcp_check() -> dict:
        [found] = checks(orchestra("doctor", repo, "--json"))["mcp"]
        return found

    settings.write_text(json.dumps({"deniedMcpServers": [{"serverName": "github"}, {"serverName": "orchestra"}]}))
    found = mcp_check()
    assert found["status"] == "warn"
    assert found["detail"].startswith(f"{settings}: `deniedMcpServers` names `orchestra`, so Claude Code does not "
                                      "start the pack's server, and agents cannot reach the mcp__orchestra__ tools")
    settings.write_text(json.dumps({"allowedMcpServers": [{"serverName": "github"}]}))
    assert mcp_check()["detail"].startswith(f"{settings}: `allowedMcpServers` does not list `orchestra`")
    settings.write_text(json.dumps({"allowedMcpServers": [{"serverCommand": [server["command"], *server["args"]]}]}))
    assert mcp_check()["status"] == "ok"
    expanded = [server["command"], *(a.replace("${CLAUDE_PROJECT_DIR:-.}", str(repo)) for a in server["args"])]
    assert expanded != [server["command"], *server["args"]]
    settings.write_text(json.dumps({"allowedMcpServers": [{"serverCommand": expanded}]}))
    assert mcp_check()["status"] == "ok"
    settings.write_text(json.dumps({"allowedMcpServers": [{"serverCommand": [server["command"], "/srv/other.sh"]}]}))
    assert mcp_check()["status"] == "warn"
    settings.write_text(json.dumps({"allowedMcpServers": [{"serverName": "orchestra"}]}))
    assert mcp_check()["status"] == "ok"
    (managed / "managed-mcp.json").write_text('{"mcpServers": {}}')
    found = mcp_check()
    assert found["status"] == "warn" and found["detail"].startswith(
        f"{managed / 'managed-mcp.json'}: Claude Code starts only the MCP servers this file defines, and `orchestra` "
        "is not one of them")


def test_doctor_warns_when_the_settings_disable_the_pack_server(repo: Path, orchestra, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A server the user once declined stays off (`disabledMcpjsonServers`): wired in .mcp.json, never started."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude config"))
    assert orchestra("install", repo).code == 0
    assert checks(orchestra("doctor", repo, "--json"))["mcp"][0]["status"] == "ok"
    local = repo / ".claude/settings.local.json"
    local.write_text(json.dumps({"disabledMcpjsonServers": ["github", "orchestra"]}))

    [mcp] = checks(orchestra("doctor", repo, "--json"))["mcp"]

    assert mcp["status"] == "warn"
    assert mcp["detail"].startswith(f"{local}: `disabledMcpjsonServers` lists `orchestra`, so Claude Code does not "
                                    "start the pack's server")


def test_doctor_warns_about_open_work_under_a_team_teams_yaml_no_longer_has(repo: Path, orchestra, claude_env: bool,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestra import paths

    assert orchestra("install", repo).code == 0
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(repo))
    paths.project_root.cache_clear()
    (repo / ".claude/sprints").mkdir(exist_ok=True)
    (repo / ".claude/sprints/sprint-4.yaml").write_text(
        "id: sprint-4\nname: Login\ntasks:\n  - {id: login-api, title: API, team: engineering, assignee: api-engineer}\n"
        "  - {id: login-ui, title: UI, team: engineering, assignee: fullstack-eng}\n")
    assert orchestra("sprint", "start", "sprint-4").code == 0, orchestra
    teams_file = repo / ".claude/teams.yaml"
    teams_file.write_text(teams_file.read_text().replace("\n  engineering:\n", "\n  platform:\n"))

    found = checks(orchestra("doctor", repo, "--json"))
    assert found["teams"][-1]["status"] == "warn"
    detail = found["teams"][-1]["detail"]
    assert detail.startswith("team 'engineering' is not in .claude/teams.yaml, but 2 task(s) of sprints not closed "
                             "still carry it: login-api (sprint-4), login-ui (sprint-4); rename the team back")
    assert "move each task to a team it has with `orchestra task set-team TASK TEAM`" in detail
    for task in ("login-api", "login-ui"):  # as it says
        assert orchestra("task", "set-team", task, "platform").code == 0
    assert all(c["status"] == "ok" for c in checks(orchestra("doctor", repo, "--json"))["teams"])


def test_doctor_warns_about_unfinished_tasks_assigned_to_a_member_teams_yaml_no_longer_has(
        repo: Path, orchestra, claude_env: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestra import paths

    assert orchestra("install", repo).code == 0
    monkeypatch.setenv("CLAUDE_PROJECT_DIR", str(repo))
    paths.project_root.cache_clear()
    (repo / ".claude/sprints").mkdir(exist_ok=True)
    (repo / ".claude/sprints/sprint-4.yaml").write_text(
        "id: sprint-4\nname: Login\ntasks:\n  - {id: login-api, title: API, team: engineering, assignee: api-engineer}\n")
    assert orchestra("sprint", "start", "sprint-4").code == 0, orchestra
    for path in (repo / ".claude/teams.yaml", repo / ".claude/agents/engineering/api-engineer.md"):
        path.write_text(path.read_text().replace("api-engineer", "api-eng"))
    (repo / ".claude/agents/engineering/api-engineer.md").rename(repo / ".claude/agents/engineering/api-eng.md")

    [warned] = [c for c in checks(orchestra("doctor", repo, "--json"))["teams"] if c["status"] != "ok"]
    assert warned["status"] == "warn" and warned["detail"] == (
        "agent 'api-engineer' is not in .claude/teams.yaml, but 1 unfinished task(s) are still assigned to it: "
        "login-api (sprint-4); add it back, or assign each to a member with `orchestra state set "
        "tasks.TASK.assignee '\"<member>\"'`")
    assert orchestra("state", "set", "tasks.login-api.assignee", '"api-eng"').code == 0  # as it says
    assert all(c["status"] == "ok" for c in checks(orchestra("doctor", repo, "--json"))["teams"])


def test_doctor_warns_when_the_pack_server_is_registered_under_another_name(repo: Path, orchestra, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The identity hook matches the tools of `orchestra` only: the same server under another name gets no stamp."""
    config = tmp_path / "claude config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    assert orchestra("install", repo).code == 0
    assert "mcp" not in {c["name"] for c in orchestra("doctor", repo, "--json").json()["checks"] if c["status"] != "ok"}
    servers = json.loads((repo / ".mcp.json").read_text())
    servers["mcpServers"]["orch"] = servers["mcpServers"]["orchestra"]
    (repo / ".mcp.json").write_text(json.dumps(servers))
    binary = find_claude()
    if binary is not None:  # as a user adds it, in local and in user scope
        for scope, command in (("local", ["sh", f"{repo}/.claude/orchestra/bin/orchestra-mcp"]),
                               ("user", ["uv", "run", "--project", str(repo), "orchestra", "mcp"])):
            added = subprocess.run([str(binary), "mcp", "add", "-s", scope, f"orch-{scope}", "--", *command],
                                   cwd=repo, capture_output=True, text=True, timeout=120,
                                   env={**os.environ, "CLAUDE_CONFIG_DIR": str(config)})
            assert added.returncode == 0, added.stderr
    else:
        (config / ".claude.json").parent.mkdir(parents=True, exist_ok=True)
        (config / ".claude.json").write_text(json.dumps({
            "mcpServers": {"orch-user": {"command": "uv", "args": ["run", "orchestra", "mcp"]}},
            "projects": {str(repo.resolve()): {"mcpServers": {"orch-local": servers["mcpServers"]["orch"]}}}}))

    found = checks(orchestra("doctor", repo, "--json"))["mcp"]

    assert [c["status"] for c in found] == ["ok", "warn"], found
    assert found[1]["detail"].startswith(
        f"Orchestra's MCP server is registered as `orch` in .mcp.json, `orch-user` in {config / '.claude.json'} (user), "
        f"`orch-local` in {config / '.claude.json'} (local): the identity hook stamps who is calling only into the tools "
        "of `orchestra`"), found[1]["detail"]


def test_doctor_on_a_copied_pack_says_a_rewire_that_works_there(repo: Path, orchestra, pack_source: Path,
                                                                 claude_env: bool) -> None:
    """README's copy of `.claude/`: doctor said to run `uv run python -m orchestra.wiring --write`, which
    a repo the pack was copied into cannot run (no such module outside Orchestra's checkout). The
    install from a clone it names now rewires the copy."""
    from orchestra.installer.source import load_pack

    from tests.installer.conftest import write_pack

    write_pack(load_pack(pack_source), repo, json.loads((pack_source / ".claude/settings.json").read_text()))
    settings = repo / ".claude/settings.json"
    wired = json.loads(settings.read_text())
    settings.write_text(json.dumps({**wired, "hooks": {k: v for k, v in wired["hooks"].items() if k != "Stop"}}))

    [told] = checks(orchestra("doctor", repo, "--json"))["wiring"]

    assert told["status"] == "fail" and f"run `orchestra install '{repo}'` (from a clone of Orchestra" in told["detail"]
    assert orchestra("install", repo).code == 0
    assert checks(orchestra("doctor", repo, "--json"))["wiring"][0]["status"] == "ok"


def test_doctor_on_a_copied_pack_without_its_mcp_json_says_an_install_that_works_there(
        repo: Path, orchestra, pack_source: Path, claude_env: bool) -> None:
    """A copy of `.claude/` without `.mcp.json`: doctor said to run `orchestra install .`, which the copy's
    own CLI refuses (it is no install). It names the install from a clone that brings the server."""
    from orchestra.installer.source import load_pack

    from tests.installer.conftest import write_pack

    write_pack(load_pack(pack_source), repo, json.loads((pack_source / ".claude/settings.json").read_text()))
    assert not (repo / ".mcp.json").exists()

    [told] = checks(orchestra("doctor", repo, "--json"))["mcp"]

    assert told["status"] == "warn" and "`orchestra install .`" not in told["detail"]
    assert f"run `orchestra install '{repo}'` (from a clone of Orchestra" in told["detail"]
    assert orchestra("install", repo).code == 0
    assert checks(orchestra("doctor", repo, "--json"))["mcp"][0]["status"] == "ok"


def test_doctor_on_an_install_whose_server_was_taken_out_says_to_rewire_it(repo: Path, orchestra,
                                                                            claude_env: bool) -> None:
    assert orchestra("install", repo).code == 0
    (repo / ".mcp.json").write_text('{"mcpServers": {}}\n')

    [told] = checks(orchestra("doctor", repo, "--json"))["mcp"]

    assert told["status"] == "warn" and told["detail"].endswith("run `orchestra install .` to rewire")
    assert orchestra("install", repo).code == 0
    assert checks(orchestra("doctor", repo, "--json"))["mcp"][0]["status"] == "ok"
