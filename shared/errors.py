"""regq's error hierarchy. Every failure a caller may act on is one of these::

    RegqError
    ├── ConfigError                  a setting is missing or malformed (names the REGQ_ variable)
    │   └── UnknownRegistrar         no gateway for that registrar name
    ├── JobValidationError           a job is malformed (names each field and the reason)
    ├── IdempotencyConflict          same key, other parameters
    ├── JobNotFound                  no job with that key
    ├── OutboundRefused              the outbound policy refused a target (SSRF guard, redirect, TLS cert)
    ├── Throttled                    our own shared limiter says wait; not an attempt, not a failure
    │   └── ContactPending           another job is creating the same registry contact; wait, retry
    └── UpstreamError                an upstream call failed; .code (RegistrarErrorCode), .retriable
        ├── AuthError                401/403: bad or expired credentials; never retried
        ├── ValidationRejected       the registrar rejected the request's content; .fields names it
        ├── DomainUnavailable        taken, reserved, premium or otherwise not registrable by us
        ├── NotFound                 the object does not exist at the registrar
        ├── RateLimited              429 or a throttling text; .retry_after seconds
        ├── AnswerPending            the upstream is alive but has no answer yet (Gandi "pending")
        ├── TransientError           5xx, connection trouble; retriable
        │   ├── NotSentError         the request never reached the upstream (connect error, reset)
        │   └── AmbiguousError       sent, but no answer: the effect may or may not have happened
        ├── ProtocolError            malformed answer: non-JSON, truncated, unknown result code
        │   └── ResponseTooLarge     the answer exceeded the outbound size cap (reading stopped)
        └── BreakerOpen              the shared circuit breaker refuses calls; .retry_after seconds

Messages never carry secrets: tokens, passwords, authinfo, domain passwords, CNP, e-mail or phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class RegistrarErrorCode(StrEnum):
    AUTH = "auth"
    VALIDATION = "validation"
    UNAVAILABLE = "domain_unavailable"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    NOT_SENT = "not_sent"
    AMBIGUOUS = "ambiguous"
    PROTOCOL = "protocol"
    BREAKER_OPEN = "breaker_open"
    OUTBOUND_REFUSED = "outbound_refused"
    CONFLICT = "conflict"


class RegqError(Exception):
    """Base of every regq error."""


class ConfigError(RegqError):
    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable
        self.reason = reason


@dataclass(frozen=True)
class FieldProblem:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class JobValidationError(RegqError):
    """A job failed validation; ``problems`` names each field and why."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class UnknownRegistrar(ConfigError):
    """No gateway is registered under that registrar name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__("registrar", f"unknown registrar {name!r}; known: {', '.join(known)}")
        self.name = name


class IdempotencyConflict(RegqError):
    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used with other parameters")
        self.key = key


class JobNotFound(RegqError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no job with key {key!r}")
        self.key = key


class OutboundRefused(RegqError):
    """The outbound policy refused to talk to a target."""

    code = RegistrarErrorCode.OUTBOUND_REFUSED
    retriable = False


class Throttled(RegqError):
    """The shared limiter (or an active block window) says wait ``retry_after`` seconds before calling."""

    def __init__(self, provider: str, retry_after: float, reason: str = "rate limit") -> None:
        super().__init__(f"{provider}: throttled by {reason}, retry in {retry_after:.3f} s")
        self.provider = provider
        self.retry_after = retry_after
        self.reason = reason


class ContactPending(Throttled):
    """Another job holds the claim on this registrant's registry contact and is creating it.

    A wait, like Throttled: no request was sent, nothing failed upstream (a circuit breaker must not count
    it); try again after ``retry_after`` seconds, when the contact id is saved or the claim has expired.
    """

    def __init__(self, provider: str, retry_after: float) -> None:
        super().__init__(provider, retry_after, "another job is creating this registrant's contact")


class UpstreamError(RegqError):
    """An upstream call failed. ``code`` says how; ``retriable`` whether trying later may help."""

    code: RegistrarErrorCode = RegistrarErrorCode.PROTOCOL
    retriable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        upstream_code: str | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}" if provider else message)
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.upstream_code = upstream_code


class AuthError(UpstreamError):
    code = RegistrarErrorCode.AUTH


class ValidationRejected(UpstreamError):
    """``fields`` names what the registrar rejected (e.g. ``owner.phone``, ``domain_password``)."""

    code = RegistrarErrorCode.VALIDATION

    def __init__(self, message: str, *, fields: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.fields = list(fields)


class DomainUnavailable(UpstreamError):
    code = RegistrarErrorCode.UNAVAILABLE


class NotFound(UpstreamError):
    code = RegistrarErrorCode.NOT_FOUND


class RateLimited(UpstreamError):
    code = RegistrarErrorCode.RATE_LIMITED
    retriable = True


class AnswerPending(UpstreamError):
    """The upstream answered "ask again later": retriable, but no sign of sickness for the breaker."""

    code = RegistrarErrorCode.TRANSIENT
    retriable = True


class TransientError(UpstreamError):
    code = RegistrarErrorCode.TRANSIENT
    retriable = True


class NotSentError(TransientError):
    code = RegistrarErrorCode.NOT_SENT


class AmbiguousError(TransientError):
    code = RegistrarErrorCode.AMBIGUOUS


class ProtocolError(UpstreamError):
    code = RegistrarErrorCode.PROTOCOL
    retriable = True


class ResponseTooLarge(ProtocolError):
    """The answer was larger than the outbound policy's ``max_bytes``; it was not read to the end."""


class BreakerOpen(UpstreamError):
    code = RegistrarErrorCode.BREAKER_OPEN
    retriable = True
