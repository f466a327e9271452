"""Reading a finished subagent's own transcript: its prompt, the files it wrote, its last words.

Claude Code 2.1.328 writes `<session>/subagents/agent-<id>.jsonl` (one JSON record per line:
`type` user/assistant/attachment, `message.content` as a string or content blocks) and, beside
it, `agent-<id>.meta.json` with the `toolUseId` of the Agent call that launched it (both seen in
a captured run; the meta file exists by SubagentStop, not yet at SubagentStart). SubagentStop
re-derives artifacts from here, so an async PostToolUse hook that was dropped loses nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..record import Record, default
from ..wellformed import may_hold_surrogates, mended

WRITE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}
MAX_BYTES = 64 * 1024 * 1024


class Transcript(Record, frozen=False):
    prompt: str | None = None
    writes: list[str] = default(list)  # absolute paths of successful file writes, in order
    last_text: str | None = None
    tool_use_id: str | None = None  # from the meta file
    found: bool = False
    turns: int = 0  # user and assistant records: grows when the agent is resumed (SendMessage) and goes on


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return []


def read(path: str | Path | None) -> Transcript:
    """Everything we use from one subagent transcript; an empty result when it is missing or unreadable."""
    out = Transcript()
    if not path or not isinstance(path, str | Path):  # a field Claude Code left out, or one of another type
        return out
    path = Path(path)
    out.tool_use_id = _meta_tool_use_id(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            return out
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return out
    out.found = True
    attempted: dict[str, str] = {}
    failed: set[str] = set()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn last line while the file is still being written
        if may_hold_surrogates(line):  # half an emoji, written by Claude Code as a lone surrogate escape
            record = mended(record)
        message = record.get("message") if isinstance(record, dict) else None
        if not isinstance(message, dict) or record.get("type") not in ("user", "assistant"):
            continue
        out.turns += 1
        content = message.get("content")
        if record["type"] == "user":
            if out.prompt is None:
                out.prompt = "\n".join(_texts(content))
            for block in content if isinstance(content, list) else ():
                if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error"):
                    failed.add(str(block.get("tool_use_id")))
            continue
        for block in content if isinstance(content, list) else ():
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and block.get("name") in WRITE_TOOLS:
                target = (block.get("input") or {}).get(WRITE_TOOLS[block["name"]])
                if isinstance(target, str) and target:
                    attempted[str(block.get("id"))] = target
        texts = [t for t in _texts(content) if t.strip()]
        if texts:
            out.last_text = texts[-1]
    out.writes = list(dict.fromkeys(p for use_id, p in attempted.items() if use_id not in failed))
    return out


def launch_id(session_transcript: str | None, agent_id: str) -> str | None:
    """While subagent `agent_id` runs, the `toolUseId` of the Agent call that launched it, from the meta file beside
    its transcript (`<session transcript without .jsonl>/subagents/agent-<id>.meta.json`: there by the time
    Claude Code compacts that run's context, seen in a captured run)."""
    if not session_transcript or not session_transcript.endswith(".jsonl"):
        return None
    return _meta_tool_use_id(Path(session_transcript[: -len(".jsonl")]) / "subagents" / f"agent-{agent_id}.jsonl")


def _meta_tool_use_id(path: Path) -> str | None:
    meta = path.with_name(path.name[: -len(".jsonl")] + ".meta.json") if path.name.endswith(".jsonl") else None
    try:
        value = json.loads(meta.read_text(encoding="utf-8")).get("toolUseId") if meta else None
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def caller_transcript(session_transcript: str | None, caller: str) -> str | None:
    """The transcript of the agent making a tool call: the session's for the main thread, else the calling
    subagent's own, beside it (`<session>/subagents/agent-<id>.jsonl`)."""
    if not session_transcript or caller == "main":
        return session_transcript or None
    if not session_transcript.endswith(".jsonl"):
        return None
    return str(Path(session_transcript[: -len(".jsonl")]) / "subagents" / f"agent-{caller}.jsonl")


def refused_calls(path: str | None, tool_use_ids: set[str]) -> set[str]:
    """Which of the tool calls `tool_use_ids` came back as errors in the transcript at `path`: calls a
    permission rule, the user or another hook refused, or that failed before they did anything."""
    if not path or not tool_use_ids:
        return set()
    wanted = [i.encode() for i in tool_use_ids]
    try:
        with open(path, "rb") as handle:  # streamed: a long session's transcript is never held whole
            lines = [line for line in handle if any(i in line for i in wanted)]
    except (OSError, ValueError):
        return set()
    refused = set()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        message = record.get("message") if isinstance(record, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error") \
                    and block.get("tool_use_id") in tool_use_ids:
                refused.add(block["tool_use_id"])
    return refused
