"""What a test subprocess with a trimmed environment still needs from this machine's: where uv keeps its
cache and how it reaches a package index, for when uv has to resolve a script environment it has not
built yet (a copy of the pack at a new path, say)."""

from __future__ import annotations

import os

UV_NETWORK_ENV = ("UV_CACHE_DIR", "UV_PYTHON_INSTALL_DIR", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX",
                  "UV_OFFLINE", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
                  "https_proxy", "http_proxy", "no_proxy")


def uv_network_env() -> dict[str, str]:
    return {key: os.environ[key] for key in UV_NETWORK_ENV if key in os.environ}
