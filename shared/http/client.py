"""``OutboundClient``: every upstream HTTP request regq makes goes through here.

The caller passes ONE object for the request, its :class:`RequestPolicy` (regq's is
:class:`shared.upstream.policy.CallPolicy`: limiter, breaker, lease check, effect phase), and the client
calls it at fixed points. Per request (retries and the one followed redirect included), in order:

1. :func:`~shared.http.policy.check_url` (allowlist, scheme, vetted addresses) -> OutboundRefused;
2. ``policy.before_send(provider, operation)``: breaker permit, limiter token, lease check; may raise
   ``BreakerOpen``, ``Throttled`` or the lease's own error, and the request is not sent;
3. the request itself: TLS always verified (the policy's ``ca_bundle`` for a private CA), no automatic
   redirects, no proxies or ``.netrc``
   (``trust_env=False``), connect/read timeouts from the policy, streamed and capped at ``max_bytes``,
   the whole exchange within the policy's ``read_deadline`` (:mod:`shared.http.deadline`: a trickling
   answer never trips a per-read timeout) -> DeadlineExceeded;
   connections only go to vetted addresses (:mod:`shared.http.pinning`). For a request that makes the
   job's effect (``effect=True``), ``policy.before_effect(operation)`` runs right before it leaves with
   credentials (with Digest auth: before the resend that answers the challenge, which first goes
   through ``policy.before_send(provider, "digest-challenge")``, :mod:`shared.http.digest`);
4. the answer is interpreted: a 3xx to another origin -> OutboundRefused, 429 -> RateLimited (never
   retried here: the task layer waits out the block window), then the caller's ``interpret`` (the
   registrar's answer mapping) turns the answer into a value or a typed error;
5. ONE :class:`~shared.audit.ApiCall` row (path only, status, latency, error code, the policy's job key
   and attempt), then ``policy.after_response(provider, status, retry_after, verdict)`` (status None
   when no answer came; ``verdict`` what this one call says of the upstream's health).

Before a retry inside the call: ``policy.before_retry(provider, operation)``.

Retries inside one call: up to ``tries`` (settings.http_tries), backoff ``HTTP_BACKOFF_SECONDS`` with
the one jitter (:mod:`shared.backoff`: never shorter, up to a quarter longer) through an injectable
``sleep``. A NotSentError is always retried (nothing reached the server). Other transient errors (read
timeout, dropped connection, 5xx without ``Retry-After``) are retried only for ``idempotent`` requests: a
register/renew POST that may have reached the server is never re-sent blindly (its AmbiguousError goes up
to be reconciled).

A client holds one ``requests.Session`` (keep-alive; Digest nonces are reused by the gateway's auth
object), which requests does not promise to be thread-safe (https://github.com/psf/requests/issues/2766):
``shared.services`` builds one gateway, so one client, per registrar and process, used by one delivery at
a time (a prefork pool child runs one task at a time).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import SplitResult, urljoin, urlsplit

import requests

from shared import backoff, defaults
from shared.audit import ApiCall, AuditSink
from shared.errors import (
    BreakerVerdict,
    NotSentError,
    OutboundRefused,
    ProtocolError,
    RateLimited,
    RegqError,
    ResponseTooLarge,
    TransientError,
    UpstreamError,
    call_verdict,
)
from shared.http.deadline import ReadDeadline, exchange_within
from shared.http.pinning import pinned_session
from shared.http.policy import OutboundPolicy, check_url, same_origin
from shared.http.redact import get_logger
from shared.http.retry_after import parse_retry_after
from shared.http.translate import translate_errors

T = TypeVar("T")
log = get_logger("regq.http")
USER_AGENT = "regq/0.1"
_REFUSED_KWARGS = frozenset({"verify", "allow_redirects", "stream", "proxies", "cert"})
_CHUNK = 64 * 1024


class RequestPolicy(Protocol):
    """What the client calls at fixed points of every request (:class:`shared.upstream.CallPolicy`)."""

    job_key: str | None
    attempt: int | None

    def before_send(self, provider: str, operation: str) -> None:
        """Right before a request leaves: may raise (Throttled, BreakerOpen, a lost lease) to stop it."""

    def before_effect(self, operation: str) -> None:
        """Right before the request that makes the job's effect leaves with its credentials."""

    def after_response(
        self, provider: str, status: int | None, retry_after: float | None, verdict: BreakerVerdict = "none"
    ) -> None:
        """After each request: ``status`` None when no answer came (timeout, reset)."""

    def before_retry(self, provider: str, operation: str) -> None:
        """Before a retry inside one call: raise BreakerOpen if the fleet's breaker opened meanwhile."""


