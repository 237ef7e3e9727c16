"""The day-2 side of a registrar's gateway (:class:`~shared.gateways.day2.Day2Operations`), for handlers
and the synchronous auth-code read: what the registrar is called, and whether it offers an operation."""

from __future__ import annotations

from shared.errors import Unsupported
from shared.gateways.base import Gateway
from shared.gateways.day2 import Day2Operations


def registrar_name(gateway: object) -> str:
    return str(getattr(gateway, "name", type(gateway).__name__))


def day2(gateway: Gateway, operation: str, what: str) -> Day2Operations:
    """``gateway`` as its day-2 operations, if it offers ``operation`` (a method name); otherwise
    :class:`Unsupported` naming the registrar and ``what``, before anything is sent."""
    if not isinstance(gateway, Day2Operations) or operation in gateway.unsupported:
        raise Unsupported(registrar_name(gateway), what)
    return gateway
