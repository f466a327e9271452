"""What the pack's markdown tells models and users to do matches the code it names: every `orchestra ...` command
in agents, commands and templates (and their plugin copies) parses with the real CLI parser, every orchestra MCP
tool it names exists and takes the arguments and values given, the completion protocol it teaches is what the
SubagentStop parser reads, every name it puts in backticks is one the code knows, and a command asks the model
only for what its `!` lines print (or says where the rest is)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import shutil
from functools import cache
from pathlib import Path

import pytest
from orchestra import commandfiles
from orchestra.bus.messages import MESSAGE_TYPES, VERDICTS
from orchestra.cli import build_parser
from orchestra.hookio import Rewrite
from orchestra.lifecycle.protocol import parse_report
from orchestra.models import OUTCOMES, TASK_TRANSITIONS
from orchestra.security.roles import REVIEW_OUTCOMES

from .conftest import CLAUDE, REPO, TEMPLATES, agent_paths, command_name, command_paths, split_frontmatter

PLUGIN = REPO / "plugin"
BIN = ".claude/orchestra/bin/orchestra"
# Tool inputs of Claude Code 2.1.328 the instructions may name (reference/claude-code.md §1.10, §1.11).
AGENT_INPUT = {"description", "prompt", "subagent_type", "model", "effort", "run_in_background", "name", "isolation"}
BASH_INPUT = {"command", "timeout", "description", "run_in_background", "dangerouslyDisableSandbox"}

SPAN = re.compile(r"(?<!`)`([^`]+)`(?!`)")
# how the plugin build spells the CLI: `VAR="${VAR}" ... "${CLAUDE_PLUGIN_ROOT}/.claude/orchestra/bin/orchestra"`
PLUGIN_PREFIX = re.compile(r'^(?:\w+="\$\{\w+\}"\s+)*"\$\{CLAUDE_PLUGIN_ROOT\}/(\.claude/orchestra/bin/orchestra)"')
CLI_SPAN = re.compile(r"^(?:\.claude/orchestra/bin/)?orchestra(?:\s+(.*))?$", re.S)
TOOL_REF = re.compile(r"mcp__(?:plugin_orchestra_)?orchestra__(\w+)(?:\s*\(([^)]*)\)|\s*(\{[^{}]*\}))?")
SNAKE = re.compile(r"`([a-z]+(?:_[a-z]+)+)(?::\s*([^`]*))?`")
SLASH = re.compile(r"(?<![\w/.:])/([a-z]+:[a-z][a-z-]*)\b")


def docs(plugin: bool = True) -> list[Path]:
    """The markdown and template text models and users read, with the plugin's generated copies."""
    found = [*agent_paths(), *command_paths(), *sorted(TEMPLATES.glob("*.md")), *sorted(TEMPLATES.glob("*.yaml"))]
    if plugin:
        found += sorted(PLUGIN.rglob("*.md"))
    return found


def label(path: Path) -> str:
    return str(path.relative_to(REPO))


def flat(text: str) -> str:
    return " ".join(text.split())


def spans(path: Path | str) -> list[tuple[int, str]]:
    """(line, code span) for every inline code span and `!` line, whitespace joined across line breaks."""
    text = path.read_text(encoding="utf-8") if isinstance(path, Path) else path
    return [(text.count("\n", 0, m.start()) + 1, flat(m.group(1))) for m in SPAN.finditer(text)]


def cli_commands(path: Path | str) -> list[tuple[int, str, str]]:
    """(line, span, the CLI path as written) for each code span that runs the orchestra CLI."""
    found = []
    for line, span in spans(path):
        cli = PLUGIN_PREFIX.sub(r"\1", span)
        if CLI_SPAN.match(cli) and cli.split()[0] in ("orchestra", BIN):
            found.append((line, span, cli))
    return found


def argv(cli: str) -> list[str]:
    """The arguments a user or model would type for `cli`: placeholders and $ARGUMENTS filled with one word."""
    rest = CLI_SPAN.match(cli).group(1) or ""
    rest = re.sub(r"<[^<>]+>", "x-1", rest)
    rest = re.sub(r"\$ARGUMENTS(?:\[\d+\])?|\$\d+", "s-1", rest)
    return shlex.split(rest)


