"""The status line: Claude Code's statusLine JSON in, one line out — team, epic, sprint, task counts,
coverage when reported, a dot per live agent run; a short line when there is no state yet.

It runs after every assistant message, so its path is short: stdlib (not even `typing`), `paths`,
`current`, `tally` and `quality`. On the default SQLite store it reads the rows directly through a read-only connection
(`SqliteRows`), skipping the store package's imports, which cost more than the whole read; any other
backend goes through the store. It never creates, migrates or quarantines state and never fails loudly:
whatever goes wrong, it prints a short line that says so. Text from state is printed without control
characters, so a name cannot move the cursor, recolour the terminal or start a second line.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

from .. import paths
from .current import current_sprint
from .quality import latest_coverage
from .tally import CARRIED_OVER, carried_out, glance, reopened, tally, waiting_status

LIVE_RUNS = ("launched", "active")  # lifecycle.transitions.LIVE_RUN_STATUSES (not imported: it pulls models)
MAX_DOTS = 10
# store/sqlite.py's layout: `entities(collection, id, data)` rows, PRAGMA user_version = store.document.SCHEMA_VERSION
SQLITE_SCHEMA_VERSION = 1
MAX_NAME = 40  # characters of a team, epic or sprint name: the line stays one row, whatever a name holds
# ANSI/OSC escape sequences whole, then any other C0/C1 control character (newlines included), the line and
# paragraph separators, and the bidirectional overrides and isolates (they would show the rest of the line reversed)
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x1f\x7f-\x9f\u2028\u2029]"
                      r"|[\u202a-\u202e\u2066-\u2069]")
_BREAKS = "\n\r\t\x85\u2028\u2029"  # each a space: the words either side stay apart


class Unreadable(Exception):
    """The store is there, but the status line cannot read it without changing it; the message says why."""


class SqliteRows:
    """The two reads `summary` makes (`items`, `find` by equality, None matching a missing or null key), on a
    read-only SQLite connection."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def items(self, collection: str) -> dict[str, dict[str, object]]:
        rows = self.conn.execute("SELECT id, data FROM entities WHERE collection=?", (collection,))
        return {row[0]: json.loads(row[1]) for row in rows}

    def find(self, collection: str, **equals: object) -> list[dict[str, object]]:
        where = "".join(f" AND json_extract(data, '$.{key}')" + (" IS NULL" if value is None else "=?")
                        for key, value in equals.items())
        rows = self.conn.execute(f"SELECT data FROM entities WHERE collection=?{where} ORDER BY id",
                                 (collection, *(value for value in equals.values() if value is not None)))
        return [json.loads(row[0]) for row in rows]


def sqlite_summary(path: str) -> dict[str, object] | None:
    """`summary` read straight from an SQLite store file; None when the file holds no store yet (empty).
    A file of another schema version is Unreadable: migrating it is for a command, not for this line."""
    import sqlite3

    conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=2)
    try:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.OperationalError:
            if not _read_only_disk(path):
                raise
            conn.close()  # SQLite cannot make the WAL's index there: read the file as it stands
            conn = sqlite3.connect(f"file:{quote(path)}?{_read_only_mode(path)}", uri=True, timeout=2)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SQLITE_SCHEMA_VERSION:
            if not version and not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
                return None
            raise Unreadable(f"schema version {version}, expected {SQLITE_SCHEMA_VERSION}; "
                             "any orchestra command upgrades it" if version < SQLITE_SCHEMA_VERSION else
                             f"schema version {version} is newer than this Orchestra")
        conn.execute("BEGIN")  # one consistent read of the three queries
        return summary(SqliteRows(conn))
    finally:
        conn.close()


