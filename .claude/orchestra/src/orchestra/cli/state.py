"""`orchestra init` and `orchestra state get|set|export|import` (`state migrate` lives in migrate.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import paths
from ..store import StateError, open_store, same_store
from ..store.rules import MAX_DEPTH, unique_keys
from . import UsageError, migrate
from ._output import add_json_flag, emit, printable


def register(sub) -> None:
    init = sub.add_parser("init", help="create the state store (idempotent)")
    init.add_argument("--url", help="state URL (default: ORCHESTRA_STATE_URL or the project's SQLite file)")
    init.set_defaults(func=cmd_init)

    state = sub.add_parser("state", help="read and change the shared state document")
    ops = state.add_subparsers(dest="op", metavar="OP", required=True)
    get = ops.add_parser("get", help="print the value at a dotted path (the whole document without one)")
    get.add_argument("path", nargs="?", default="")
    add_json_flag(get)
    get.set_defaults(func=cmd_get)
    put = ops.add_parser("set", help="set the value at a dotted path to a JSON value")
    put.add_argument("path")
    put.add_argument("value", help="a JSON value, e.g. '\"done\"' or '{\"title\": \"x\"}'")
    put.set_defaults(func=cmd_set)
    export = ops.add_parser("export", help="print the whole document (same shape on every backend)")
    export.set_defaults(func=cmd_export)
    imp = ops.add_parser("import", help="replace the whole state with a JSON document (file or - for stdin)")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)
    migrate.add_to(ops)


def cmd_init(args) -> int:
    paths.ensure_state_dir()
    with open_store(args.url) as store:
        store.get("schema_version")
        print(f"state ready: {getattr(store, 'where', store.url)}")  # a server's URL without its password
    if args.url and not same_store(args.url, paths.state_url()):
        from ..store.pgurl import redacted

        print(f"Orchestra uses {redacted(paths.state_url())} here: set ORCHESTRA_STATE_URL to this URL where the hooks, the "
              "MCP server and the commands run (the environment Claude Code starts in) for them to use it")
    return 0


def cmd_get(args) -> int:
    with open_store() as store:
        value = store.get(args.path)
    if isinstance(value, str) and not args.json:
        print(printable(value))  # as written, but for what a terminal would act on; --json keeps it all
    else:
        emit(value, True)  # JSON, so null/true/1.5 print as JSON rather than as Python
    return 0


def parse_json_value(text: str, where: str):
    for index, char in enumerate(text):
        if "\udc80" <= char <= "\udcff":  # how Python reads a byte of a command line that is not UTF-8
            raise UsageError(f"{where}: character {index + 1} of the value is the byte 0x{ord(char) - 0xdc00:02x}, "
                             "which is not UTF-8 text; give the value in UTF-8")
    try:
        return json.loads(text, object_pairs_hook=unique_keys)
    except StateError as exc:
        raise UsageError(f"{where}: {exc}") from None
    except RecursionError:
        raise UsageError(f"{where}: nested deeper than {MAX_DEPTH} levels, which the state does not hold") from None
    except ValueError as exc:
        raise UsageError(f"{where}: not a JSON value ({exc}); strings need quotes, e.g. '\"done\"'") from None


def cmd_set(args) -> int:
    value = parse_json_value(args.value, args.path)
    from ..validation import ready, validate_change

    ready()
    watched = args.path.split(".", 1)[0] in ("tasks", "sprints")
    with open_store() as store, store.transaction() as tx:
        if watched:
            from ..workflow.moves import check_membership_kept, membership

            before = membership(tx)
        tx.set(args.path, value)
        validate_change(tx, args.path)
        if watched:
            check_membership_kept(before, tx, args.path)
    return 0


def cmd_export(args) -> int:
    with open_store() as store:
        emit(store.export(), True)
    return 0


def cmd_import(args) -> int:
    text = _text(sys.stdin.buffer.read(), "-") if args.file == "-" else _read(Path(args.file))
    doc = parse_json_value(text, args.file)
    from ..store.import_check import checked_document
    from ..validation import validate_document

    try:
        doc = checked_document(doc)  # migrated forward first: the schema describes the current version
    except StateError as exc:
        raise StateError(f"{args.file}: {exc}") from None
    validate_document(doc, args.file)
    with open_store() as store:
        store.import_document(doc)
    return 0


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    return _text(data, str(path))


def _text(data: bytes, where: str) -> str:
    """The document's text; a byte order mark first (as Windows editors write) is no part of it, as in a state file."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
