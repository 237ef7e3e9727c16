"""regq's error hierarchy. Every failure a caller may act on is one of these::

    RegqError                       policy: runner / breaker / final status (see below)
    ├── ConfigError                 a setting is missing or malformed (names the REGQ_ variable)
    │   └── UnknownRegistrar        no gateway for that registrar name
    ├── JobValidationError          a job is malformed (each field and the reason)  final / - / rejected
    ├── IdempotencyConflict         same key, other parameters
    ├── JobNotFound                 no job with that key
    ├── JobUnsuccessful             task only: the job ended failed/rejected -> FAILURE, acked, no retry
    ├── JobDeferred                 task only: why a deferred job's task retries (Flower's RETRY text)
    ├── OutboundRefused             the outbound policy refused a target (SSRF)      final / - / failed
    ├── Inconsistent                registrar state contradicts what the job did     final / ok / failed
    ├── Unsupported                 the registrar does not offer this operation      final / - / rejected
    ├── NotTransferable             the registrar's check: it cannot move in now     final / ok / rejected
    ├── TransferFailed              a started transfer failed, or never ended        final / ok / failed
    ├── BackendUnavailable          Redis (limiter, breaker, locks, caches) did not answer  wait / - / -
    ├── MustWait                    run again after .retry_after; not an attempt      wait / - / -
    │   ├── Throttled               our shared limiter (or a block window) says wait wait / - / -
    │   │   └── ContactPending      another job is creating the same contact         wait / - / -
    │   ├── AwaitingRegistry        change accepted; the registry does not show it   wait / - / -
    │   ├── TransferPending         a started transfer is still running              wait / - / -
    │   ├── NeedsOperator           ambiguous registry answer: a human must look     wait / - / -
    │   └── PartialLookup           a lookup answered part of its data (.result)      wait / - / -
    └── UpstreamError               an upstream call failed; .code (RegistrarErrorCode)
        ├── AuthError               401/403: bad or expired credentials, never retried  final / ok / failed
        ├── ValidationRejected      the registrar rejected the content; .fields      final / ok / rejected
        ├── DomainUnavailable       taken, reserved, premium, not registrable by us  final / ok / failed
        ├── NotFound                the object does not exist at the registrar       final / ok / failed
        ├── RegistryRefused         business error outside our code table            final / ok / failed
        ├── RateLimited             429 or a throttling text; .retry_after           wait / ok / -
        ├── AnswerPending           alive, no answer yet (Gandi "pending")           retry / ok / -
        ├── TransientError          5xx, connection trouble                          retry / fail / -
        │   ├── NotSentError        the request never reached the upstream (connect error, reset)
        │   └── AmbiguousError      sent, no answer: the effect may or may not have happened
        │       └── DeadlineExceeded the whole answer did not arrive within the read deadline
        ├── ProtocolError           malformed answer: non-JSON, truncated, no envelope  retry / fail / -
        │   └── ResponseTooLarge    the answer exceeded the outbound size cap
        └── BreakerOpen             the shared circuit breaker refuses calls         wait / - / -

The columns are class attributes, read by the runner in one place (``shared.execution.policy``):

* ``disposition``: ``wait`` (re-run after ``retry_after``; not an attempt), ``retry`` (re-run with
  backoff; an attempt, the job fails after ``REGQ_MAX_ATTEMPTS``), ``final`` (the job ends now);
* ``breaker``: ``failure`` (the upstream looks sick), ``success`` (it answered: alive), ``none`` (no
  request reached it; a half-open probe slot is given back);
* ``final_status``: the job's status when the disposition is ``final`` (``failed`` or ``rejected``).

``retriable`` (``disposition != "final"``) is kept for callers that only ask "may trying later help?".
Messages never carry secrets: tokens, passwords, authinfo, domain passwords, CNP, e-mail or phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal

Disposition = Literal["wait", "retry", "final"]
BreakerVerdict = Literal["failure", "success", "none"]
FinalStatus = Literal["failed", "rejected"]


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
    REGISTRY = "registry_error"


class RegqError(Exception):
    """Base of every regq error. The class attributes are the runner's policy (see the module doc)."""

    disposition: ClassVar[Disposition] = "final"
    breaker: ClassVar[BreakerVerdict] = "none"
    final_status: ClassVar[FinalStatus] = "failed"

    @property
    def retriable(self) -> bool:
        return self.disposition != "final"


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

    final_status: ClassVar[FinalStatus] = "rejected"

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


