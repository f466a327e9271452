"""`orchestra dashboard [--host 127.0.0.1] [--port 7891] [--token T] [--allow-host NAME]... [--sprint ID]`: the
live dashboard."""

from __future__ import annotations

import os
import sys


def register(sub) -> None:
    parser = sub.add_parser("dashboard", help="serve the live dashboard (HTTP + WebSocket) until Ctrl-C")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other "
                                                           "needs a token)")
    parser.add_argument("--port", type=int, default=7891, help="port (default 7891; 0 picks a free one)")
    parser.add_argument("--token", help="access token (default: $ORCHESTRA_DASHBOARD_TOKEN); required beyond "
                                        "loopback")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME[:PORT]",
                        help="another name the browser reaches the dashboard by (a machine name, an SSH tunnel's "
                             "localhost:PORT); localhost, 127.0.0.1, [::1] and the bind address always work")
    parser.add_argument("--sprint", metavar="ID", help="the sprint to show (default: the one in progress)")
    parser.set_defaults(func=cmd_dashboard)


def listen_trouble(host: str, port: int, exc: OSError) -> str:
    """Why the dashboard cannot listen on host:port, and which option to change."""
    import errno

    hint = {errno.EADDRINUSE: "pick another --port",
            errno.EACCES: "a port below 1024 needs root; pick another --port (the default is 7891)"}.get(
        exc.errno, "give --host an address of this machine (127.0.0.1, ::1 or one of its interfaces)")
    return f"cannot listen on {host}:{port} ({exc.strerror or exc}); {hint}"


def cmd_dashboard(args) -> int:
    import asyncio

    from ..dashboard.access import TOKEN_ENV
    from ..dashboard.server import Dashboard

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port {args.port}: give a port from 0 to 65535")
    token = args.token or os.environ.get(TOKEN_ENV) or None
    dashboard = Dashboard(host=args.host, port=args.port, token=token, sprint_id=args.sprint,
                          allow_hosts=tuple(args.allow_host))  # AccessError: exit 1

    async def run() -> None:
        try:
            await dashboard.start()
        except OSError as exc:
            raise ValueError(listen_trouble(args.host, args.port, exc)) from None
        link = dashboard.url + (f"?token={token}" if token else "")
        print(f"Orchestra dashboard: {link}  (Ctrl-C stops it)", flush=True)
        try:
            await asyncio.Future()
        finally:
            await dashboard.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        print("dashboard stopped", file=sys.stderr)
    return 0
