"""``memory://``: no server; every backend keeps its state in this process (tests, single-process use)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.backends.base import B, Connection

if TYPE_CHECKING:
    from shared.backends.schemes import Family


class MemoryConnection(Connection):
    """Builds memory backends. Each one is private to its instance: build it once and share it."""

    def build(self, family: Family[B], prefix: str, *args: Any, **kwargs: Any) -> B:
        return family.memory(*args, **kwargs)
