"""The text protocols of a delegation: the `[task:<id>]` tag and the member's completion report.

A delegated prompt names its task with `[task:<id>]`. A member's final message ends with
`STATUS: completed|blocked|needs_review`, optionally `ARTIFACTS: path, path` and `BLOCKER: text`
(ARCHITECTURE.md §3). Parsing is tolerant: the lines may sit anywhere, in any case, and the last
occurrence wins, because models sometimes restate the protocol before they use it.
"""

from __future__ import annotations

import re

from ..record import Record

TAG = re.compile(r"\[task:\s*([A-Za-z0-9][A-Za-z0-9_\-:/+@]*)\s*\]")  # ids are store path segments
_STATUS = re.compile(r"\bSTATUS:\s*\**\s*(completed|blocked|needs[_ ]review)\b", re.I)
_ARTIFACTS = re.compile(r"^[\s*>-]*ARTIFACTS:[ \t]*(.*)$", re.I | re.M)
_BLOCKER = re.compile(r"^[\s*>-]*BLOCKER:[ \t]*(.*)$", re.I | re.M)
_NONE = {"", "none", "n/a", "-", "(none)"}


def task_tag(*texts: str | None) -> str | None:
    """The task id named by the first `[task:<id>]` in the given texts (prompt, then description)."""
    for text in texts:
        if text and (match := TAG.search(text)):
            return match.group(1)
    return None


def tag(task_id: str) -> str:
    return f"[task:{task_id}]"


class Report(Record):
    """What a member said when it stopped. `status` is None when the STATUS line is missing."""

    status: str | None
    artifacts: tuple[str, ...]
    blocker: str | None
    text: str

    @property
    def summary(self) -> str:
        """The report without its protocol lines, trimmed: what the member says it did."""
        body = _STATUS.sub("", self.text)
        body = _ARTIFACTS.sub("", body)
        body = _BLOCKER.sub("", body)
        return " ".join(body.split())[:500]


def parse_report(text: str | None) -> Report:
    text = text or ""
    statuses = _STATUS.findall(text)
    status = statuses[-1].lower().replace(" ", "_") if statuses else None
    artifacts: list[str] = []
    for line in _ARTIFACTS.findall(text):
        for item in re.split(r"[,\n]", line):
            item = item.strip().strip("`'\"").strip()
            if item.lower() not in _NONE and item not in artifacts:
                artifacts.append(item)
    blockers = [b.strip() for b in _BLOCKER.findall(text) if b.strip().lower() not in _NONE]
    return Report(status, tuple(artifacts), blockers[-1] if blockers else None, text)