def refusal(args: list[str]) -> str | None:
    """The CLI parser's complaint about `args`, or None when it takes them (`--help` is taken)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(args)
        except SystemExit as exc:
            return None if exc.code == 0 else (err.getvalue().strip().splitlines() or ["refused"])[-1]
    return None


@cache
def mcp_schemas() -> dict[str, dict]:
    """Each tool the orchestra MCP server lists, with its input schema, built in-process from the server module."""
    from orchestra.mcp_server import server

    return {tool.name: tool.parameters for tool in server.tools()}


def enum(tool: str, argument: str) -> set[str]:
    prop = mcp_schemas()[tool]["properties"][argument]
    options = [prop, *prop.get("anyOf", []), prop.get("items") or {}]
    return {value for option in options for value in option.get("enum", [])}


def known_names() -> set[str]:
    """Every snake_case name the code gives a meaning the instructions may use."""
    schemas = mcp_schemas()
    arguments = {name for schema in schemas.values() for name in schema.get("properties", {})}
    statuses = enum("update_task", "status")
    return set(schemas) | arguments | statuses | set(MESSAGE_TYPES) | set(VERDICTS) | AGENT_INPUT | BASH_INPUT


# -- the orchestra CLI ---------------------------------------------------------------------------------

def test_every_orchestra_command_in_the_instructions_parses_with_the_cli():
    found, refused = 0, []
    for path in docs():
        for line, span, cli in cli_commands(path):
            found += 1
            if (why := refusal(argv(cli))) is not None:
                refused.append(f"{label(path)}:{line}: `{span}`: {why}")
    assert refused == []
    assert found >= 60, found  # every command's `!` lines, the prose and the templates' comments


def test_agents_and_commands_name_the_cli_by_a_path_that_runs():
    """`orchestra` alone is on no PATH in an installed project; the full path is also what the plugin build
    rewrites to the plugin's CLI."""
    bare = [f"{label(path)}:{line}: `{span}`" for path in [*agent_paths(), *command_paths()]
            for line, span, cli in cli_commands(path) if cli.split()[0] != BIN]
    assert bare == []
    in_plugin = [f"{label(path)}:{line}: `{span}`" for path in sorted(PLUGIN.rglob("*.md"))
                 for line, span, cli in cli_commands(path) if span == cli]
    assert in_plugin == [], "the plugin's copies run the CLI of the plugin's clone"


def test_the_cli_check_refuses_what_the_cli_refuses():
    assert refusal(["sprint", "unblok", "s-1"]) and refusal(["msg", "ask", "x-1"]) and refusal(["task", "show", "--all"])
    assert refusal(["msg", "handoff", "--help"]) is None
    assert argv(f'{BIN} msg ask <recipient> "<question>" --priority high') == ["msg", "ask", "x-1", "x-1", "--priority",
                                                                               "high"]
    assert argv(f"{BIN} sprint status $ARGUMENTS") == ["sprint", "status", "s-1"]
    sample = 'Run `CLAUDE_PLUGIN_ROOT="${CLAUDE_PLUGIN_ROOT}" "${CLAUDE_PLUGIN_ROOT}/.claude/orchestra/bin/orchestra" ' \
             'teams` and `orchestra\n  sprint plan <id>`, not `orchestra-mcp` or `git log`.'
    assert [cli for _, _, cli in cli_commands(sample)] == [f"{BIN} teams", "orchestra sprint plan <id>"]


# -- the orchestra MCP tools -----------------------------------------------------------------------------

def test_every_mcp_tool_in_the_instructions_exists_and_takes_the_arguments_given():
    schemas, wrong, found = mcp_schemas(), [], 0
    for path in docs():
        text = path.read_text(encoding="utf-8")
        for match in TOOL_REF.finditer(text):
            found += 1
            line, tool = text.count("\n", 0, match.start()) + 1, match.group(1)
            if tool not in schemas:
                wrong.append(f"{label(path)}:{line}: {tool} is not a tool of the orchestra MCP server")
                continue
            given = _arguments(match.group(2), match.group(3))
            taken = set(schemas[tool].get("properties", {})) - {"caller"}  # the hook stamps the caller
            if given - taken:
                wrong.append(f"{label(path)}:{line}: {tool} takes no {sorted(given - taken)} (it takes {sorted(taken)})")
    assert wrong == []
    assert found >= 100, found


def _arguments(call: str | None, obj: str | None) -> set[str]:
    """Argument names of `tool(a=1, b: 2)` or `tool {"a": 1}`."""
    if obj is not None:
        try:
            return set(json.loads(obj))
        except ValueError:
            return set(re.findall(r"[\"']?(\w+)[\"']?\s*:", obj))
    return set(re.findall(r"(\w+)\s*[=:]", call or ""))