class JobUnsuccessful(RegqError):
    """A job's delivery ended it ``failed`` or ``rejected``: its task raises this after the outcome (and its
    webhooks) are stored and published, so Celery and Flower record FAILURE rather than SUCCESS. The runner
    never sees it; the task lists it in ``throws`` (logged at INFO without a traceback, no error log) and the
    worker acks the message: no retry, no requeue (``task_reject_on_worker_lost`` is for a lost worker only).
    The message names the key, status and error code only: no personal data (an outcome's message may
    quote the registrar)."""

    def __init__(self, key: str, status: str, error_code: str | None, duplicate: bool = False) -> None:
        again = " (already final: a repeated delivery)" if duplicate else ""
        super().__init__(f"job {key} ended {status}, error code {error_code or 'none'}{again}")
        self.key = key
        self.status = status
        self.error_code = error_code
        self.duplicate = duplicate

    def __reduce__(self) -> tuple[Any, ...]:  # crosses the worker's process pool: rebuilt from its fields
        return type(self), (self.key, self.status, self.error_code, self.duplicate)


class JobDeferred(RegqError):
    """Why a delivery deferred its job (a wait or a retry with backoff, ``reason`` as the job row records
    it): never raised, handed to Celery's ``Task.retry(exc=...)`` so Flower's RETRY event (and the row
    while the job waits for its ETA) says why. The runner has already stored the reason and the due time."""

    disposition: ClassVar[Disposition] = "wait"

    def __init__(self, key: str, countdown: float, reason: str) -> None:
        super().__init__(f"job {key} runs again in {countdown:.1f} s: {reason}")
        self.key = key
        self.countdown = countdown
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.key, self.countdown, self.reason)


class OutboundRefused(RegqError):
    """The outbound policy refused to talk to a target."""

    code = RegistrarErrorCode.OUTBOUND_REFUSED


class Inconsistent(RegqError):
    """The registrar's state contradicts what this job did (an expiry no term of ours explains): a human
    must look; the job fails rather than guess."""

    code = "inconsistent"
    breaker: ClassVar[BreakerVerdict] = "success"


class Unsupported(RegqError):
    """The registrar does not offer the operation (ROTLD has no transfer lock): the job is ``rejected``
    naming the registrar and the operation, before anything is sent."""

    final_status: ClassVar[FinalStatus] = "rejected"

    def __init__(self, registrar: str, operation: str) -> None:
        super().__init__(f"{registrar} does not offer {operation}")
        self.registrar = registrar
        self.operation = operation


class NotTransferable(RegqError):
    """The registrar's transfer check says ``domain`` cannot move in now (locked, wrong code, already
    ours...): ``rejected`` with the registrar's reason, before anything is paid."""

    code = "not_transferable"
    breaker: ClassVar[BreakerVerdict] = "success"
    final_status: ClassVar[FinalStatus] = "rejected"

    def __init__(self, domain: str, reason: str) -> None:
        super().__init__(f"{domain} cannot be transferred in: {reason}")
        self.domain = domain
        self.reason = reason


class TransferFailed(RegqError):
    """A started transfer ended without the domain: the registry's reason (``transfer_failed``), or no
    answer within REGQ_TRANSFER_MAX_DAYS (``transfer_timeout``). A failed transfer is not refunded.
    An owner change ends the same way (``owner_change_failed``, ``owner_change_timeout``): the job fails."""

    breaker: ClassVar[BreakerVerdict] = "success"

    def __init__(self, message: str, code: str = "transfer_failed") -> None:
        super().__init__(message)
        self.code = code


class BackendUnavailable(RegqError):
    """Our own shared state (Redis: limiter, breaker, domain locks, caches) could not be reached: nothing
    is known to be wrong with the job or its upstream; the delivery gives the job back to run again
    (a send it may have made is reconciled by the next one, as after any interruption)."""

    code = RegistrarErrorCode.TRANSIENT
    disposition: ClassVar[Disposition] = "wait"


class MustWait(RegqError):
    """Nothing failed, but the job cannot finish now: run it again after ``retry_after`` seconds, without
    using an attempt. ``except MustWait`` catches every wait, a human's included (NeedsOperator); catch
    :class:`Throttled` for the limiter's alone."""

    disposition: ClassVar[Disposition] = "wait"

    def __init__(self, provider: str, retry_after: float, reason: str) -> None:
        super().__init__(f"{provider}: {reason}, retry in {retry_after:.3f} s")
        self.provider = provider
        self.retry_after = retry_after
        self.reason = reason


class Throttled(MustWait):
    """The shared limiter (or an active block window) says wait ``retry_after`` seconds before calling."""

    def __init__(self, provider: str, retry_after: float, reason: str = "rate limit") -> None:
        super().__init__(provider, retry_after, f"throttled by {reason}")
        self.reason = reason


