"""What a URL opens: a connection that builds one backend of a family on top of itself."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from shared.backends.schemes import Family

B = TypeVar("B")


class Connection(ABC):
    """A store reached through a URL. ``pid`` is the process that opened it (a fork must not reuse it).

    The URL itself is not kept: it may carry a password."""

    def __init__(self, url: str) -> None:
        self.pid = os.getpid()

    @abstractmethod
    def build(self, family: Family[B], prefix: str, *args: Any, **kwargs: Any) -> B:
        """The backend of ``family`` that runs on this kind of store."""

    def close(self) -> None:  # noqa: B027 - optional hook: a memory store holds no sockets
        """Let go of sockets; a later command opens new ones."""
