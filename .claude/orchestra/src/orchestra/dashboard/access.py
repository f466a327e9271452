"""Who may see the dashboard: loopback binds are open to the local user; any other bind needs a token,
given as `?token=` once (then kept in an HttpOnly cookie), a bearer header, or the cookie. A WebSocket
from another origin is refused, so a web page the user happens to visit cannot read the state."""

from __future__ import annotations

import hmac
import ipaddress
import re
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit

TOKEN_ENV = "ORCHESTRA_DASHBOARD_TOKEN"
COOKIE = "orchestra_dashboard"


class AccessError(ValueError):
    """The dashboard cannot start as asked (e.g. an open bind without a token)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_TOKEN = re.compile(r"[A-Za-z0-9._~-]{8,256}")


def check_bind(host: str, token: str | None) -> None:
    """Refuse an open bind without a token, and a token that cannot travel in a URL and a cookie as is."""
    if token is not None and not _TOKEN.fullmatch(token):
        raise AccessError("--token: use 8 to 256 letters, digits or . _ ~ - (e.g. `python3 -c "
                          "'import secrets; print(secrets.token_urlsafe(24))'`)")
    if not is_loopback(host) and not token:
        raise AccessError(f"--host {host}: binding beyond this machine shows the project's state to the network; "
                          f"give a token with --token TOKEN or the {TOKEN_ENV} environment variable")


def presented(path: str, headers) -> tuple[str | None, str]:
    """(the token a request carries, where: "query", "header", "cookie" or "")."""
    query = parse_qs(urlsplit(path).query).get("token")
    if query:
        return query[0], "query"
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), "header"
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("Cookie") or "")
    except CookieError:
        return None, ""
    if COOKIE in cookie:
        return cookie[COOKIE].value, "cookie"
    return None, ""


def allowed(token: str | None, path: str, headers) -> tuple[bool, str]:
    """Whether the request may pass, and where its token came from."""
    if not token:
        return True, ""
    given, where = presented(path, headers)
    return given is not None and hmac.compare_digest(given.encode(), token.encode()), where


def same_origin(headers) -> bool:
    """A browser's WebSocket carries Origin; it must name the host the page was served from."""
    origin = headers.get("Origin")
    if origin is None:  # not a browser (a script or a test client)
        return True
    return urlsplit(origin).netloc.lower() == (headers.get("Host") or "").lower()


def cookie_header(token: str) -> str:
    return f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
