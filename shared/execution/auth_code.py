"""The transfer (auth) code of a domain we hold, read synchronously: NOT a job.

Its answer must reach only its caller (the API response, the CLI's stdout), so nothing of it is stored:
no job row, no outcome, no webhook. The request still goes through the fleet's rules, as a delivery's
would: the process's limiter guard and a :class:`~shared.upstream.reporter.CallReporter` on the
registrar's breaker (no lease: there is no job). An open breaker or the limiter's "wait" is raised
(:class:`~shared.errors.BreakerOpen`, :class:`~shared.errors.Throttled`, each with ``retry_after``) for the
caller to answer "retry later"; a registrar without auth codes (ROTLD: the registrant reads the key in the
registry's own panel) raises :class:`~shared.errors.Unsupported` naming itself, before any request.

The audit rows the gateway writes carry the request, never the code (the gateway registers it as a secret
for redaction and the :class:`~shared.gateways.day2.AuthCode` has no ``to_dict``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from shared.breaker.base import Breaker
from shared.errors import BreakerOpen, RegqError
from shared.execution.day2_ops import day2
from shared.gateways.day2 import AuthCode, Day2Operations
from shared.gateways.registry import gateway_for
from shared.names import parse_domain
from shared.settings import Settings
from shared.store import Store
from shared.tlds import registrar_for
from shared.upstream.guard import Guard
from shared.upstream.policy import CallPolicy
from shared.upstream.reporter import CallReporter

T = TypeVar("T")


class Services(Protocol):
    """What this needs of :class:`shared.services.Services` (which imports this package: no import)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def guard(self) -> Guard: ...
    @property
    def breaker(self) -> Breaker: ...


@dataclass(frozen=True)
class AuthCodeRead:
    """The code (a :class:`~shared.gateways.day2.Secret` inside ``answer``) and where it came from."""

    registrar: str
    answer: AuthCode


def registrar_of(services: Services, domain: str) -> str:
    """The registrar holding ``domain``: the inventory's, else the TLD catalogue's (ValueError: none)."""
    record = services.store.inventory.get(domain)
    if record is not None:
        return record.registrar
    return registrar_for(parse_domain(domain)).value


def call_now(
    services: Services,
    registrar: str,
    operation: str,
    what: str,
    call: Callable[[Day2Operations, CallPolicy], T],
) -> T:
    """One synchronous day-2 ``call`` at ``registrar`` under the fleet's rules (the process guard, a
    :class:`CallReporter` on its breaker): ``operation`` (a method name) not offered -> Unsupported naming
    ``what`` before anything is sent; an open breaker -> BreakerOpen with ``retry_after``."""
    policy = CallPolicy(services.guard, breaker=CallReporter(services.breaker, registrar))
    # A gateway of its own: gateways hold an HTTP session, one per thread, and the API answers on many.
    gateway = gateway_for(registrar, services.settings, audit=services.store.audit)
    try:
        operations = day2(gateway, operation, what)
        permit = policy.admit()
        if not permit.allowed:
            raise BreakerOpen(
                f"circuit breaker for {registrar} is {permit.state}; retry in {permit.retry_after:.0f} s",
                provider=registrar,
                retry_after=permit.retry_after,
            )
        try:
            answer = call(operations, policy)
        except RegqError as exc:
            policy.settle(exc.breaker)
            raise
        except BaseException:
            policy.settle("none")
            raise
        policy.settle("success")
        return answer
    finally:
        gateway.close()


def read_auth_code(
    services: Services, domain: str, reset: bool = False, registrar: str | None = None
) -> AuthCodeRead:
    """``domain``'s auth code (after a reset when ``reset``), from its registrar (``registrar`` when the
    caller has read it already, else :func:`registrar_of`), now."""
    name = parse_domain(domain).ascii
    registrar = registrar or registrar_of(services, name)
    what = "auth-code reset" if reset else "auth-code read"
    answer = call_now(
        services, registrar, "auth_code", what, lambda ops, policy: ops.auth_code(name, policy, reset=reset)
    )
    return AuthCodeRead(registrar, answer)
