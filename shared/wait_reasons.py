"""Why a job waits: one stable, low-cardinality label per kind of wait, stored beside the free text.

A delivery that gives its job back (``waiting``, or ``partial`` for a lookup) stores two things on the
row: ``wait_reason``, the text a human reads (``regq status``, the API's ``waiting_reason``), and
``wait_code``, one of :class:`WaitReason`, which ``regq jobs`` shows and the exporter counts
(``regq_jobs_waiting{reason}``). The code is taken from the error's CLASS (:func:`wait_reason_of`) or
from the runner's own decision (lock held, breaker refused, backoff after a failed attempt), never
parsed out of the text. A row written before the column existed (or by a path that names no code)
reads as ``other``.
"""

from __future__ import annotations

from enum import StrEnum

from shared.errors import (
    AwaitingRegistry,
    BackendUnavailable,
    BreakerOpen,
    ContactPending,
    NeedsOperator,
    PartialLookup,
    RateLimited,
    RegqError,
    Throttled,
    TransferPending,
)


class WaitReason(StrEnum):
    OPERATOR = "operator"  # NeedsOperator: an ambiguous registry answer; a human must look
    RATE_LIMIT = "rate_limit"  # our shared limiter, a block window, an upstream 429 (Throttled, RateLimited)
    BREAKER = "breaker"  # the registrar's circuit breaker is open (or half-open, its probes taken)
    TRANSFER = "transfer"  # a started transfer / owner change still running at the registry (days)
    REGISTRY = "registry"  # a change accepted, the registry does not show it yet (AwaitingRegistry)
    IN_USE = "in_use"  # another job holds the domain lock or is creating the same registry contact
    PARTIAL = "partial"  # a lookup answered part of its data and waits for the rest
    SHARED_FETCH = "shared_fetch"  # a lookup waits on another worker's fetch of the same data (singleflight)
    BACKEND = "backend"  # our own Redis (limiter, breaker, locks) did not answer
    RETRY = "retry"  # a failed attempt waits its backoff (counted; fails after REGQ_MAX_ATTEMPTS)
    LEASE_EXPIRED = "lease_expired"  # queued again: the worker that held it died (lease ran out)
    OTHER = "other"  # no code stored (a row older than the column)


#: Most specific class first: ContactPending is a Throttled, and is told apart.
_BY_CLASS: tuple[tuple[type[RegqError], WaitReason], ...] = (
    (NeedsOperator, WaitReason.OPERATOR),
    (PartialLookup, WaitReason.PARTIAL),
    (TransferPending, WaitReason.TRANSFER),
    (AwaitingRegistry, WaitReason.REGISTRY),
    (ContactPending, WaitReason.IN_USE),
    (Throttled, WaitReason.RATE_LIMIT),
    (RateLimited, WaitReason.RATE_LIMIT),
    (BreakerOpen, WaitReason.BREAKER),
    (BackendUnavailable, WaitReason.BACKEND),
)


_CODES = frozenset(r.value for r in WaitReason)


def wait_reason_of(exc: BaseException) -> WaitReason:
    """The label of a wait caused by ``exc`` (a ``wait``-disposition error): from its class only. A
    class defined outside ``shared.errors`` names its label itself (``wait_code``, a class attribute:
    the singleflight's waits), as this module may not import the packages that define them."""
    own = getattr(type(exc), "wait_code", None)
    if own in _CODES:
        return WaitReason(own)
    for cls, reason in _BY_CLASS:
        if isinstance(exc, cls):
            return reason
    return WaitReason.OTHER


def label(code: str | None) -> str:
    """A stored code as its label: ``other`` for none or one this version does not know."""
    return code if code in _CODES else WaitReason.OTHER.value
