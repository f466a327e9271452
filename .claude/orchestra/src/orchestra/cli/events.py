"""`orchestra events tail [-n N] [-f] [--type T]`: the state's event log, newest last, optionally followed."""

from __future__ import annotations

import sys
import time
from typing import Any

from .. import paths
from ..store import file_identity, open_store
from ..store.events import log_rewritten
from ..termtext import json_text, one_line
from ._output import add_json_flag

POLL_SECONDS = 0.25


def register(sub) -> None:
    parser = sub.add_parser("events", help="read the state's event log")
    ops = parser.add_subparsers(dest="op", metavar="OP", required=True)
    tail = ops.add_parser("tail", help="the last events; -f keeps printing new ones as they are appended")
    tail.add_argument("-n", "--lines", type=int, default=20, help="how many events to show first (default 20)")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing events as they arrive (Ctrl-C stops)")
    tail.add_argument("--type", action="append", default=[], metavar="TYPE",
                      help="only events of this type (repeatable), e.g. task_completed")
    add_json_flag(tail)
    tail.set_defaults(func=cmd_tail)


def cmd_tail(args) -> int:
    if args.lines < 0:
        raise ValueError(f"--lines {args.lines}: give 0 or a positive number of events")
    types = tuple(args.type)
    for name in types:
        _utf8_type(name)
    opened = file_identity(paths.state_url())  # before opening: a file put in place meanwhile is then noticed
    store = open_store()
    try:
        last = last_events(store, args.lines, types)
        if types and not last and args.lines:  # a typo would print nothing, and wait for ever with -f
            held = store.event_types()
            print(f"orchestra events: no event of type {', '.join(types)} in the log; it holds: "
                  f"{', '.join(held) or 'no event yet'}", file=sys.stderr)
        if args.json and not args.follow:
            sys.stdout.write(json_text(last, indent=2) + "\n")
            return 0
        for event in last:
            _print(event, args.json)
        if not args.follow:
            return 0
        after, seen = _followed_from(store, last)
        while True:
            for event in store.events_after(after, 500, types):
                _print(event, args.json)
                after, seen = event["id"], event
            time.sleep(POLL_SECONDS)
            if log_rewritten(store, seen):  # new events may take ids at or below `after`: start again
                print("orchestra events: the event log was replaced (state import); following it anew from its "
                      f"last {args.lines}", file=sys.stderr, flush=True)
                last = last_events(store, args.lines, types)
                for event in last:
                    _print(event, args.json)
                after, seen = _followed_from(store, last)
                continue
            now = file_identity(store.url)
            if now != opened:  # moved aside (unreadable?) or restored: follow the file now at the store's path
                there = now is not None
                print(f"orchestra events: the state store {store.url} was {'replaced' if there else 'moved away'}; "
                      f"following {'the new one' if there else 'the one made next'}", file=sys.stderr, flush=True)
                while now is None:
                    time.sleep(POLL_SECONDS)
                    now = file_identity(store.url)
                store.close()
                store = open_store()
                opened, after, seen = now, 0, None  # (replaced again meanwhile: the next look sees it)
    finally:
        store.close()


def _utf8_type(name: str) -> None:
    """A type holding a byte that is not UTF-8 (as Python reads one from a command line) names no event, and
    no store can look it up."""
    for index, char in enumerate(name):
        if "\udc80" <= char <= "\udcff":
            raise ValueError(f"--type {name}: character {index + 1} is the byte 0x{ord(char) - 0xdc00:02x}, "
                             "which is not UTF-8 text; give the type in UTF-8")


def last_events(store, count: int, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The last `count` events (of `types`, if given), oldest first: read back from the newest, not the whole log."""
    return store.last_events(count, types)


def _followed_from(store, shown: list[dict[str, Any]]) -> tuple[int, dict[str, Any] | None]:
    """Where following goes on after the events `shown`: the id to read after, and the event of that id
    (to tell a log replaced in place)."""
    after = shown[-1]["id"] if shown else _newest_id(store)
    found = store.events_after(after - 1, 1) if after else []
    return after, (found[0] if found and found[0]["id"] == after else None)


def _newest_id(store) -> int:
    newest = store.last_events(1)
    return newest[0]["id"] if newest else 0


def _print(event: dict[str, Any], as_json: bool) -> None:
    from ..metrics import describe_event

    if as_json:  # one object per line while following: a stream other tools can read line by line
        line = json_text(event)
    else:
        line = one_line(f"{event['id']:>6}  {event.get('ts') or '-':<24}  {event['type']:<22}  {describe_event(event)}")
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
