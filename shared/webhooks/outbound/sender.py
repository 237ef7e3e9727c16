"""One webhook attempt over the safe outbound policy, and the retry schedule.

:class:`WebhookSender` POSTs a body through the same machinery as the gateways: :func:`check_url`
(scheme, no user-info, every address public unless REGQ_WEBHOOK_ALLOW_PRIVATE), connections pinned to
the vetted addresses (:class:`~shared.http.pinning.PinnedAdapter`: no DNS rebinding), TLS verified, no
proxies, short timeouts, the answer read up to a cap and dropped. It never raises for the receiver's
sake: every attempt is an :class:`AttemptResult`.

- delivered: a 2xx answer;
- refused (``refused``): the policy refused the target; no retry helps, the delivery is ``dead``;
- anything else (another status, a redirect, which is never followed, a timeout, a reset): retried at
  :func:`next_attempt_at`: exponential from REGQ_WEBHOOK_RETRY_BASE_SECONDS, doubling per attempt up to
  REGQ_WEBHOOK_RETRY_MAX_SECONDS, with the one jitter (:mod:`shared.backoff`), until the deadline.

Results carry no URL, header or body: only the status, a short reason and the latency.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import backoff
from shared.errors import OutboundRefused, RegqError, UpstreamError
from shared.http.deadline import exchange_within
from shared.http.pinning import pinned_session
from shared.http.policy import OutboundPolicy, check_url
from shared.http.translate import translate_errors
from shared.settings import Settings

PROVIDER = "webhook"
USER_AGENT = "regq-webhooks/1"
_CHUNK = 16 * 1024


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None
    latency_ms: float
    refused: bool = False

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def webhook_policy(settings: Settings) -> OutboundPolicy:
    """Any host (producers name their own), its addresses vetted; webhook timeouts and answer cap."""
    return OutboundPolicy(
        allowed_hosts=None,
        allow_private=settings.webhook_allow_private,
        connect_timeout=settings.webhook_connect_timeout_seconds,
        read_timeout=settings.webhook_read_timeout_seconds,
        max_bytes=settings.webhook_max_response_bytes,
        # the whole exchange: connecting, then the answer within the read timeout, not per read
        read_deadline=settings.webhook_connect_timeout_seconds + settings.webhook_read_timeout_seconds,
    )


def next_attempt_at(
    attempt: int,
    now: datetime,
    deadline: datetime,
    settings: Settings,
    rng: Callable[[], float] = random.random,
) -> datetime | None:
    """When to try again after failed attempt number ``attempt``; None past ``deadline`` (then dead)."""
    wait = backoff.exponential(
        attempt, settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds
    )
    at = now + timedelta(seconds=backoff.jitter(wait, rng))
    return at if at <= deadline else None


class WebhookSender:
    """POSTs webhooks; one ``requests.Session`` (keep-alive), so one sender per thread."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy
        self.session = pinned_session(policy, USER_AGENT)

    def close(self) -> None:
        self.session.close()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> AttemptResult:
        started = time.monotonic()

        def result(status: int | None, error: str | None, refused: bool = False) -> AttemptResult:
            return AttemptResult(status, error, round((time.monotonic() - started) * 1000.0, 1), refused)

        try:
            target = check_url(url, self.policy)
        except OutboundRefused as exc:
            return result(None, f"refused: {exc}", refused=True)
        except (OSError, UnicodeError) as exc:  # socket.gaierror: the name does not resolve
            return result(None, f"cannot resolve the host ({type(exc).__name__})")
        try:
            status = self._send(target.geturl(), body, headers)
        except OutboundRefused as exc:  # at connect time (the pinned adapter): a rebinding answer
            return result(None, f"refused: {exc}", refused=True)
        except UpstreamError as exc:
            return result(None, exc.message)
        except RegqError as exc:
            return result(None, type(exc).__name__)
        if 300 <= status < 400:
            return result(status, f"HTTP {status}: redirects are not followed")
        if not 200 <= status < 300:
            return result(status, f"HTTP {status}")
        return result(status, None)

    def _send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """One POST, bounded as a whole by the policy's read deadline (a receiver trickling its answer
        does not hold a maintenance worker: :mod:`shared.http.deadline`)."""
        with exchange_within(self.policy.read_deadline, PROVIDER) as watch:
            with translate_errors(PROVIDER):
                response = self.session.post(
                    url,
                    data=body,
                    headers=dict(headers),
                    timeout=self.policy.timeout,
                    allow_redirects=False,
                    stream=True,
                    verify=True,
                )
            try:
                with translate_errors(PROVIDER, answered=True):
                    read = 0
                    for chunk in response.iter_content(_CHUNK):  # the answer is unused: read a little
                        read += len(chunk)
                        if read >= self.policy.max_bytes or watch.expired:
                            break
            finally:
                response.close()
        return response.status_code
