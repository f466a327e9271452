"""One asyncio server for the dashboard: the static page and `/api/snapshot` over HTTP, and `/ws`, a
WebSocket that gets the whole dashboard state on connect and again after every change.

Changes are found by polling (every POLL_SECONDS): new events since the last id seen, new
audit-log lines, and, on the file backends, a change to the store's file (a write that leaves no
event: `state set`, `state import`). That is cheap, needs nothing from the hooks, and works on every
store backend; on PostgreSQL the wait between looks ends early when an event commits
(`store.wait_for_events`). A store that cannot be read, or whose file is gone (moved aside as
corrupt), is shown on the page as a problem over the last state read; an SQLite file replaced by
another is opened afresh. All store access runs on one worker thread (an SQLite connection belongs
to its thread).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import mimetypes
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .. import paths
from ..metrics.auditlog import AuditWindow
from ..store import file_identity
from ..store.events import log_rewritten
from . import access, snapshot

STATIC = Path(__file__).with_name("static")
POLL_SECONDS = 0.25
REFRESH_SECONDS = 30.0  # rebuild now and then even when nothing changed: ages and the forecast move on
EVENT_PAGE = 500
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}


class Dashboard:
    """The dashboard of one project. `await start()`, then `url`; `await stop()` ends it."""

    def __init__(self, root: Path | None = None, *, host: str = "127.0.0.1", port: int = 7891,
                 token: str | None = None, sprint_id: str | None = None, store_url: str | None = None,
                 clock: Callable[[], dt.datetime] | None = None, poll_seconds: float = POLL_SECONDS,
                 allow_hosts: tuple[str, ...] = ()) -> None:
        access.check_bind(host, token)
        access.check_allow_hosts(tuple(allow_hosts))
        self.root = Path(root) if root else paths.project_root()
        self.host, self.port, self.token, self.sprint_id = host, port, token, sprint_id
        self.allow_hosts = tuple(allow_hosts)
        self.host_names = access.host_names(host, port, self.allow_hosts)
        self.store_url = store_url
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.poll_seconds = poll_seconds
        self.clients: set[ServerConnection] = set()
        self.message = ""
        self._news = asyncio.Condition()  # notified when `message` is a new state, for every client's feed
        self.state: dict[str, Any] = {}
        self.problem: str | None = None  # shown on the page over the last state read
        self._sprint_problem: str | None = None  # why the sprint shown by default is not (its file), from the build
        self._sprint_files: tuple = ()  # the sprint files as they were then: a change to one is looked at again
        self._store = None
        self._file_mark: tuple | None = ()
        self._opened_as: int | None = None  # file_identity of the store file opened
        self._gone = False  # the store's file was seen gone: the next one there is another store
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orchestra-dashboard-store")
        self._audit = AuditWindow(paths.audit_log(self.root))
        self._events: deque[dict[str, Any]] = deque(maxlen=snapshot.RECENT_EVENTS)
        self._last_id = 0
        self._built_at = 0.0
        self._server = None
        self._poller: asyncio.Task | None = None
        self._files = {f"/static/{p.name}": p for p in STATIC.iterdir() if p.is_file()}

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._on_worker(self._open)
        try:
            self._server = await serve(self._client, self.host, self.port, process_request=self._http,
                                       max_size=4096, ping_interval=20, server_header="orchestra-dashboard")
        except OSError:
            await self._on_worker(self._close)
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        self.host_names = access.host_names(self.host, self.port, self.allow_hosts)
        self._poller = asyncio.create_task(self._poll())

    @property
    def url(self) -> str:
        """The page's address. Bound to every interface, no Host may name 0.0.0.0 or ::, so it is the first
        --allow-host (on 443, a TLS proxy's https address), else the loopback address."""
        if self.host in access.WILDCARD_BINDS:
            if self.allow_hosts:
                name = access.with_port(self.allow_hosts[0], self.port)
                host, _, port = name.rpartition(":")
                return {"443": f"https://{host}/", "80": f"http://{host}/"}.get(port, f"http://{name}/")
            return f"http://{'[::1]' if ':' in self.host else '127.0.0.1'}:{self.port}/"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def stop(self) -> None:
        if self._poller:
            self._poller.cancel()
        if self._server:
            self._server.close()
            await self._server.wait_closed()
        await self._on_worker(self._close)
        self._worker.shutdown(wait=True)

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Future()
        finally:
            await self.stop()

    # -- state (worker thread only) ----------------------------------------------------------------

    def _open(self) -> None:
        from ..store import open_store

        self._store = open_store(self.store_url, root=self.root)
        self._gone = False
        self._file_mark = self._store_file()
        self._opened_as = file_identity(self._store.url)
        if self._store.url.startswith(("postgresql://", "postgres://")):  # the audit chain is in the database
            from ..store.postgres_audit import AuditRows

            self._audit = AuditRows(self._store)
        events = self._store.last_events(snapshot.RECENT_EVENTS)  # the rest of the log is never shown
        self._events.clear()
        self._events.extend(events)
        self._last_id = events[-1]["id"] if events else 0
        self._audit.refresh()
        self._rebuild()

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()

    def _rebuild(self) -> None:
        self.problem = None
        files = self._sprint_file_marks()
        self.state = snapshot.build(self._store, self.root, sprint_id=self.sprint_id, now=self.clock(),
                                    audit_records=list(self._audit.records), recent_events=self._events)
        self._sprint_problem, self._sprint_files = self.state["problem"], files
        self._publish()
        self._built_at = time.monotonic()

    def _publish(self) -> None:
        self.state["problem"] = self.problem or self._sprint_problem
        self.message = json.dumps({"type": "snapshot", "data": self.state}, ensure_ascii=False)

    def _trouble(self, problem: str) -> str | None:
        """The message showing `problem` over the last state read; None when it is already shown."""
        if problem == self.problem:
            return None
        self.problem = problem
        self._publish()
        return self.message

    def _store_file(self) -> tuple | None:
        """The file store's inode, size and modification time, and its WAL's; () on a server backend,
        None when the file is gone."""
        scheme, _, path = self._store.url.partition("://")
        if scheme not in ("sqlite", "json"):
            return ()
        try:
            main = os.stat(path)
        except FileNotFoundError:
            return None
        try:
            wal = os.stat(f"{path}-wal")
        except FileNotFoundError:
            return ((main.st_ino, main.st_size, main.st_mtime_ns),)
        return (main.st_ino, main.st_size, main.st_mtime_ns), (wal.st_size, wal.st_mtime_ns)

    def _changed(self) -> str | None:
        """The new message when something changed since the last look, else None."""
        mark = self._store_file()
        if mark is None:
            self._gone = True
            return self._trouble(f"the state store {self._store.url} is gone (moved aside as unreadable?); this is "
                                "the state read before — see `orchestra doctor`")
        # Another file now (restored, or new state after a corrupt one was moved aside), or a log replaced in
        # place (state import): event ids start again.
        replaced = (self._gone or file_identity(self._store.url) != self._opened_as
                    or log_rewritten(self._store, self._events[-1] if self._events else None))
        if replaced:
            self._close()
            self._open()
            return self.message
        touched = mark != self._file_mark
        self._file_mark = mark
        new = False
        while True:
            page = self._store.events_after(self._last_id, EVENT_PAGE)
            if not page:
                break
            new = True
            self._events.extend(page)
            self._last_id = page[-1]["id"]
            if len(page) < EVENT_PAGE:
                break
        audited = self._audit.refresh()
        fixed = self._sprint_problem is not None and self._sprint_file_marks() != self._sprint_files
        if new or audited or touched or fixed or self.problem or time.monotonic() - self._built_at > REFRESH_SECONDS:
            self._rebuild()
            return self.message
        return None

    def _sprint_file_marks(self) -> tuple:
        """Name, size and modification time of each file in .claude/sprints: while the sprint shown by default
        cannot be read from its file, a save of that file is looked at at the next look."""
        from ..workflow.definitions import definitions_dir

        try:
            entries = list(os.scandir(definitions_dir("sprint", self.root)))
        except OSError:
            return ()
        marks = []
        for entry in entries:
            try:
                info = entry.stat()
            except OSError:  # removed between the listing and the look
                continue
            marks.append((entry.name, info.st_size, info.st_mtime_ns))
        return tuple(sorted(marks))

    async def _next_look(self) -> None:
        """poll_seconds, or less where the store is woken when an event commits (PostgreSQL's NOTIFY)."""
        if not self._store.notifies:
            await asyncio.sleep(self.poll_seconds)
            return
        try:
            await self._on_worker(lambda: self._store.wait_for_events(self._last_id, self.poll_seconds, limit=1))
        except Exception:  # noqa: BLE001 - the read that follows reports a failing store
            await asyncio.sleep(self.poll_seconds)

    async def _on_worker(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn)

    async def _poll(self) -> None:
        failing = False
        while True:
            await self._next_look()
            try:
                message = await self._on_worker(self._changed)
            except Exception as exc:  # noqa: BLE001 - a bad read (busy, a corrupt row) must not stop the dashboard
                if not failing:
                    print(f"orchestra dashboard: reading state failed ({exc}); retrying", file=sys.stderr)
                failing = True
                message = await self._on_worker(partial(self._trouble, f"reading the state failed ({exc}); retrying"))
                if message is not None:
                    await self._announce()
                continue
            failing = False
            if message is not None:
                await self._announce()

    async def _announce(self) -> None:
        async with self._news:
            self._news.notify_all()

    # -- HTTP and WebSocket ------------------------------------------------------------------------

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.method not in ("GET", "HEAD"):  # the dashboard only shows state
            return _response(405, "text/plain; charset=utf-8",
                             b"orchestra dashboard: only GET and HEAD are answered here\n", {"Allow": "GET, HEAD"})
        response = self._answer(request)
        if response is not None and request.method == "HEAD":  # the headers of the GET, Content-Length too
            response = Response(response.status_code, response.reason_phrase, response.headers, b"")
        return response

    def _answer(self, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if not access.known_host(request.headers, self.host_names):
            return _response(421, "text/plain; charset=utf-8",
                             f"orchestra dashboard: this server answers only to {', '.join(sorted(self.host_names))}; "
                             f"open {self.url} (or name another host with --allow-host)\n".encode())
        ok, via = access.allowed(self.token, request.path, request.headers, self.port)
        if not ok:
            return _response(401, "text/plain; charset=utf-8",
                             b"orchestra dashboard: a token is required; open the URL `orchestra dashboard` printed\n")
        if path == "/ws":
            if not access.same_origin(request.headers):
                return _response(403, "text/plain; charset=utf-8", b"orchestra dashboard: cross-origin WebSocket refused\n")
            return None  # on to the WebSocket handshake
        extra = {"Set-Cookie": access.cookie_header(self.token, self.port)} if self.token and via == "query" else {}
        if path in ("/", "/index.html"):
            return _response(200, "text/html; charset=utf-8", (STATIC / "index.html").read_bytes(), extra)
        if path == "/api/snapshot":
            return _response(200, "application/json", json.dumps(self.state, ensure_ascii=False).encode(), extra)
        if path in self._files:
            kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return _response(200, f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript")
                             else kind, self._files[path].read_bytes(), extra)
        return _response(404, "text/plain; charset=utf-8", b"not found\n")

    async def _client(self, connection: ServerConnection) -> None:
        self.clients.add(connection)
        feed = asyncio.create_task(self._feed(connection))
        try:
            async for _ in connection:  # the page only listens; anything it sends is ignored
                pass
        except ConnectionClosed:  # gone without a close frame (a killed tab, a dropped link): nothing to report
            pass
        finally:
            feed.cancel()
            self.clients.discard(connection)

    async def _feed(self, connection: ServerConnection) -> None:
        """The state on connect, then the newest state after each change. A send waits while this client
        is slow to read (only this client waits), and the states built meanwhile are skipped but the newest:
        what waits for a client is never more than one state."""
        sent = None
        try:
            while True:
                async with self._news:
                    await self._news.wait_for(lambda sent=sent: self.message is not sent)
                    message = self.message
                await connection.send(message)
                sent = message
        except ConnectionClosed:
            return


def _response(status: int, kind: str, body: bytes, extra: dict[str, str] | None = None) -> Response:
    reason = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
              421: "Misdirected Request"}[status]
    headers = Headers({"Content-Type": kind, "Content-Length": str(len(body)), **SECURITY_HEADERS, **(extra or {})})
    return Response(status, reason, headers, body)