class ContactPending(Throttled):
    """Another job holds the claim on this registrant's registry contact and is creating it.

    A wait, like Throttled: no request was sent, nothing failed upstream (a circuit breaker must not count
    it); try again after ``retry_after`` seconds, when the contact id is saved or the claim has expired.
    """

    def __init__(self, provider: str, retry_after: float) -> None:
        super().__init__(provider, retry_after, "another job is creating this registrant's contact")


class AwaitingRegistry(MustWait):
    """The registrar accepted our change (a renewal) but still shows the old state after the read-back
    window: wait and read again; never send the change again."""

    def __init__(
        self, provider: str, retry_after: float, reason: str = "the registry does not show it yet"
    ) -> None:
        super().__init__(provider, retry_after, reason)


class TransferPending(MustWait):
    """A transfer-in (or an owner change) was started and is still running at the registrar (the losing
    registrar, the FOA e-mail, the registry's 5 days): read its state again after ``retry_after``; never
    start it again."""


class NeedsOperator(MustWait):
    """The registrar's answer leaves it open whether our effect happened (an error we cannot read as
    "not found"): the job waits, re-reading now and then, and never re-sends blindly; ``regq status``
    shows the reason so a human can look."""

    def __init__(self, provider: str, retry_after: float, reason: str) -> None:
        super().__init__(provider, retry_after, f"needs an operator: {reason}")


class PartialLookup(MustWait):
    """A lookup's sub-step was throttled or down: ``result`` holds what is known (``partial: true``); the
    job is stored as ``partial`` and runs again after ``retry_after`` for the rest (not an attempt)."""

    def __init__(self, retry_after: float, reason: str, result: dict[str, Any]) -> None:
        super().__init__("lookup", retry_after, f"partial lookup: {reason}")
        self.result = result


class UpstreamError(RegqError):
    """An upstream call failed. ``code`` says how; the class attributes say what the runner does."""

    code: RegistrarErrorCode = RegistrarErrorCode.PROTOCOL
    breaker: ClassVar[BreakerVerdict] = "success"  # an answer came back: the upstream is alive

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
    final_status: ClassVar[FinalStatus] = "rejected"

    def __init__(self, message: str, *, fields: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.fields = list(fields)


class DomainUnavailable(UpstreamError):
    code = RegistrarErrorCode.UNAVAILABLE


class NotFound(UpstreamError):
    code = RegistrarErrorCode.NOT_FOUND


class RegistryRefused(UpstreamError):
    """The registrar answered with a business error outside our code table (insufficient balance, not
    renewable yet, ...): final, with the registrar's code and message; not a sign of sickness."""

    code = RegistrarErrorCode.REGISTRY


class RateLimited(UpstreamError):
    code = RegistrarErrorCode.RATE_LIMITED
    disposition: ClassVar[Disposition] = "wait"


class AnswerPending(UpstreamError):
    """The upstream answered "ask again later": retriable, but no sign of sickness for the breaker."""

    code = RegistrarErrorCode.TRANSIENT
    disposition: ClassVar[Disposition] = "retry"


class TransientError(UpstreamError):
    code = RegistrarErrorCode.TRANSIENT
    disposition: ClassVar[Disposition] = "retry"
    breaker: ClassVar[BreakerVerdict] = "failure"


class NotSentError(TransientError):
    code = RegistrarErrorCode.NOT_SENT


class AmbiguousError(TransientError):
    code = RegistrarErrorCode.AMBIGUOUS


class DeadlineExceeded(AmbiguousError):
    """The answer (status line, headers and body) did not arrive in full within the read deadline: a
    peer trickling bytes never trips a per-read timeout. Sent, so the effect may have happened."""


class ProtocolError(UpstreamError):
    code = RegistrarErrorCode.PROTOCOL
    disposition: ClassVar[Disposition] = "retry"
    breaker: ClassVar[BreakerVerdict] = "failure"


class ResponseTooLarge(ProtocolError):
    """The answer was larger than the outbound policy's ``max_bytes``; it was not read to the end."""


class BreakerOpen(UpstreamError):
    code = RegistrarErrorCode.BREAKER_OPEN
    disposition: ClassVar[Disposition] = "wait"
    breaker: ClassVar[BreakerVerdict] = "none"


def call_verdict(error: BaseException | None) -> BreakerVerdict:
    """What one upstream call tells the breaker: an answer is ``success``; a typed error says itself
    (its class's ``breaker``); anything else (our own bug, a lease lost) says nothing of the upstream."""
    if error is None:
        return "success"
    return error.breaker if isinstance(error, RegqError) else "none"