@dataclass(frozen=True)
class HttpResponse:
    """A fully read (size-capped) answer."""

    provider: str
    status: int
    headers: Mapping[str, str] = field(repr=False)
    content: bytes = field(repr=False)
    path: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.header("Retry-After"))

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ProtocolError when it is not JSON (an HTML error page, a cut-off body)."""
        try:
            return json.loads(self.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            kind = self.header("Content-Type") or "no content type"
            raise ProtocolError(
                f"answer is not JSON (HTTP {self.status}, {kind[:40]}, {len(self.content)} bytes)",
                provider=self.provider,
                status=self.status,
            ) from None


def _read_capped(
    resp: requests.Response, provider: str, max_bytes: int, watch: ReadDeadline | None = None
) -> bytes:
    declared = (resp.headers.get("Content-Length") or "").strip()
    too_large = ResponseTooLarge(
        f"answer larger than {max_bytes} bytes", provider=provider, status=resp.status_code
    )
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    for chunk in resp.iter_content(_CHUNK):
        if watch is not None and watch.expired:
            break  # the caller raises DeadlineExceeded
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return bytes(body)


def _nothing() -> None:
    return None


class OutboundClient:
    def __init__(
        self,
        provider: str,
        policy: OutboundPolicy,
        audit: AuditSink,
        *,
        tries: int = defaults.HTTP_TRIES,
        backoff: Sequence[float] = defaults.HTTP_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.policy = policy
        self.audit = audit
        self.tries = max(1, tries)
        self.backoff = tuple(backoff) or (0.0,)
        self.sleep = sleep
        self.rng = rng
        self._verify: bool | str = policy.ca_bundle or True
        self.session = pinned_session(policy, USER_AGENT)  # no proxies, no .netrc credentials

    def close(self) -> None:
        self.session.close()

    # -- public API ---------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        idempotent: bool,
        policy: RequestPolicy | None = None,
        effect: bool = False,
        **requests_kwargs: Any,
    ) -> HttpResponse:
        """Send one logical request (with retries); the answer as is, except 429 -> RateLimited."""
        return self.call(
            method,
            url,
            operation=operation,
            interpret=lambda response: response,
            idempotent=idempotent,
            policy=policy,
            effect=effect,
            **requests_kwargs,
        )

    def call(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        interpret: Callable[[HttpResponse], T],
        idempotent: bool,
        policy: RequestPolicy | None = None,
        effect: bool = False,
        **requests_kwargs: Any,
    ) -> T:
        """Like :meth:`request`, with ``interpret`` mapping the answer to a value or a typed error.

        An error raised by ``interpret`` is recorded in the audit row and takes part in the retry decision.
        ``policy`` is called at the fixed points of the module docstring (None: nothing is checked, as
        for a test's bare request). ``effect``: this request makes the job's effect (a create, a renew):
        ``policy.before_effect`` runs right before it leaves with credentials.
        """
        refused = _REFUSED_KWARGS & requests_kwargs.keys()
        if refused:
            raise ValueError(f"OutboundClient controls {', '.join(sorted(refused))} itself")
        for number in range(1, self.tries + 1):
            try:
                return self._once(
                    method, url, operation, interpret, idempotent, requests_kwargs, policy, effect
                )
            except UpstreamError as exc:
                if number >= self.tries or not self._may_retry(exc, idempotent):
                    raise
                delay = self._delay(number)
                log.info(
                    "%s %s: %s (%s), try %d of %d in %.2f s",
                    self.provider, operation, exc.code.value, exc.message, number + 1, self.tries, delay,
                )  # fmt: skip
                self.sleep(delay)
                if policy is not None:
                    policy.before_retry(self.provider, operation)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- internals ----------------------------------------------------------------------------------
    @staticmethod
    def _may_retry(exc: UpstreamError, idempotent: bool) -> bool:
        if isinstance(exc, NotSentError):
            return True
        return idempotent and isinstance(exc, TransientError) and exc.retry_after is None

    def _delay(self, number: int) -> float:
        base = self.backoff[min(number - 1, len(self.backoff) - 1)]
        return backoff.jitter(base, self.rng)

    def _preflight(self, url: str) -> SplitResult:
        try:
            return check_url(url, self.policy)
        except (OSError, UnicodeError) as exc:  # socket.gaierror: the name does not resolve
            message = f"cannot resolve the host ({type(exc).__name__})"
            raise NotSentError(message, provider=self.provider) from None

    def _once(
        self,
        method: str,
        url: str,
        operation: str,
        interpret: Callable[[HttpResponse], T],
        idempotent: bool,
        kwargs: dict[str, Any],
        policy: RequestPolicy | None,
        effect: bool,
    ) -> T:
        target = self._preflight(url)
        redirects = 0
        while True:
            if policy is not None:
                policy.before_send(self.provider, operation)
            started = time.monotonic()
            status: int | None = None
            retry_after: float | None = None
            error: Exception | None = None
            try:
                with self._bound(policy, operation, effect, kwargs.get("auth")):
                    response = self._send(method, target, kwargs)
                status, retry_after = response.status, response.retry_after
                location = self._redirect_target(response, target, idempotent, redirects)
                if location is None:
                    if status == 429:
                        raise RateLimited(
                            f"rate limited (HTTP 429), retry after {retry_after} s",
                            provider=self.provider,
                            status=status,
                            retry_after=retry_after,
                        )
                    return interpret(response)
            except Exception as exc:
                error = exc
                raise
            finally:
                self._record(operation, method, target.path or "/", status, started, error, policy)
                if policy is not None:
                    policy.after_response(self.provider, status, retry_after, call_verdict(error))
            target = self._preflight(location.geturl())
            redirects += 1
            if status == 303:
                method = "GET"
                kwargs = {k: v for k, v in kwargs.items() if k not in ("data", "json", "files")}

    @contextmanager
    def _bound(self, policy: RequestPolicy | None, operation: str, effect: bool, auth: Any) -> Iterator[None]:
        """The policy's effect point, right before the request that makes the effect leaves: now, or, with
        an auth that first earns a challenge (Digest), before the send that carries credentials; that auth's
        resend goes through ``policy.before_send`` like any other request."""
        on_effect = (lambda: policy.before_effect(operation)) if policy is not None and effect else None
        exchange = getattr(auth, "exchange", None)
        if exchange is None:
            if on_effect is not None:
                on_effect()
            yield
            return
        before_resend = (
            (lambda: policy.before_send(self.provider, "digest-challenge")) if policy else _nothing
        )
        with exchange(before_resend, on_effect):
            yield

    def _send(self, method: str, target: SplitResult, kwargs: dict[str, Any]) -> HttpResponse:
        """One exchange, bounded as a whole by the policy's ``read_deadline`` (:mod:`.deadline`)."""
        options = {"timeout": self.policy.timeout, **kwargs}
        with exchange_within(self.policy.read_deadline, self.provider) as watch:
            with translate_errors(self.provider):
                resp = self.session.request(
                    method, target.geturl(), allow_redirects=False, stream=True, verify=self._verify,
                    **options,
                )  # fmt: skip
            try:
                with translate_errors(self.provider, answered=True):
                    content = _read_capped(resp, self.provider, self.policy.max_bytes, watch)
            finally:
                resp.close()
        return HttpResponse(self.provider, resp.status_code, resp.headers, content, target.path or "/")

    def _redirect_target(
        self, response: HttpResponse, target: SplitResult, idempotent: bool, redirects: int
    ) -> SplitResult | None:
        """Where a 3xx points, if it may be followed; OutboundRefused for another origin."""
        location = response.header("Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return None
        nxt = urlsplit(urljoin(target.geturl(), location.strip()))
        if not same_origin(target, nxt):
            raise OutboundRefused(
                f"{self.provider}: redirect to another origin ({nxt.scheme}://{nxt.hostname}) refused"
            )
        if redirects >= 1:
            raise ProtocolError("more than one redirect", provider=self.provider, status=response.status)
        if not idempotent and response.status not in (307, 308):
            raise ProtocolError(
                f"unexpected redirect (HTTP {response.status}) answering a non-idempotent request",
                provider=self.provider,
                status=response.status,
            )
        return nxt

    def _record(
        self,
        operation: str,
        method: str,
        path: str,
        status: int | None,
        started: float,
        error: Exception | None,
        policy: RequestPolicy | None,
    ) -> None:
        latency_ms = round((time.monotonic() - started) * 1000.0, 1)
        if error is None:
            code = None
        elif isinstance(error, UpstreamError | OutboundRefused):
            code = error.code.value
        else:
            code = "unexpected" if not isinstance(error, RegqError) else type(error).__name__
        key, attempt = (policy.job_key, policy.attempt) if policy is not None else (None, None)
        self.audit.record_call(
            ApiCall(self.provider, operation, method, path, status, latency_ms, code, key, attempt)
        )
        log.debug("%s %s %s %s -> %s in %.1f ms%s", self.provider, operation, method, path, status,
                  latency_ms, f" ({code})" if code else "")  # fmt: skip