def test_the_mcp_check_reads_the_argument_forms():
    assert _arguments("task_id=build-1, status: 'completed'", None) == {"task_id", "status"}
    assert _arguments(None, '{"to": "human", "priority": "high"}') == {"to", "priority"}
    assert "escalate_after_minutes" in mcp_schemas()["ask"]["properties"]
    assert enum("send_message", "priority") == {"critical", "high", "normal", "low"}


def test_argument_values_in_the_instructions_are_ones_the_tools_take():
    """`priority `high``, an update_task status, a `team:<name>` address: values the schemas and teams.yaml take."""
    from orchestra import teams

    priorities, statuses = enum("send_message", "priority"), enum("update_task", "status")
    team_names = set(teams.build(teams.load_raw(CLAUDE / "teams.yaml")).teams)
    wrong = []
    for path in docs(plugin=False):
        text = flat(path.read_text(encoding="utf-8"))
        wrong += [f"{label(path)}: priority {p!r}" for p in re.findall(r"priority `(\w+)`", text) if p not in priorities]
        wrong += [f"{label(path)}: status {s!r}" for s in re.findall(r"(?:status|->) `(\w+)`", text) if s not in statuses]
        wrong += [f"{label(path)}: team {t!r}" for t in re.findall(r"`team:([\w-]+)`", text) if t not in team_names]
    assert wrong == []


def test_reviewers_record_verdicts_with_statuses_a_review_may_set():
    """A reviewer may move a task out of needs_review only to a review outcome the guard lets it set."""
    from orchestra import teams

    org = teams.build(teams.load_raw(CLAUDE / "teams.yaml"))
    reviewers = [p for p in agent_paths() if org.role_of(p.stem) == "reviewer"]
    assert reviewers
    for path in reviewers:
        _, body = split_frontmatter(path)
        told = set(re.findall(r"(?:status|->) `(\w+)`", flat(body)))
        assert told and told <= REVIEW_OUTCOMES & TASK_TRANSITIONS["needs_review"], (path.stem, told)


def test_names_in_backticks_are_ones_the_code_knows():
    """A backticked snake_case name is a tool, a tool argument, a task status, a message type, a verdict or a
    Claude Code tool input; `key: value` names a Claude Code tool input."""
    known, wrong = known_names(), []
    for path in docs(plugin=False):
        for line, span in spans(path):
            for name, value in SNAKE.findall(f"`{span}`"):
                if name not in known or (value and name not in AGENT_INPUT | BASH_INPUT):
                    wrong.append(f"{label(path)}:{line}: `{span}`")
    assert wrong == []
    assert "security_alert" not in known  # an event type, never a message anyone receives


# -- the completion protocol ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [*agent_paths(), TEMPLATES / "agent.md"], ids=lambda p: p.stem)
def test_the_completion_protocol_taught_is_what_the_stop_parser_reads(path: Path):
    _, body = split_frontmatter(path)
    tail = body[body.index("## Output"):]
    lines = [line for line in tail.splitlines() if re.match(r"^[A-Z]+: ", line)]
    labels = [line.split(":")[0] for line in lines]
    assert labels[0] == "STATUS" and set(labels) <= {"STATUS", "ARTIFACTS", "BLOCKER"} and "BLOCKER" in labels
    template = "\n".join(lines)
    assert parse_report(f"Done.\n\n{template}").status is None  # the template as written is no report
    choices = re.search(r"^STATUS: (\S+)$", template, re.M).group(1).split("|")
    assert sorted(choices) == sorted(OUTCOMES)
    for choice in choices:
        filled = re.sub(r"(?m)^STATUS: .*$", f"STATUS: {choice}", template)
        filled = re.sub(r"(?m)^ARTIFACTS: .*$", "ARTIFACTS: src/refunds.py, docs/refunds.md", filled)
        filled = re.sub(r"(?m)^BLOCKER: .*$", "BLOCKER: the payment API key is missing", filled)
        report = parse_report(f"Refunds work end to end.\n\n{filled}")
        assert report.status == choice
        assert report.blocker == "the payment API key is missing"
        assert report.artifacts == (("src/refunds.py", "docs/refunds.md") if "ARTIFACTS" in labels else ())


# -- slash commands and orchestrators' delegations ---------------------------------------------------------

def test_slash_commands_named_in_the_instructions_exist():
    names = {command_name(p) for p in command_paths()}
    wrong = [f"{label(path)}: /{name}" for path in docs()
             for name in SLASH.findall(path.read_text(encoding="utf-8")) if name not in names]
    assert wrong == []
    assert SLASH.findall("run /sprint:start s1 at http://127.0.0.1:7891/ or .claude/x:y") == ["sprint:start"]


