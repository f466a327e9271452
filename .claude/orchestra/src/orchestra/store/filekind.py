"""Which kind of store a file is, by its first bytes: a URL of the other scheme (`json://` naming the
SQLite database, say) must not have the file moved aside as damaged, its WAL left behind."""

from __future__ import annotations

from pathlib import Path

from .errors import StateError

SQLITE_HEADER = b"SQLite format 3\x00"
_KINDS = {"sqlite": ("an SQLite database", "sqlite"), "json": ("a JSON state file", "json")}


def kind_of(head: bytes) -> str | None:
    """"sqlite" or "json" when the file's first bytes say so, else None (damaged, or something else)."""
    if head.startswith(SQLITE_HEADER):
        return "sqlite"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return "json"
    return None


def check_kind(path: Path, scheme: str, head: bytes) -> None:
    """A StateError when the file is a store of the other kind than `scheme` names; it is left as it is."""
    kind = kind_of(head)
    if kind is None or kind == scheme:
        return
    raise StateError(f"{path}: this is {_KINDS[kind][0]}, not {_KINDS[scheme][0]}; left as it is. "
                     f"Name it {_KINDS[kind][1]}://{path} in ORCHESTRA_STATE_URL, or copy it over with "
                     "`orchestra state migrate`")
