"""One finding of `orchestra doctor`: what was checked, how it stands, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}
