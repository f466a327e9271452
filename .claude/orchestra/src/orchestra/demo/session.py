"""A stand-in for Claude Code 2.1.328 that sends hook payloads to the real hook scripts of a project.

Payload shapes follow the captured fixtures (tests/fixtures/claude-code-2.1.328): common fields,
`agent_id`/`agent_type` only inside subagents, Agent tool responses for background and foreground
launches, subagent transcripts at `<session>/subagents/agent-<id>.jsonl` with a `.meta.json` beside
them. Each matching hook runs as its own `uv run --script` process, as Claude Code runs it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..wiring import declarations

_EXACT = re.compile(r"^[A-Za-z0-9_\-, |]*$")


def project_env(project: Path) -> dict[str, str]:
    """This environment for a command run in `project`: its own state store, never one the caller's
    environment names (ORCHESTRA_STATE_URL or ORCHESTRA_STATE_DIR: a team's real store)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ORCHESTRA_STATE_URL", "ORCHESTRA_STATE_DIR")}
    return {**env, "CLAUDE_PROJECT_DIR": str(project)}


@dataclass
class HookRun:
    script: str
    code: int
    output: dict[str, Any]
    stderr: str

    @property
    def decision(self) -> str | None:
        specific = self.output.get("hookSpecificOutput", {})
        return specific.get("permissionDecision") or self.output.get("decision")

    @property
    def reason(self) -> str:
        specific = self.output.get("hookSpecificOutput", {})
        return specific.get("permissionDecisionReason") or self.output.get("reason") or self.stderr.strip()


def matches(matcher: str | None, value: str | None) -> bool:
    """Claude Code's matcher rules: empty/`*` = all; plain names = exact list; anything else = regex."""
    if not matcher or matcher == "*":
        return True
    if value is None:
        return False
    if _EXACT.match(matcher):
        return value in {part.strip() for part in re.split(r"[|,]", matcher)}
    return re.search(matcher, value) is not None


@dataclass
class Agent:
    """A subagent run as Claude Code tracks it: its id, type and transcript."""

    agent_id: str
    agent_type: str
    prompt: str
    tool_use_id: str
    tool_input: dict[str, Any] = field(default_factory=dict)
    caller: Agent | None = None
    records: list[dict[str, Any]] = field(default_factory=list)


class ClaudeSession:
    def __init__(self, project: Path, config_dir: Path) -> None:
        self.project = project
        self.session_id = str(uuid.uuid4())
        mangled = str(project).replace("/", "-").replace(" ", "-")
        self.transcripts = config_dir / "projects" / mangled
        self.transcripts.mkdir(parents=True, exist_ok=True)
        self.prompt_id: str | None = None
        self._tool_uses = 0
        self.hooks = declarations(project / ".claude" / "orchestra" / "hooks")

    # -- payloads --------------------------------------------------------------------------------
    def base(self, event: str, agent: Agent | None = None, **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "session_id": self.session_id,
            "transcript_path": str(self.transcripts / f"{self.session_id}.jsonl"),
            "cwd": str(self.project),
        }
        if self.prompt_id:
            payload["prompt_id"] = self.prompt_id
        if event not in ("SessionStart", "SubagentStart", "SessionEnd"):
            payload["permission_mode"] = "default"
        if agent is not None:
            payload.update(agent_id=agent.agent_id, agent_type=agent.agent_type)
        payload["hook_event_name"] = event
        payload.update(fields)
        return payload

    def next_tool_use_id(self) -> str:
        self._tool_uses += 1
        return f"toolu_{self._tool_uses:04d}{secrets.token_hex(6)}"

    # -- running hooks ---------------------------------------------------------------------------
    def fire(self, payload: dict[str, Any], matcher_value: str | None = None) -> list[HookRun]:
        runs = []
        for script, decl in self.hooks:
            if decl["event"] != payload["hook_event_name"] or not matches(decl.get("matcher"), matcher_value):
                continue
            proc = subprocess.run(
                ["uv", "run", "--quiet", "--script", str(self.project / ".claude/orchestra/hooks" / script)],
                input=json.dumps(payload).encode(), capture_output=True, cwd=self.project, timeout=120,
                env=project_env(self.project),
            )
            output = json.loads(proc.stdout) if proc.stdout.strip().startswith(b"{") else {}
            runs.append(HookRun(script, proc.returncode, output, proc.stderr.decode(errors="replace")))
        return runs

    def session_start(self) -> list[HookRun]:
        return self.fire(self.base("SessionStart", source="startup"), "startup")

    def user_prompt(self, prompt: str) -> list[HookRun]:
        self.prompt_id = str(uuid.uuid4())
        return self.fire(self.base("UserPromptSubmit", prompt=prompt))

    def tool_call(self, caller: Agent | None, tool: str, tool_input: dict[str, Any],
                  response: dict[str, Any] | None = None) -> tuple[list[HookRun], dict[str, Any] | None]:
        """PreToolUse, then (unless denied) the tool's effect and PostToolUse. Returns the input used."""
        use_id = self.next_tool_use_id()
        pre = self.fire(self.base("PreToolUse", caller, tool_name=tool, tool_input=tool_input,
                                  tool_use_id=use_id), tool)
        if any(run.decision in ("deny", "block") or run.code == 2 for run in pre):
            return pre, None
        for run in pre:
            tool_input = run.output.get("hookSpecificOutput", {}).get("updatedInput", tool_input)
        if tool == "Write":
            target = Path(tool_input["file_path"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(tool_input["content"], encoding="utf-8")
            response = {"type": "create", "filePath": str(target.relative_to(self.project)),
                        "content": tool_input["content"], "structuredPatch": [], "originalFile": None,
                        "userModified": False}
        if caller is not None:
            caller.records.append({"type": "assistant", "message": {"role": "assistant", "content": [
                {"type": "tool_use", "id": use_id, "name": tool, "input": tool_input}]}})
        post = self.fire(self.base("PostToolUse", caller, tool_name=tool, tool_input=tool_input,
                                   tool_response=response or {}, tool_use_id=use_id, duration_ms=12), tool)
        return pre + post, tool_input

    # -- delegation --------------------------------------------------------------------------------
    def delegate(self, caller: Agent | None, agent_type: str, description: str, prompt: str,
                 background: bool) -> tuple[list[HookRun], Agent | None]:
        """The Agent tool's PreToolUse; on allow a launched subagent (SubagentStart fired)."""
        use_id = self.next_tool_use_id()
        tool_input: dict[str, Any] = {"description": description, "prompt": prompt, "subagent_type": agent_type}
        if not background:
            tool_input["run_in_background"] = False
        pre = self.fire(self.base("PreToolUse", caller, tool_name="Agent", tool_input=tool_input,
                                  tool_use_id=use_id), "Agent")
        if any(run.decision == "deny" or run.code == 2 for run in pre):
            return pre, None
        for run in pre:
            tool_input = run.output.get("hookSpecificOutput", {}).get("updatedInput", tool_input)
        child = Agent("a" + secrets.token_hex(8), agent_type, tool_input["prompt"], use_id, tool_input, caller)
        child.records.append({"type": "user", "message": {"role": "user", "content": tool_input["prompt"]}})
        runs = list(pre)
        if background:
            runs += self._post_agent(child, {"isAsync": True, "status": "async_launched", "agentId": child.agent_id,
                                             "description": description, "prompt": tool_input["prompt"]})
        runs += self.fire(self.base("SubagentStart", child), agent_type)
        return runs, child

    def finish(self, child: Agent, final_message: str, background: bool, pushed_back: bool = False) -> list[HookRun]:
        """The subagent's last message, its transcript on disk, SubagentStop and (foreground) PostToolUse."""
        child.records.append({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "text", "text": final_message}]}})
        folder = self.transcripts / self.session_id / "subagents"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"agent-{child.agent_id}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in child.records), encoding="utf-8")
        (folder / f"agent-{child.agent_id}.meta.json").write_text(json.dumps({"toolUseId": child.tool_use_id}))
        runs = self.fire(self.base("SubagentStop", child, stop_hook_active=pushed_back, agent_transcript_path=str(path),
                                   last_assistant_message=final_message, background_tasks=[], session_crons=[]),
                         child.agent_type)
        if any(run.decision == "block" for run in runs):
            child.records.append({"type": "user", "message": {"role": "user", "content": runs[-1].reason}})
            return runs  # a pushed-back subagent keeps working; its Agent call has not returned
        if not background:
            runs += self._post_agent(child, {"status": "completed", "prompt": child.prompt, "agentId": child.agent_id,
                                             "agentType": child.agent_type,
                                             "content": [{"type": "text", "text": final_message}]})
        return runs

    def _post_agent(self, child: Agent, response: dict[str, Any]) -> list[HookRun]:
        return self.fire(self.base("PostToolUse", child.caller, tool_name="Agent", tool_input=child.tool_input,
                                   tool_response=response, tool_use_id=child.tool_use_id, duration_ms=40), "Agent")

    def stop(self) -> list[HookRun]:
        return self.fire(self.base("Stop", stop_hook_active=False, last_assistant_message="Sprint work dispatched.",
                                   background_tasks=[], session_crons=[]))

    def end(self) -> list[HookRun]:
        return self.fire(self.base("SessionEnd", reason="other"), "other")