def _read_only_disk(path: str) -> bool:
    try:
        return bool(os.statvfs(os.path.dirname(path) or ".").f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _read_only_mode(path: str) -> str:
    """As the store opens a file on a read-only disk: immutable when no WAL holds pages yet."""
    wal = f"{path}-wal"
    return "mode=ro" if os.path.isfile(wal) and os.path.getsize(wal) else "immutable=1"


def summary(tx) -> dict[str, object]:
    """What the line shows, read from one snapshot."""
    sprint = current_sprint(tx.items("sprints"))
    tasks = tx.find("tasks", sprint=sprint["id"]) if sprint else []
    runs = [r for status in LIVE_RUNS for r in tx.find("agents", status=status)]
    counts = glance(tally(counted_tasks(tx, sprint, tasks), carried_out(sprint))) if sprint else glance({})
    teams = [r.get("team") for r in runs if r.get("team")] or [t.get("team") for t in tasks if t.get("team")]
    return {
        "sprint": sprint and {"id": sprint["id"], "name": sprint.get("name"), "status": sprint.get("status"),
                              "epic": sprint.get("epic")},
        "team": max(sorted(set(teams)), key=teams.count) if teams else None,
        "counts": counts,
        "coverage": latest_coverage(tasks),
        "agents": [{"id": r.get("id"), "agent_type": r.get("agent_type"), "status": r.get("status")} for r in runs],
    }


def counted_tasks(tx, sprint: dict[str, object], tasks: list[dict[str, object]]) -> list[dict[str, object]]:
    """The tasks `sprint status` counts (`workflow.view.sprint_view`): `tasks`, the sprint's in state, once it
    started; before that (or reopened), the tasks its file listed when it was loaded, each queued or with its
    status in state (work carried over from an earlier sprint: `tally.waiting_status`), and, reopened, the
    finished work it keeps. Work a closed sprint carried out is not among them: it counts as carried over."""
    if (tasks or sprint.get("started_at")) and not reopened(sprint):
        return tasks
    listed = sprint.get("tasks") if isinstance(sprint.get("tasks"), list) else []
    known = {t.get("id"): t for t in tx.find("tasks", sprint=None)} | {t.get("id"): t for t in tasks}
    kept = [t for t in tasks if t.get("id") not in listed and t.get("status") in ("completed", "cancelled")]
    return [{"id": tid, **waiting_status(known.get(tid), sprint["id"])} for tid in listed] + kept


class Style:
    """ANSI colours, or none (NO_COLOR set, or asked for plain text)."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text


def clean(value: object) -> str:
    """`value` (text or a number; nothing else) as printable text: no escape sequences, no control
    characters (a newline becomes a space)."""
    text = str(value) if isinstance(value, str | int | float) else ""
    return _CONTROL.sub(lambda m: " " if m.group() in _BREAKS else "", text).strip()


def name(value: object) -> str:
    """`clean(value)` cut to MAX_NAME characters."""
    text = clean(value)
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - 1] + "…"


def _field(mapping: object, *keys: str) -> object:
    """`mapping[k1][k2]...`, or None where a level is missing or not a mapping (input from outside)."""
    for key in keys:
        mapping = mapping.get(key) if isinstance(mapping, dict) else None
    return mapping


def render(data: dict[str, object] | None, session: dict[str, object], *, color: bool = True, note: str = "",
           width: int | None = None) -> str:
    """The line for `data` (a `summary`, or None without state) and Claude Code's `session` input. Given
    `width` (the terminal's columns), a line too wide is made shorter until it fits: the counts without
    their words, then without team and epic, then without the model, then cut (ending in …)."""
    style = Style(color)
    model = name(_field(session, "model", "display_name"))
    for level in range(4):
        segments = _segments(data, model, note, level)
        if not width or cells("".join(text for text, _ in segments)) <= width:
            break
    else:
        segments = _cut(segments, width)
    return "".join(style(text, code) if code else text for text, code in segments)


def _segments(data: dict[str, object] | None, model: str, note: str, level: int) -> list[tuple[str, str]]:
    """The line as (text, colour) pieces; `level` 0 is the whole line, each level above a shorter one."""
    head = [(f"[{model}]", "2"), (" ", "")] if model and level < 3 else []
    if data is None or data["sprint"] is None:
        return [*head, ("orchestra", "1;36"), (" ", ""), (clean(note) or "no sprint in progress", "")]
    sprint, counts = data["sprint"], data["counts"]
    names = (data["team"], sprint["epic"], sprint["id"]) if level < 2 else (sprint["id"],)
    where = " › ".join(p for p in map(name, names) if p)
    if sprint["status"] not in ("active", None):
        where += f" ({name(sprint['status'])})"
    short = level > 0
    parts = [(where, "1;36"),
             (f"▶{counts['active']}" if short else f"▶ {counts['active']} active", "33" if counts["active"] else "2"),
             (f"{counts['queued']} queued", ""),
             (f"✓{counts['done']}" if short else f"✓ {counts['done']} done", "32"),
             (f"✖{counts['blocked']}" if short else f"✖ {counts['blocked']} blocked", "31" if counts["blocked"] else "2")]
    if counts.get(CARRIED_OVER):  # work a closed sprint did not finish: it left the sprint, it is not queued in it
        parts.append((f"↪{counts[CARRIED_OVER]}" if short else f"↪ {counts[CARRIED_OVER]} carried over", "35"))
    if data["coverage"] is not None:
        parts.append((f"cov {data['coverage']:g}%", ""))
    agents = data["agents"]
    if agents:
        dots = "●" * min(len(agents), MAX_DOTS) + (f"+{len(agents) - MAX_DOTS}" if len(agents) > MAX_DOTS else "")
        parts.append((dots, "32"))
    separator = (" " if short else " · ", "")
    return head + [piece for part in parts for piece in (separator, part)][1:]


def cells(text: str) -> int:
    """The terminal columns `text` takes: a wide character two, a combining mark or format character none."""
    import unicodedata

    return sum(0 if unicodedata.combining(ch) or unicodedata.category(ch) == "Cf" else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(segments: list[tuple[str, str]], width: int) -> list[tuple[str, str]]:
    """`segments` cut to `width` columns, the last one ending in …."""
    kept: list[tuple[str, str]] = []
    room = width - 1  # the ellipsis
    for text, code in segments:
        for i, ch in enumerate(text):
            room -= cells(ch)
            if room < 0:
                return [*kept, (text[:i] + "…", code)]
        kept.append((text, code))
    return kept


def columns() -> int | None:
    """The terminal's width Claude Code gives the status line in COLUMNS (2.1.153 and later), if any."""
    value = os.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def _project(session: dict[str, object]) -> Path:
    if os.environ.get(paths.PROJECT_ENV):
        return paths.project_root()
    project_dir = _field(session, "workspace", "project_dir")
    if isinstance(project_dir, str) and project_dir:
        return paths.owning_project(Path(project_dir))  # a session started in a task's worktree: the project
    return paths.project_root(session.get("cwd") if isinstance(session.get("cwd"), str) else None)


def _state_missing(url: str) -> bool:
    """A file-backed store that was never created (the status line must not create it)."""
    scheme, _, rest = url.partition("://")
    return scheme in ("sqlite", "json") and not Path(rest).exists()


def read(url: str) -> dict[str, object] | None:
    """The summary, None when there is no state yet; Unreadable (or the store's error) when it cannot be read."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        return sqlite_summary(rest)
    if scheme == "json":  # the store would move an unparseable file aside: that is for a command to do
        raw = Path(rest).read_bytes()
        if not raw.strip():
            return None
        try:
            json.loads(raw)
        except (ValueError, RecursionError):
            raise Unreadable("not valid JSON") from None
    if scheme in ("postgresql", "postgres"):
        from ..store.postgres import PostgresStore

        # One try: Claude Code cancels a run that a newer one overtakes (every refresh), so waiting through
        # three attempts at a server that is down would leave the last good line up, saying nothing.
        with PostgresStore(url, create=False, attempts=1) as store, store.snapshot() as tx:
            return summary(tx)
    from ..store import open_store

    with open_store(url, create=False) as store, store.snapshot() as tx:
        return summary(tx)


def _reason(exc: Exception) -> str:
    """What went wrong in a few words: the error's first line without the store's path or URL in front
    (`file is not a database`, `database is locked`), cut to MAX_NAME; its class when it says nothing."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else clean(str(exc).partition("\n")[0])
    where, colon, rest = text.partition(": ")
    if colon and ("/" in where or "://" in where):
        text = rest
    return name(text) or exc.__class__.__name__


def line(session: dict[str, object], *, color: bool = True, width: int | None = None) -> str:
    try:
        url = paths.state_url(_project(session))
        if _state_missing(url):
            return render(None, session, color=color, note="no state yet", width=width)
        data = read(url)
    except Unreadable as exc:
        return render(None, session, color=color, note=f"state unreadable ({exc})", width=width)
    except Exception as exc:  # noqa: BLE001 - a status line shows a problem, it does not crash on it
        return render(None, session, color=color, note=f"state unreadable ({_reason(exc)})", width=width)
    return render(data, session, color=color, note="" if data else "no state yet", width=width)


def main() -> None:
    try:
        session = json.loads(sys.stdin.read() or "{}")
    except ValueError:
        session = {}
    if not isinstance(session, dict):
        session = {}
    text = line(session, color=not os.environ.get("NO_COLOR"), width=columns()) + "\n"
    sys.stdout.buffer.write(text.encode())  # UTF-8, as Claude Code reads it, whatever the locale's charset
    sys.stdout.flush()
