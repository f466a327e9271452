"""PostgreSQL state URLs: shown without their password, read as libpq reads them, and compared.

A password typed into a URL without percent-encoding (`p@ss`, `pa/ss`, `pa?ss`) moves where a
parser sees the host, so the password is masked by position (from the colon after the user name
to the last `@`), not by what a URL parser makes of it, and libpq's own words about such a URL,
which quote the pieces it misread, are not shown.
"""

from __future__ import annotations

import getpass
import os
import re
from typing import Any

from .errors import StateError

_PASSWORD_PARAM = re.compile(r"((?:^|[?&\s])(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&#\s]*)")
_MISREAD = re.compile(r"%(?![0-9A-Fa-f]{2})|\s")
ENCODE_HINT = ("percent-encode @ / % : and spaces in the user name and password as %40 %2F %25 %3A %20, "
               "or leave the password out of the URL and use PGPASSWORD or ~/.pgpass")


def _password_span(url: str) -> tuple[int, int] | None:
    """Where the password after `user:` runs, up to the last `@` (over-masks rather than leaks)."""
    start = url.find("://")
    if start < 0 or url.startswith(("sqlite://", "json://")):  # a file path's ':' and '@' are no password
        return None
    start += 3
    end = url.rfind("@")
    colon = url.find(":", start, end)
    return (colon + 1, end) if end > start and colon >= 0 else None


def redacted(url: str) -> str:
    """The URL without its password (after the user name, or as `password=`/`sslpassword=`), for messages."""
    span = _password_span(url)
    if span:
        url = f"{url[:span[0]]}***{url[span[1]:]}"
    return _PASSWORD_PARAM.sub(r"\1***", url)


def connection_params(url: str) -> dict[str, Any]:
    """libpq's reading of the URL; a URL it cannot read, or reads with a password spilled into the
    host, port or database, is a StateError naming it without the password."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    span = _password_span(url)
    try:
        params = conninfo_to_dict(url)
    except ProgrammingError as exc:
        raise StateError(f"state URL {redacted(url)}: not a PostgreSQL URL ({reason(exc, url)})") from None
    port = str(params.get("port") or "")
    spilled = "@" in str(params.get("host") or "") or not re.fullmatch(r"[0-9,]*", port) or \
        (span and ("@" in str(params.get("dbname") or "") or _MISREAD.search(url[span[0]:span[1]])))
    if spilled:
        raise StateError(f"state URL {redacted(url)}: cannot be read as user:password@host:port/database "
                         f"({ENCODE_HINT})")
    return params


def reason(exc: BaseException, url: str) -> str:
    """libpq's first line about the URL, unless it quotes a piece of the password (three characters
    of it in a row): then how to write the password instead."""
    text, span = _first_line(exc), _password_span(url)
    secret = url[span[0]:span[1]] if span else ""
    pieces = [secret[i:i + 3] for i in range(max(len(secret) - 2, 1))] if secret else []
    return ENCODE_HINT if any(piece in text for piece in pieces) else text


def identity(url: str) -> tuple[str, str, str, str]:
    """Which store a URL reaches, however it is spelled: host, port, database and search_path, with
    libpq's defaults filled in. Password, user and connection settings do not change the store."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise StateError(f"{redacted(url)}: the PostgreSQL backend needs psycopg 3 ({exc})") from None
    params = connection_params(url)
    user = params.get("user") or os.environ.get("PGUSER") or getpass.getuser()
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    search_path = re.findall(r"(?:-c\s*|--)search_path=((?:\\.|\S)+)", params.get("options", ""))
    return (host.lower(), str(params.get("port") or os.environ.get("PGPORT") or 5432),
            params.get("dbname") or os.environ.get("PGDATABASE") or user,
            _schema_names(search_path[-1]) if search_path else "")


def folded_names(url: str) -> list[str]:
    """Unquoted schema names with capitals in the URL's search_path, which the server reads in lower case."""
    try:
        options = connection_params(url).get("options", "")
    except StateError:
        return []
    found = re.findall(r"(?:-c\s*|--)search_path=((?:\\.|\S)+)", options)
    text = re.sub(r"\\(.)", r"\1", found[-1]) if found else ""
    return [plain for _quoted, plain in re.findall(r'"((?:[^"]|"")*)"|([^,\s"]+)', text) if re.search("[A-Z]", plain)]


_UPPER_ASCII = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _schema_names(search_path: str) -> str:
    """The schemas a search_path names, as the server reads them: an unquoted name in lower case
    (TEAM_A is team_a), a quoted one as written ("Team A"); libpq's backslash escapes undone."""
    text = re.sub(r"\\(.)", r"\1", search_path)
    names = re.findall(r'"((?:[^"]|"")*)"|([^,\s"]+)', text)
    return ",".join(quoted.replace('""', '"') if quoted else plain.translate(_UPPER_ASCII) for quoted, plain in names)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
