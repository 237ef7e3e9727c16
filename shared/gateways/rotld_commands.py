"""ROTLD: one command under the delivery's policy, the base the gateway and its mixins share.

:class:`RotldCommands` is what :class:`~shared.gateways.rotld.RotldGateway` and its mixins
(:class:`~shared.gateways.rotld_day2.RotldDay2`, :class:`~shared.gateways.rotld_trade.RotldOwnerChange`)
send every command through: the form ``command=<name>&lang=en&format=json&...`` POSTed to the one
endpoint with HTTP Digest auth under the delivery's :class:`~shared.upstream.policy.CallPolicy`, and the
envelope read into the command's ``data`` or a typed error (:func:`envelope_data`, codes per
:mod:`shared.gateways.rotld_codes`). The gateway's constructor sets the attributes.

Code 10002 (:data:`~shared.gateways.rotld_codes.AMBIGUOUS_CODE`) is read two ways by public code: from a
command on a domain of ours (``_command``) and from every day-2 command (``_day2``,
:func:`ambiguous_10002`) it is :class:`~shared.errors.NeedsOperator`, never proof either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared import defaults
from shared.errors import (
    AuthError,
    NeedsOperator,
    NotFound,
    ProtocolError,
    RegistryRefused,
    TransientError,
    UpstreamError,
    ValidationRejected,
)
from shared.gateways.rotld_codes import AMBIGUOUS_CODE, NOT_FOUND_ON_INFO, RESULT_CODES, SUCCESS
from shared.http import HttpResponse, OutboundClient
from shared.http.digest import MeteredDigestAuth
from shared.http.redact import scrub_upstream_text
from shared.upstream.policy import CallPolicy

PROVIDER = "rotld"
#: Commands about a domain already in our account: the registry's not-found answers mean NotFound.
ON_OUR_DOMAIN = frozenset({"domain-info", "domain-renew", "domain-reset-ns", "check-renewal-availability"})


def envelope_data(response: HttpResponse) -> dict[str, Any]:
    """The ``data`` of a successful envelope, else the typed error."""
    status = response.status
    if status == 401:
        raise AuthError("credentials refused (HTTP 401)", provider=PROVIDER, status=status)
    if status != 200:
        raise TransientError(
            f"service unavailable (HTTP {status})",
            provider=PROVIDER,
            status=status,
            retry_after=response.retry_after,
        )
    body = response.json()
    code = body.get("result_code") if isinstance(body, dict) else None
    if not isinstance(code, str | int) or "error" not in body:
        raise ProtocolError("answer is not a ROTLD envelope", provider=PROVIDER, status=status)
    code = str(code).strip()
    if code.isdigit():  # "00200" and 200 alike: some answers carry the code as a JSON number
        code = code.zfill(5)
    data = body.get("data")
    if code == SUCCESS and str(body.get("error")) in ("0", "False"):
        return data if isinstance(data, dict) else {}
    message = scrub_upstream_text(body.get("result_message")) or "no message"
    known = RESULT_CODES.get(code)
    kw: dict[str, Any] = {"provider": PROVIDER, "status": status, "upstream_code": code}
    if known is None:
        raise RegistryRefused(f"registry error {code}: {message}", **kw)
    cls, field = known
    if cls is ValidationRejected:
        named = data.get("parameter") if isinstance(data, dict) else None
        fields = [f for f in (field, scrub_upstream_text(named, 60) if named else None) if f]
        raise ValidationRejected(f"rejected ({code}): {message}", fields=fields, **kw)
    raise cls(f"{code}: {message}", **kw)


def _ambiguous(what: str, exc: UpstreamError) -> NeedsOperator:
    return NeedsOperator(
        PROVIDER,
        float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
        f"{what} answered {AMBIGUOUS_CODE} ({exc.message}), which public clients read two ways",
    )


@contextmanager
def ambiguous_10002(what: str) -> Iterator[None]:
    """10002 from any command: NeedsOperator (public code reads it as "unknown command" and as "no longer
    ours"; neither is proof)."""
    try:
        yield
    except UpstreamError as exc:
        if (exc.upstream_code or "") != AMBIGUOUS_CODE:
            raise
        raise _ambiguous(what, exc) from None


class RotldCommands:
    """The command path (see the module); the attributes are set by RotldGateway's constructor."""

    client: OutboundClient
    url: str
    _auth: MeteredDigestAuth

    def _command(
        self,
        command: str,
        params: dict[str, str],
        policy: CallPolicy,
        *,
        idempotent: bool,
        effect: bool = False,
    ) -> dict[str, Any]:
        """One command under the delivery's ``policy``. ``effect``: this request makes the job's effect
        (domain-register, domain-renew): the policy records the job's ``sending`` phase right before it
        leaves with credentials."""
        form = {"command": command, "lang": "en", "format": "json", **params}
        try:
            return self._send(command, form, policy, idempotent=idempotent, effect=effect)
        except (ValidationRejected, RegistryRefused) as exc:
            code = exc.upstream_code or ""
            if command in ON_OUR_DOMAIN and code == AMBIGUOUS_CODE:
                raise _ambiguous(command, exc) from None
            # A command on a domain of ours answered "no such domain": NotFound, not a rejection.
            if command in ON_OUR_DOMAIN and code in NOT_FOUND_ON_INFO:
                raise NotFound(
                    f"{params.get('domain', '')} is not in our account ({exc.upstream_code}: {exc.message})",
                    provider=PROVIDER,
                    status=exc.status,
                    upstream_code=exc.upstream_code,
                ) from None
            raise

    def _send(
        self, command: str, form: dict[str, str], policy: CallPolicy, *, idempotent: bool, effect: bool
    ) -> dict[str, Any]:
        return self.client.call(
            "POST",
            self.url,
            operation=command,
            interpret=envelope_data,
            idempotent=idempotent,
            policy=policy,
            effect=effect,
            data=form,
            auth=self._auth,
            headers={"Accept": "application/json"},
        )

    def _day2(
        self,
        command: str,
        params: dict[str, str],
        policy: CallPolicy,
        *,
        idempotent: bool,
        effect: bool = False,
    ) -> dict[str, Any]:
        with ambiguous_10002(command):
            return self._command(command, params, policy, idempotent=idempotent, effect=effect)
