"""A throwaway PostgreSQL server for the tests: initdb in a temp dir, a free port on 127.0.0.1, pg_ctl.

One server per test process, started on first use and stopped at exit (the session fixture in
`conftest.py` stops it earlier, at session end). Every caller of `fresh_url` gets its own new
database, so tests never see each other's state.

initdb and the server refuse to run as root; under root (CI) both run as `nobody` through
`runuser`, with the data directory handed to that user. PostgreSQL found on PATH or under
/usr/lib/postgresql/<version>/bin (Debian's layout) is used; without it the tests that need it
skip, except under CI=true, where a missing PostgreSQL fails them.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

USER = "orchestra"
DATABASE = "orchestra"
RUN_AS = "nobody"


def bindir() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return versions[-1].parent if versions else None


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def wanted() -> bool:
    """Run the PostgreSQL tests: it is installed, or CI says it must be."""
    return bindir() is not None or in_ci()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One running cluster; `url(db)` names a database on it, `fresh_url()` creates a new one."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.base = Path(tempfile.mkdtemp(prefix="orchestra-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = 0
        self._names = itertools.count(1)
        self.running = False

    def _run(self, *argv: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", RUN_AS, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.base)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.base, RUN_AS)
        made = self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8",
                         "--locale=C.UTF-8", "--no-sync")
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr.strip() or made.stdout.strip()}")
        for _attempt in range(5):  # the free port may be taken between probing and binding
            self.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            started = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
            if started.returncode == 0:
                self.running = True
                self.admin(f"CREATE DATABASE {DATABASE}")
                return
        raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()}; log: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.running = False
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)

    def fresh_url(self) -> str:
        schema = f"s{os.getpid()}_{next(self._names)}"
        self.admin(f"CREATE SCHEMA {schema}", DATABASE)
        return f"{self.url(DATABASE)}?options=-csearch_path%3D{schema}"


_shared: Server | None = None


def shared() -> Server:
    """The process's server, started on first use; skips (or fails under CI) without PostgreSQL."""
    global _shared
    if _shared is None:
        found = bindir()
        if found is None:
            message = "PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql)"
            if in_ci():
                pytest.fail(f"{message}; .ci/run installs it", pytrace=False)
            pytest.skip(message)
        server = Server(found)
        atexit.register(server.stop)
        server.start()
        _shared = server
    return _shared


def stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


def fresh_url(base: Path | None = None) -> str:
    """A new, empty database on the shared server (the store-suite backend factory; `base` is unused)."""
    return shared().fresh_url()


def dump(url: str) -> object:
    """Every row of every table of the store at `url` (None before the store created them)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('events')").fetchone()[0] is None:
            return None
        return {table: conn.execute(f"SELECT {columns}::text FROM {table} ORDER BY 1, 2").fetchall()
                for table, columns in (("meta", "key, value"), ("doc", "key, value"),
                                       ("entities", "collection, id, data"),
                                       ("events", "id, ts, type, session_id, agent_id, task_id, data"))}
