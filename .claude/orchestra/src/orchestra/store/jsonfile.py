"""The seed's file store: one JSON document, a sibling .lock with a finite timeout, atomic replace."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .. import atomic
from . import StoreBase
from .doc_tx import DocTx
from .document import empty_document, migrate
from .errors import BusyError, CorruptStateError, StateError

LOCK_TIMEOUT_S = 30.0


class JsonFileStore(StoreBase):
    def __init__(self, path: Path, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.url = f"json://{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = FileLock(str(self.path) + ".lock", timeout=lock_timeout)

    def _read(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return empty_document()
        try:
            doc = json.loads(raw)
            if not isinstance(doc, dict):
                raise ValueError("top level is not an object")
        except (ValueError, UnicodeDecodeError) as exc:
            aside = self._quarantine()
            raise CorruptStateError(
                f"{self.path}: state file is not a valid JSON object ({exc}); "
                f"moved aside to {aside.name} — restore it or run `orchestra init` to start fresh"
            ) from None
        return migrate(doc)

    def _quarantine(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        os.replace(self.path, aside)
        return aside

    @contextmanager
    def transaction(self) -> Iterator[DocTx]:
        try:
            self._lock.acquire()
        except Timeout:
            raise BusyError(f"{self.path}: still locked by another writer after {self._lock.timeout:.0f}s") from None
        try:
            tx = DocTx(self._read())
            yield tx
            if tx.dirty:
                data = json.dumps(tx.doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                atomic.write_bytes(self.path, data, mode=0o600)
        finally:
            self._lock.release()

    @contextmanager
    def snapshot(self) -> Iterator[DocTx]:
        # Writers replace the file atomically, so an unlocked read always sees a whole document.
        yield DocTx(self._read())

    def import_document(self, doc: dict[str, Any]) -> None:
        if not isinstance(doc, dict):
            raise StateError("import: expected a JSON object")
        doc = migrate(dict(doc))
        with self.transaction() as tx:
            tx.doc = _validated_copy(doc)
            tx.dirty = True

    def close(self) -> None:
        pass


def _validated_copy(doc: dict[str, Any]) -> dict[str, Any]:
    from .import_check import checked_document

    return checked_document(doc)
