"""The upstream layer: what every request to a registrar, an RDAP or a WHOIS server obeys.

Below the gateways and the registration-data clients, above the limiter, the breaker and the HTTP
transport: ``guard`` (the process's limiter guard: tokens, block windows, rate classes), ``reporter``
(one delivery's breaker account) and ``policy`` (:class:`CallPolicy`, the one object the outbound client
calls at fixed points of every request; its docstring draws the path).
"""

from shared.upstream.guard import BLOCKING_STATUSES, Guard, LimiterGuard, route_to_rate_class
from shared.upstream.policy import CallPolicy
from shared.upstream.reporter import CallReporter

__all__ = ["BLOCKING_STATUSES", "CallPolicy", "CallReporter", "Guard", "LimiterGuard", "route_to_rate_class"]
