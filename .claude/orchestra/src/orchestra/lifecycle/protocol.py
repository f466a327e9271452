"""The text protocols of a delegation: the `[task:<id>]` tag and the member's completion report.

A delegated prompt names its task with `[task:<id>]`. A member's final message ends with
`STATUS: completed|blocked|needs_review`, optionally `ARTIFACTS: path, path` and `BLOCKER: text`
(ARCHITECTURE.md §3). Parsing is tolerant, because models write the report their own way: the
lines may sit anywhere, in any case, in Markdown (`**STATUS:** done`, a `## Status` heading with the
value below it, a `| Status | blocked |` table row, bullet lists under `ARTIFACTS:` or `BLOCKER:`,
links and backticked paths). The last STATUS line wins, because models sometimes restate the
protocol before they use it; a STATUS inside a sentence counts only when no line gives one, one
quoted or in a code block only when none outside does, and a restated template
(`completed|blocked|needs_review`) is no status.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from ..record import Record

TAG = re.compile(r"\[task:\s*([A-Za-z0-9_\-:/+@]+)\s*\]")  # ids are store path segments, any of their characters first
# Each pattern reads a run of spaces or marks with one quantifier, so a long run cannot make it backtrack.
_MARK = r"[*_`]*"  # Markdown emphasis or code around a label or a value
_LEAD = r"^[ \t>*+_`-]*"  # what may open a protocol line: indentation, a quote, a bullet, emphasis
_AFTER = r"[*_`]*(?:[ \t]*:[*_`]*)?[ \t]*"  # the rest of a label in a heading or a table cell
_WORD = r"[^\W\d_][\w-]*"  # a word that starts with a letter, in any script
_VALUE = r"[ \t*_`]*(?:[^\w\s|*_`]{1,3}[ \t*_`]*)?(" + _WORD + r"(?:[ \t]+" + _WORD + r")?)"
_NOT_TEMPLATE = r"(?![*_`]*[ \t]*[|/][ \t]*[*_`]*(?:completed|blocked|needs))"
# at the start of a line `STATUS: <value>`, a table row `| Status | <value> |` or a `## Status` heading
# with the value on the next line; else `STATUS: completed|blocked|needs_review` inside a sentence
_STATUS = re.compile(_LEAD + r"(?:(?:final|overall|task)[ \t]+)?STATUS" + _MARK + r"[ \t]*:" + _VALUE + r"\b" + _NOT_TEMPLATE + _MARK
                     + r"|^[ \t]*\|[ \t]*" + _MARK + r"STATUS" + _AFTER + r"\|" + _VALUE
                     + r"|^#{1,6}[ \t]*" + _MARK + r"STATUS" + _AFTER + r"\r?\n(?:[ \t]*\r?\n)*+" + _VALUE
                     + r"|\bSTATUS" + _MARK + r"[ \t]*:[*_`\s]*(completed|blocked|needs[ _-]review)\b" + _NOT_TEMPLATE + _MARK,
                     re.I | re.M)
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)
_STATUSES = {"completed": "completed", "complete": "completed", "done": "completed", "finished": "completed",
             "success": "completed", "successful": "completed", "succeeded": "completed",
             "blocked": "blocked", "failed": "blocked",
             "needs review": "needs_review", "needs_review": "needs_review", "needs-review": "needs_review",
             "review": "needs_review", "ready for": "needs_review"}
_UNFINISHED = re.compile(r"(?:in[ _-]progress|pending|partial|partially|incomplete|not|todo|wip|started|"
                         r"ongoing|working|planned|deferred|queued)\b", re.I)


def _field(name: str) -> re.Pattern[str]:
    """`NAME: value` (bold, quoted or bulleted), `## Name` as a heading, or a `| Name | value |` table row."""
    return re.compile(_LEAD + name + _MARK + r"[ \t]*:[*_` \t]*(.*)$"
                      + r"|^#{1,6}[ \t]*" + _MARK + name + _AFTER + r"()\r?$"
                      + r"|^[ \t]*\|[ \t]*" + _MARK + name + _AFTER + r"\|(.*?)\|",
                      re.I | re.M)


_ARTIFACTS = _field("ARTIFACTS")
_BLOCKER = _field("BLOCKER")
_FIELD_LINE = re.compile(_LEAD + r"(?:STATUS|ARTIFACTS|BLOCKER)\b|^[ \t]*[#|]", re.I)
_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+(.*)$")
_LINK = re.compile(r"\[([^\]]*)\]\(<?([^)>]*)>?\)")
_CODE = re.compile(r"`([^`]+)`")
_NOTE = re.compile(r"\s+(?:[—–-]|\(|:\s)")  # "path — what it is", "path (new)"
# "none", "N/A", "None (only with STATUS: blocked)", "No blockers.", "-": nothing to report
_NONE = re.compile(r"\(?(?:none|n/?a|nothing|not applicable|no blockers?)\)?[.!]*(?:[\s,;:(—–-].*)?|[-—–]*",
                   re.I | re.S)


def task_tag(*texts: str | None) -> str | None:
    """The task id named by the first `[task:<id>]` in the given texts (prompt, then description)."""
    for text in texts:
        if text and (match := TAG.search(text)):
            return match.group(1)
    return None


def tag(task_id: str) -> str:
    return f"[task:{task_id}]"


class Report(Record):
    """What a member said when it stopped. `status` is None when no STATUS names a known outcome;
    `stated` is then the value the STATUS gave, if any (`in progress`, `failed`...)."""

    status: str | None
    artifacts: tuple[str, ...]
    blocker: str | None
    text: str
    stated: str | None = None

    @property
    def unfinished(self) -> bool:
        """The STATUS says the work is not done (`in progress`, `pending`, `partial`, `not completed`)."""
        return bool(self.stated and _UNFINISHED.match(self.stated))

    @property
    def summary(self) -> str:
        """The report without its protocol lines, trimmed: what the member says it did."""
        body = _STATUS.sub("", self.text)
        body = _ARTIFACTS.sub("", body)
        body = _BLOCKER.sub("", body)
        return " ".join(body.split())[:500]


def _status(text: str) -> tuple[str | None, str | None]:
    """The last known outcome a STATUS line names, else (None, the last value a STATUS line gave).
    A STATUS inside a sentence counts only when no line gives one, and one quoted (a `>` line) or
    inside a code block (a quoted log, `kubectl` output) only when none outside does."""
    fences = [m.start() for m in _FENCE.finditer(text)] if "```" in text or "~~~" in text else []
    known: dict[int, str] = {}  # rank (lower wins) -> the last outcome of that rank
    stated: dict[bool, str] = {}
    for match in _STATUS.finditer(text):
        value = " ".join(next(g for g in match.groups() if g is not None).lower().split())
        outcome = _STATUSES.get(value) or _STATUSES.get(value.split()[0])
        line = text.rfind("\n", 0, match.start()) + 1
        fenced = bisect_right(fences, match.start()) % 2 == 1 or text[line:line + 40].lstrip().startswith(">")
        if outcome:
            known[2 * fenced + (match.group(4) is not None)] = outcome
        else:
            stated[fenced] = value
    if known:
        return known[min(known)], None
    return None, stated.get(False) or stated.get(True)


def _values(text: str, pattern: re.Pattern[str]) -> list[tuple[list[str], bool]]:
    """Each occurrence of a field: its inline value, else the bullet list or paragraph under it."""
    found = []
    for match in pattern.finditer(text):
        inline = next((g for g in match.groups() if g is not None), "")[:1000].strip().strip("*_").strip()
        if inline:
            found.append(([inline], False))
            continue
        items: list[tuple[str, bool]] = []
        for line in _lines_after(text, match.end()):
            if not line.strip():
                if items:
                    break
                continue
            bullet = _ITEM.match(line)
            if _FIELD_LINE.match(line) or (items and items[0][1] and not bullet):
                break  # the next protocol line or heading, or the end of the list
            items.append((bullet.group(1).strip() if bullet else line.strip(), bool(bullet)))
        found.append(([item for item, _ in items], any(bullet for _, bullet in items)))
    return found


def _lines_after(text: str, pos: int, limit: int = 50, width: int = 1000):
    """Up to `limit` lines after `pos` (each cut to `width` characters), read without copying the rest."""
    start = text.find("\n", pos) + 1
    for _ in range(limit):
        if not start:
            return
        end = text.find("\n", start)
        yield text[start:end if end != -1 else len(text)][:width]
        start = end + 1


def _path(item: str) -> str:
    """A listed artifact as a path: a Markdown link's target, a backticked path, or the text before a note."""
    if link := _LINK.search(item):
        target = link.group(2).strip()
        item = target.removeprefix("file://") if target and "://" not in target.replace("file://", "") else link.group(1)
    elif code := _CODE.search(item):
        item = code.group(1)
    else:
        item = _NOTE.split(item.strip("*_ \t"), 1)[0]
    return item.strip().strip("`'\"*_").strip()


def parse_report(text: str | None) -> Report:
    text = text or ""
    status, stated = _status(text)
    artifacts: list[str] = []
    for items, _ in _values(text, _ARTIFACTS):
        for entry in items:
            links = ["[{}]({})".format(*link) for link in _LINK.findall(entry)]
            for item in links or entry.split(","):
                item = _path(item)
                if not _NONE.fullmatch(item) and item not in artifacts:
                    artifacts.append(item)
    blockers = [("; " if bulleted else " ").join(items).strip() for items, bulleted in _values(text, _BLOCKER)]
    blockers = [b for b in blockers if not _NONE.fullmatch(b)]
    return Report(status, tuple(artifacts), blockers[-1] if blockers else None, text, stated)
