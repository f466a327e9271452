"""Who may see the dashboard: loopback binds are open to the local user; any other bind needs a token,
given as `?token=` once (then kept in an HttpOnly cookie), a bearer header, or the cookie. A request
whose Host is not one of the dashboard's own names is refused (a DNS-rebinding page names its own
domain), and so is a WebSocket from another origin, so a web page the user happens to visit cannot
read the state."""

from __future__ import annotations

import hmac
import ipaddress
import re
from urllib.parse import parse_qs, urlsplit

TOKEN_ENV = "ORCHESTRA_DASHBOARD_TOKEN"
COOKIE = "orchestra_dashboard"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_BINDS = ("0.0.0.0", "::", "")


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


_NAME = re.compile(r"(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?")


def check_allow_hosts(names: tuple[str, ...]) -> None:
    """Refuse an --allow-host no browser's Host header can match: a URL, an empty name, a bad port."""
    for name in names:
        match = _NAME.fullmatch(name.strip())
        bare_ipv6 = name.count(":") > 1 and not name.startswith("[") and _is_address(name.strip())
        if not bare_ipv6 and (not match or (match[1] is not None and not 0 < int(match[1]) <= 65535)):
            raise AccessError(f"--allow-host {name!r}: give the host name or address a browser uses for the "
                              "dashboard, with :PORT where it is not the dashboard's (devbox.lan, "
                              "localhost:8000, [fe80::1]:7891), not a URL")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def host_names(bind: str, port: int, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The `Host` values the dashboard answers to: the loopback names and the bind address on its
    port, and each of `extra` (`name`, on the dashboard's port, or `name:port`)."""
    binds = () if bind in WILDCARD_BINDS else (bind,)
    return frozenset(with_port(name, port) for name in (*LOOPBACK_NAMES, *binds, *extra))


def with_port(name: str, port: int) -> str:
    name = name.strip().lower()
    if name.count(":") > 1 and not name.startswith("["):  # a bare IPv6 address
        return f"[{name}]:{port}"
    host, colon, given = name.rpartition(":")
    if colon and given.isdigit() and (not host.startswith("[") or host.endswith("]")):
        return name
    return f"{name}:{port}"


def known_host(headers, names: frozenset[str]) -> bool:
    """Whether the request names exactly one `Host`, one of `names`. A browser leaves the scheme's default
    port out, so a bare name passes when it is allowed on 443 or 80 (a TLS proxy passing the Host on)."""
    hosts = headers.get_all("Host")
    if len(hosts) != 1:
        return False
    host = hosts[0].strip().lower()
    bare = ":" not in host.rpartition("]")[2]
    return host in names or bare and (f"{host}:443" in names or f"{host}:80" in names)


def cookie_name(port: int) -> str:
    """Cookies ignore ports, so two dashboards on one host each need a cookie of their own."""
    return f"{COOKIE}_{port}"


def cookie_value(header: str, name: str) -> str | None:
    """`name`'s value in a Cookie header. Split by hand: another site cookie on this host that a strict
    parser rejects (`SimpleCookie` stops at the first one) must not hide ours."""
    for pair in header.split(";"):
        key, eq, value = pair.partition("=")
        if eq and key.strip() == name:
            return value.strip().strip('"')
    return None


def presented(path: str, headers, port: int) -> tuple[str | None, str]:
    """(the token a request carries, where: "query", "header", "cookie" or "")."""
    query = parse_qs(urlsplit(path).query).get("token")
    if query:
        return query[0], "query"
    auth = next(iter(headers.get_all("Authorization")), "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), "header"
    for header in headers.get_all("Cookie"):
        value = cookie_value(header, cookie_name(port))
        if value is not None:
            return value, "cookie"
    return None, ""


def allowed(token: str | None, path: str, headers, port: int) -> tuple[bool, str]:
    """Whether the request may pass, and where its token came from."""
    if not token:
        return True, ""
    given, where = presented(path, headers, port)
    return given is not None and hmac.compare_digest(given.encode(), token.encode()), where


def same_origin(headers) -> bool:
    """A browser's WebSocket carries Origin; it must name the host the page was served from."""
    origins = headers.get_all("Origin")
    if not origins:  # not a browser (a script or a test client)
        return True
    return len(origins) == 1 and urlsplit(origins[0]).netloc.lower() == headers.get_all("Host")[0].strip().lower()


def cookie_header(token: str, port: int) -> str:
    return f"{cookie_name(port)}={token}; HttpOnly; SameSite=Strict; Path=/"
