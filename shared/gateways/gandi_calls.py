"""Gandi API v5: one request under the delivery's policy, the base the gateway and its mixins share.

:class:`GandiCalls` is what :class:`~shared.gateways.gandi.GandiGateway` and its mixins
(:class:`~shared.gateways.gandi_day2.GandiDay2`, :class:`~shared.gateways.gandi_owner.GandiOwnerChange`)
send every request through: the ``Authorization`` header, the ``sharing_id`` query parameter when set, and
the delivery's :class:`~shared.upstream.policy.CallPolicy` (breaker, limiter, lease, audit) through the
gateway's :class:`~shared.http.OutboundClient`. The gateway's constructor sets the attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from shared.http import HttpResponse, OutboundClient
from shared.upstream.policy import CallPolicy


class GandiCalls:
    """The request path (see the module); the attributes are set by GandiGateway's constructor."""

    client: OutboundClient
    base_url: str
    sharing_id: str | None
    _authorization: str

    def _call(
        self,
        method: str,
        path: str,
        policy: CallPolicy,
        operation: str,
        interpret: Callable[[HttpResponse], Any],
        *,
        idempotent: bool,
        body: Any = None,
        query: dict[str, str] | None = None,
        dry_run: bool = False,
        effect: bool = False,
    ) -> Any:
        """One request under the delivery's ``policy``. ``effect``: it makes the job's effect (the create,
        the renew POST): the policy records the job's ``sending`` phase right before it leaves."""
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        if dry_run:
            headers["Dry-Run"] = "1"
        params = dict(query or {})
        if self.sharing_id:
            params["sharing_id"] = self.sharing_id
        return self.client.call(
            method,
            self.base_url + path,
            operation=operation,
            interpret=interpret,
            idempotent=idempotent,
            policy=policy,
            effect=effect,
            headers=headers,
            params=params or None,
            json=body,
        )

    @staticmethod
    def _domain_path(fqdn: str, suffix: str = "") -> str:
        return f"/domain/domains/{quote(fqdn, safe='')}{suffix}"