def escalate_step() -> str:
    _, body = split_frontmatter(CLAUDE / "agents/engineering/engineering-director.md")
    return flat(re.search(r"\*\*Escalate\.\*\*(.*?)(?=\n\S|\n\n)", body, re.S).group(1))


def test_asking_another_team_leaves_the_task_with_its_member(project: Path):
    """The engineering director asks another team's orchestrator about a blocked task without the task's tag, as
    its instructions say: the task stays blocked with its member. Tagged, the call would hand that orchestrator
    the task itself (in progress with it, the blocker gone, its answer pushed back for lacking artifacts)."""
    from tests.hooks.test_delegation import digest, feed, seed, write_teams
    from tests.hooks.test_gates import launched, pre, start, stop

    assert "without a `[task:...]` tag" in escalate_step(), escalate_step()
    write_teams(project)  # engineering (run by engineering-orchestrator) and qa (run by qa-director)
    blocked = {"title": "Refunds", "team": "engineering", "status": "blocked", "assignee": "fullstack-eng",
               "blocker": "refund window: 14 or 30 days?"}
    seed(project, {"t1": blocked, "t2": {**blocked, "title": "Returns"}})
    director = ("dir-1", "engineering-orchestrator")
    for use, run, prompt in (("toolu_a", "qa-1", "Task t1 (Refunds): refund window, 14 or 30 days?"),
                             ("toolu_b", "qa-2", "[task:t2] Returns: refund window, 14 or 30 days?")):
        assert isinstance(feed(pre(project, use, "qa-director", prompt, caller=director)), Rewrite)
        feed(launched(project, use, run, "qa-director", prompt))
        feed(start(project, run, "qa-director"))
        feed(stop(project, run, "qa-director", "30 days.\n\nSTATUS: completed", prompt=prompt))
    state = digest()
    assert (state["tasks"]["t1"]["status"], state["tasks"]["t1"]["blocker"]) == ("blocked", blocked["blocker"])
    assert state["agents"]["qa-1"]["status"] == "completed" and state["agents"]["qa-1"]["task"] != "t1"
    assert (state["tasks"]["t2"]["status"], state["agents"]["qa-2"]["task"]) == ("in_progress", "t2")


def test_the_devops_manager_is_told_how_a_security_alert_looks_in_its_inbox(pack_copy: Path):
    """A security alert reaches devops-manager as a message of a bus type, not as the `security_alert` event
    type: its instructions name what it will find."""
    from orchestra import teams
    from orchestra.security import alerts
    from orchestra.security import policy as policies
    from orchestra.security.decisions import Decision
    from orchestra.store import open_store

    policy, org = policies.load(pack_copy), teams.load(pack_copy)
    with open_store(root=pack_copy) as store:
        with store.transaction() as tx:
            alerts.record(tx, Decision("secret", "read", ".env", ".env*", "no"), policy.caller(org, "fullstack-eng"),
                          policy, org, agent_id="run-1", session_id="s-1")
        with store.snapshot() as tx:
            [message] = [m for m in tx.items("communication.messages").values() if m["to"] == "devops-manager"]
    _, body = split_frontmatter(CLAUDE / "agents/devops/devops-manager.md")
    assert message["type"] in MESSAGE_TYPES and message["payload"]["alert"] == "security"
    assert f"a `{message['priority']}` message whose payload holds `alert: security`" in flat(body)


def test_the_report_command_points_the_model_at_the_numbers_it_asks_for(pack_copy: Path):
    """`orchestra report` prints only the paths it wrote; the goal, burndown, velocity, blockers and forecast
    /orchestra:report asks for are in the Markdown file, which the prompt has the model read."""
    from tests.unit.test_lifecycle_cli import orchestra

    shutil.copytree(CLAUDE / "sprints", pack_copy / ".claude" / "sprints")
    assert orchestra(pack_copy, "sprint", "start", "sprint-3").returncode == 0
    [path] = [p for p in command_paths() if command_name(p) == "orchestra:report"]
    shown = {}
    for _, line in commandfiles.bang_lines(split_frontmatter(path)[1]):
        proc = orchestra(pack_copy, *argv(line.replace("$ARGUMENTS", "")))
        assert proc.returncode == 0, proc.stderr
        shown[line] = proc.stdout
    printed = "\n".join(shown.values())
    [written] = re.findall(r"^wrote (.+\.md)$", printed, re.M)
    report = Path(written).read_text(encoding="utf-8")
    asked = flat(split_frontmatter(path)[1])
    assert "read it with the Read tool" in asked and "(the `.md` path)" in asked
    for topic, section in (("goal", "Goal:"), ("burndown against the ideal line", "| Day | Remaining | Ideal |"),
                           ("velocity", "## Velocity"), ("blockers", "## Blockers"), ("forecast", "## Forecast")):
        assert topic in asked and section in report and section not in printed, topic


