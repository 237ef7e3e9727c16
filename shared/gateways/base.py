"""The registrar gateway interface and its result models.

A gateway performs ONE logical registrar operation per method call. It raises only
:class:`~shared.errors.UpstreamError` subclasses (plus ``OutboundRefused``, ``Throttled`` and
``BreakerOpen`` from the policy, and ``ConfigError`` when credentials are missing); the task layer
decides what to do with them.
Results are frozen dataclasses; ``to_dict()`` gives JSON-ready dicts (dates ISO, Decimal as string).
They never contain secrets (authinfo, domain passwords) or personal data.

Every method takes the delivery's :class:`~shared.upstream.policy.CallPolicy` and passes it, untouched,
to the outbound client with each request; the request that makes the job's effect (a create, a renew)
is marked ``effect=True``, and only that one (not a contact-create, not nameservers).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol, TypeVar

from shared.errors import NotFound, ValidationRejected
from shared.jobs import RegisterJob, RenewJob
from shared.names import parse_domain
from shared.upstream.policy import CallPolicy


def _json(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


class _Result:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _json(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Availability(_Result):
    """``status`` is the registrar's own word; ``retriable``: ask again later (pending, error_timeout)."""

    domain: str
    available: bool
    status: str
    retriable: bool = False
    price: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class RegisteredDomain(_Result):
    """``nameservers``: what the registrar shows right after the create (None when it was not read)."""

    domain: str
    expires_at: date
    created_at: date | None = None
    nameservers: list[str] | None = None


@dataclass(frozen=True)
class RenewedDomain(_Result):
    domain: str
    expires_at: date


@dataclass(frozen=True)
class DomainInfo(_Result):
    domain: str
    expires_at: date | None
    statuses: list[str] = field(default_factory=list)
    nameservers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DryRunResult(_Result):
    """``ok`` when the registrar would accept the registration; ``errors`` names the offending fields."""

    domain: str
    ok: bool
    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


R = TypeVar("R")


def read_back(
    read: Callable[[], R],
    done: Callable[[R], bool],
    seconds: float,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    first: float,
    largest: float,
) -> tuple[R, bool]:
    """Read until ``done(value)`` (a ``read`` may give None while the object is not visible yet), waiting
    ``first`` seconds, doubling up to ``largest``, for at most ``seconds``: ``(value, True)`` when done,
    else ``(the last value read, False)``. How a registrar's write is confirmed after its answer."""
    deadline = clock() + seconds
    delay = first
    while True:
        last = read()
        if done(last):
            return last, True
        if clock() + delay > deadline:
            return last, False
        sleep(delay)
        delay = min(largest, delay * 2)


def ascii_domain(domain: str, provider: str) -> str:
    """The lower-cased A-label form; ValidationRejected (nothing sent) for a malformed name."""
    try:
        return parse_domain(domain).ascii
    except ValueError as exc:
        raise ValidationRejected(
            f"invalid domain name, not sent ({exc})", provider=provider, fields=["domain"]
        ) from None


def parse_day(value: Any) -> date | None:
    """A date from ``2026-05-01``, ``2026-05-01T10:00:00Z`` or ``...+02:00`` (UTC day); None if unusable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


class ContactClaimLike(Protocol):
    @property
    def contact_id(self) -> str | None: ...

    @property
    def claimed(self) -> bool: ...


class ContactDirectory(Protocol):
    """Registry contacts by registrant fingerprint (``shared.store.contacts.RegistryContacts``)."""

    def claim(
        self, registrar: str, fingerprint: str, owner: str, seconds: float = 60
    ) -> ContactClaimLike: ...

    def save(self, registrar: str, fingerprint: str, contact_id: str) -> None: ...

    def release(self, registrar: str, fingerprint: str, owner: str) -> None: ...

    def forget(self, registrar: str, fingerprint: str, contact_id: str) -> None: ...


class Gateway(ABC):
    """One registrar. Instances hold an HTTP session: one instance per thread."""

    name: ClassVar[str]

    @abstractmethod
    def check(self, domain: str, policy: CallPolicy) -> Availability:
        """Is ``domain`` available for registration (with the price when the registrar gives one)?"""

    @abstractmethod
    def register(self, job: RegisterJob, policy: CallPolicy) -> RegisteredDomain:
        """Register, then read the new expiry back. Never re-sends the create after an ambiguous failure."""

    @abstractmethod
    def renew(self, job: RenewJob, policy: CallPolicy, *, expected: date | None = None) -> RenewedDomain:
        """Renew by ``job.years``, then read the new expiry back until it shows ``expected`` (the term's
        new expiry, which the caller knows); a registry still showing the old date after the read-back
        window raises :class:`~shared.errors.AwaitingRegistry` (the renewal WAS accepted)."""

    @abstractmethod
    def info(self, domain: str, policy: CallPolicy) -> DomainInfo:
        """The domain as the registrar sees it; NotFound when it is not in our account."""

    def find(self, domain: str, policy: CallPolicy, *, settle: bool = False) -> DomainInfo | None:
        """The domain if it is in our account, else None. With ``settle`` it may have been created moments
        ago: a registrar with a read-after-create window waits it out before answering None."""
        try:
            return self.info(domain, policy)
        except NotFound:
            return None

    @abstractmethod
    def dry_run_register(self, job: RegisterJob, policy: CallPolicy) -> DryRunResult:
        """Validate a registration without acting."""

    @abstractmethod
    def set_nameservers(
        self,
        domain: str,
        hosts: list[str],
        policy: CallPolicy,
        *,
        glue: Mapping[str, list[str]] | None = None,
    ) -> None:
        """Replace the domain's nameservers (idempotent: the same list twice is harmless). ``glue`` gives
        the addresses of the in-zone ones, created at the registry first."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the HTTP session."""

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
