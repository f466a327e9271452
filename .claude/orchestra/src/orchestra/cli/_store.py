"""The project's state store for CLI commands, its state directory made first."""

from __future__ import annotations


def project_store():
    from .. import paths
    from ..store import open_store

    paths.ensure_state_dir()
    return open_store()