def test_the_audit_command_asks_only_for_what_verify_prints(pack_copy: Path):
    """`orchestra audit verify` prints the entries checked, the log and the last hash, and no time: the prompt
    asks for those, and sends the user to `audit tail` (whose lines carry their times) for when."""
    from orchestra import audit, paths

    from tests.unit.test_lifecycle_cli import orchestra

    for i in range(3):
        audit.append(paths.audit_log(pack_copy), {"hook": "pre_tool", "event": "PreToolUse", "tool": "Bash", "n": i})
    [path] = [p for p in command_paths() if command_name(p) == "audit:verify"]
    [(_, line)] = commandfiles.bang_lines(split_frontmatter(path)[1])
    proc = orchestra(pack_copy, *argv(line))
    assert proc.returncode == 0 and "3 lines" in proc.stdout and "last hash" in proc.stdout, proc
    assert not re.search(r"\d{4}-\d\d-\d\d|\d\d:\d\d", proc.stdout.replace(str(pack_copy), "")), proc.stdout
    asked = flat(split_frontmatter(path)[1])
    assert "how many entries" in asked and "last hash" in asked and "time span" not in asked
    tail = orchestra(pack_copy, *argv(f"{BIN} audit tail"))
    assert tail.returncode == 0 and re.search(r"\d\d:\d\d", tail.stdout), tail
    assert f"`{BIN} audit tail`" in asked


def test_the_epic_plan_command_shows_the_critical_path_it_asks_for(pack_copy: Path):
    """/epic:plan asks for the critical path across sprints and each feature's dependencies, which only the
    plan's JSON holds (the table names sprints, points and features)."""
    from tests.unit.test_lifecycle_cli import orchestra

    for folder in ("sprints", "epics"):
        shutil.copytree(CLAUDE / folder, pack_copy / ".claude" / folder)
    [path] = [p for p in command_paths() if command_name(p) == "epic:plan"]
    [(_, line)] = commandfiles.bang_lines(split_frontmatter(path)[1])
    proc = orchestra(pack_copy, *argv(line.replace("$ARGUMENTS", "payments")))
    assert proc.returncode == 0, proc.stderr
    chain = json.loads(orchestra(pack_copy, "epic", "plan", "payments", "--json").stdout)["critical_path"]["features"]
    asked = flat(split_frontmatter(path)[1])
    assert "the critical path across sprints" in asked and len(chain) > 1
    assert '"critical_path"' in proc.stdout, proc.stdout  # the table alone has no critical path
    assert json.loads(proc.stdout)["critical_path"]["features"] == chain
    assert "dependencies" in asked and '"dependencies"' in proc.stdout


def test_the_epic_status_command_asks_for_what_epic_status_prints(pack_copy: Path):
    """`orchestra epic status` names each sprint's status and where the rest would end, but no blocker: the prompt
    asks for blocked sprints and points to `sprint status <id>` for their blockers."""
    from tests.unit.test_lifecycle_cli import orchestra

    for folder in ("sprints", "epics"):
        shutil.copytree(CLAUDE / folder, pack_copy / ".claude" / folder)
    assert orchestra(pack_copy, "sprint", "start", "sprint-3").returncode == 0
    assert orchestra(pack_copy, "sprint", "block", "sprint-3", "waiting for the payment provider").returncode == 0
    [path] = [p for p in command_paths() if command_name(p) == "epic:status"]
    [(_, line)] = commandfiles.bang_lines(split_frontmatter(path)[1])
    proc = orchestra(pack_copy, *argv(line.replace("$ARGUMENTS", "payments")))
    assert proc.returncode == 0, proc.stderr
    assert "sprint sprint-3: blocked" in proc.stdout and "the last ending" in proc.stdout
    assert "payment provider" not in proc.stdout  # the blocker itself is in `sprint status`
    asked = flat(split_frontmatter(path)[1])
    assert "which of its sprints is blocked" in asked and f"`{BIN} sprint status <id>` shows a sprint's blockers" in asked
    assert "payment provider" in orchestra(pack_copy, *argv(f"{BIN} sprint status sprint-3")).stdout
