"""`orchestra state migrate --to URL`: copy the whole state into another store and prove nothing was lost.

The source is held in a write transaction for the whole copy (hooks wait, none writes in
between), the target is filled through `import_document` (one transaction: all or nothing) and read
back in that transaction, so a session already pointed at the target neither is overwritten nor
spoils the check: every part of the document must come back with the same number of records and
the same SHA-256 of its JSON, or the command fails, says which parts differ, and (SQLite,
PostgreSQL) leaves the target as it was. The source is left as it was; switching machines over
(ORCHESTRA_STATE_URL) is the user's step.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import partial
from pathlib import Path
from typing import Any

from .. import paths
from ..store import StateError, open_store, same_store
from ..store.document import (
    COLLECTIONS,
    KINDS,
    TOP_LEVEL,
    collections_under,
    empty_document,
    is_segment,
    long_id,
)
from ..store.postgres import redacted
from . import UsageError
from ._output import add_json_flag, emit, table


def add_to(ops) -> None:
    """Add `migrate` to the `orchestra state` subcommands."""
    migrate = ops.add_parser("migrate", help="copy the whole state into another store (e.g. postgresql://...) "
                                             "and verify counts and checksums")
    migrate.add_argument("--to", required=True, metavar="URL", help="the store to fill")
    migrate.add_argument("--from", dest="source", metavar="URL",
                         help="the store to copy (default: ORCHESTRA_STATE_URL, or the project's SQLite file "
                              "when that is unset or names the target)")
    migrate.add_argument("--force", action="store_true", help="replace whatever the target already holds")
    add_json_flag(migrate)
    migrate.set_defaults(func=cmd_migrate)


def inventory(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each part of a state document: how many records it holds and the SHA-256 of its JSON."""
    parts: dict[str, Any] = {collection: _at(doc, collection) for collection in COLLECTIONS}
    parts["events"] = doc["observability"]["events"]
    for top in TOP_LEVEL[1:]:
        if top not in COLLECTIONS:
            nested = {c.split(".", 1)[1] for c in collections_under(top)} | ({"events"} if top == "observability" else set())
            parts[top] = {k: v for k, v in doc[top].items() if k not in nested}
    return {name: {"records": len(value),
                   "sha256": hashlib.sha256(json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                                            .encode("utf-8")).hexdigest()}
            for name, value in parts.items()}


def _at(doc: dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        doc = doc[key]
    return doc


def _default_source(target: str) -> str:
    """ORCHESTRA_STATE_URL, unless it already names the target: then the checkout has just been pointed
    at the new store (README: export the URL, then migrate), and its state is still in the SQLite file."""
    url = paths.state_url()
    if os.environ.get(paths.STATE_URL_ENV) and same_store(url, target):
        return f"sqlite://{os.path.abspath(paths.state_dir() / 'orchestration.db')}"
    return url


def cmd_migrate(args) -> int:
    source_url = args.source or _default_source(args.to)
    if same_store(source_url, args.to):
        raise UsageError(f"--to names the store being copied ({redacted(args.to)} is {redacted(source_url)}); "
                         "give another URL")
    _refuse_other_files(args.to)
    # A missing source is an error, not an empty store to copy over the target, which is made only once the
    # source is found. A target server is connected to before the source's writers are held up: they wait
    # for the copy alone, not for a server that is slow to answer or down.
    with open_store(source_url, create=False) as source:
        source.get("schema_version")
        with open_store(args.to) as target:
            reached = target.reaches() if hasattr(target, "reaches") else None
            if reached is not None and hasattr(source, "reaches") and source.reaches() == reached:
                raise UsageError(f"--to names the store being copied ({redacted(args.to)} reaches the same server, "
                                 f"database and schema as {redacted(source_url)}); give another URL")
            parts = _copy(args, source, target, source_url)
    report = {"from": redacted(source_url), "to": redacted(args.to), "verified": True, "parts": parts}
    emit(report, args.json, _text)
    return 0


def _copy(args, source, target, source_url: str) -> dict[str, dict[str, Any]]:
    """Copy the source, held in a write transaction, into the target and verify it there; its inventory."""
    with source.transaction() as tx:
        doc = tx.get("")
        _refuse_unstorable_ids(source_url, doc)
        # Checked and verified in the import's own transaction, so what a hook writes there meanwhile is
        # refused, not wiped, and comes after the check; --force replaces it unread (a JSON file edited into
        # a bad entry too).
        expected = inventory(doc)
        target.import_document(doc, check_current=None if args.force else partial(_refuse_held, args.to),
                               verify=partial(_verify, args.to, expected))
    return expected


def _refuse_unstorable_ids(url: str, doc: dict[str, Any]) -> None:
    """An id a store took before ids were checked as they are now (longer than the limit, or holding a dot,
    which an import took) is copied nowhere: the target would refuse it (PostgreSQL could not index a long one)."""
    for collection in COLLECTIONS:
        for entity_id in _at(doc, collection) or {}:
            why = long_id(entity_id, KINDS[collection]) or (
                None if is_segment(entity_id) else f"key {entity_id!r} is not an id (letters, digits, _ - : @ / +)")
            if why:
                raise StateError(f"{redacted(url)}: {collection}: {why}, so nothing was copied; give it another "
                                 "id in an export of this store (`orchestra state export > state.json`, edit, "
                                 "`orchestra state import state.json`) and migrate again")


def _verify(url: str, expected: dict[str, dict[str, Any]], copied: dict[str, Any]) -> None:
    found = inventory(copied)
    differing = [name for name in expected if expected[name] != found.get(name)]
    if differing:
        raise StateError(f"{redacted(url)}: the copy differs from the source in {', '.join(differing)}; "
                         f"the source is unchanged, do not switch to the target")


def _refuse_held(url: str, current: dict[str, Any]) -> None:
    empty = inventory(empty_document())
    held = {name: part["records"] for name, part in inventory(current).items() if part != empty[name]}
    if held:
        what = ", ".join(f"{count} {name}" for name, count in held.items())
        raise UsageError(f"{redacted(url)} already holds state ({what}); use --force to replace it, or pick an "
                         "empty store")


def _refuse_other_files(url: str) -> None:
    """A target file that is not a store of its URL's kind (an export given as sqlite://, a typo naming
    another file) is refused untouched: opening it would move it aside as a damaged store."""
    scheme, _, rest = url.partition("://")
    path = Path("/" + rest.lstrip("/"))
    if scheme not in ("sqlite", "json") or not rest.startswith("/") or not path.is_file() or not path.stat().st_size:
        return
    with path.open("rb") as file:
        head = file.read(4096)
    if scheme == "sqlite" and head[:16] != b"SQLite format 3\x00":
        kind = "an SQLite database"
    elif scheme == "json" and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b""):
        kind = "a JSON state file"
    else:
        return
    raise UsageError(f"--to names {path}, which is not {kind}; nothing was written or moved. "
                     "Name a new file or an existing store")


def _text(report: dict[str, Any]) -> str:
    rows = [[name, str(part["records"]), part["sha256"][:16]] for name, part in report["parts"].items()]
    return "\n".join([
        f"copied {report['from']} -> {report['to']}",
        table(rows, ["PART", "RECORDS", "SHA-256"]),
        "verified: every part has the same records and checksum in both stores; the source is unchanged.",
        f"Use it on every machine: ORCHESTRA_STATE_URL={report['to']}",
    ])
