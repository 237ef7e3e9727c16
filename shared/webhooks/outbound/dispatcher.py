"""The dispatcher: claim an outbox row, sign its body, send one attempt, record it.

Used by the maintenance tasks (``tasks/webhooks.py``): the job's task publishes ``regq.webhook_deliver``
for each outbox row its outcome added (the ids come back with the outcome: ``tasks.delivery.deliver``),
and that task makes the attempt (:meth:`Dispatcher.deliver`); beat's ``regq.webhook_sweep``
(:meth:`Dispatcher.sweep`) attempts every due delivery: retries, events whose message was lost, claims
whose worker died (their lease lapsed). Two dispatchers never attempt the same delivery at once: each
attempt starts with the guarded claim (:meth:`WebhookDeliveries.claim`).

A failed attempt stores its retry time (``next_attempt_at``: REGQ_WEBHOOK_RETRY_BASE_SECONDS, doubling,
jittered: :func:`~shared.webhooks.outbound.sender.next_attempt_at`) and then hands it to ``schedule_retry``:
the tasks layer publishes ``regq.webhook_deliver`` with that ETA, so the retry leaves on its schedule (10,
20, 40 s ...), not on the next sweep tick. The message only wakes a dispatcher: the row's
``next_attempt_at`` and the claim still decide, so a retry never goes early (the claim refuses a row not
yet due) or twice (the sweep and the message race for one claim). A lost message costs at most a sweep
interval: the sweep is the backstop.

The body is the stored payload as compact JSON with sorted keys (:func:`encode`), built again for every
attempt, so every attempt sends the same bytes; a fresh ``t`` is signed each time.

The signing secret: the one of the API token that submitted the job (both, while it is rotated:
:meth:`~shared.store.api_tokens.ApiTokens.signing_secrets`); for a job submitted without a token
(the CLI, ``tasks.publish.submit``) or one whose token has none, REGQ_WEBHOOK_SECRET (comma-separated
while rotating: each signs). With no secret at all the attempt fails ("no signing secret") and is retried
like any failure: nothing is ever sent unsigned.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared import defaults
from shared.settings import Settings
from shared.store import Store
from shared.store.schema import utcnow
from shared.store.webhooks import Delivery, DeliveryStatus
from shared.webhooks.outbound.sender import AttemptResult, WebhookSender, next_attempt_at, webhook_policy
from shared.webhooks.signature import SIGNATURE_HEADER, signature_header

EVENT_ID_HEADER = "Regq-Event-Id"
log = logging.getLogger("regq.webhooks")


def encode(payload: dict[str, Any]) -> bytes:
    """The body: compact JSON, sorted keys, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        sender: WebhookSender | None = None,
        clock: Callable[[], float] = time.monotonic,
        schedule_retry: Callable[[int, datetime], object] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.sender = sender or WebhookSender(webhook_policy(settings))
        self.clock = clock
        #: told (delivery id, when) after a failed attempt is recorded with its retry time
        self.schedule_retry = schedule_retry
        fleet = settings.webhook_secret.get_secret_value() if settings.webhook_secret is not None else ""
        self._fleet_keys = [k.strip() for k in fleet.split(",") if k.strip()]
        self._token_secrets: dict[str, list[str]] = {}  # a sweep signs many deliveries of few tokens

    def close(self) -> None:
        self.sender.close()

    def signing_keys(self, token_name: str | None) -> list[str]:
        if token_name is not None:
            if token_name not in self._token_secrets:
                self._token_secrets[token_name] = self.store.api_tokens.signing_secrets(token_name)
            own = self._token_secrets[token_name]
            if own:
                return list(own)
        return list(self._fleet_keys)

    def deliver(self, delivery_id: int) -> DeliveryStatus | None:
        """One attempt of the delivery if it is due and free; its new status, None when not taken."""
        claimed = self.store.webhooks.claim(delivery_id, defaults.WEBHOOK_LEASE_SECONDS)
        return self.attempt(claimed) if claimed is not None else None

    def attempt(self, claimed: Delivery) -> DeliveryStatus:
        keys = self.signing_keys(claimed.token_name)
        if not keys:
            result = AttemptResult(
                None, "no signing secret (the token has none, REGQ_WEBHOOK_SECRET unset)", 0.0
            )
        else:
            body = encode(claimed.payload)
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature_header(keys, body),
                EVENT_ID_HEADER: claimed.event_id,
            }
            result = self.sender.post(claimed.url, body, headers)
        now = utcnow()
        retry_at = None
        if result.delivered:
            outcome = DeliveryStatus.DELIVERED
        elif result.refused:
            outcome = DeliveryStatus.DEAD
        else:
            horizon = timedelta(seconds=self.settings.webhook_retry_horizon_seconds)
            retry_at = next_attempt_at(claimed.attempts, now, claimed.deadline(horizon), self.settings)
            outcome = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.DEAD
        kept = self.store.webhooks.record_attempt(
            claimed,
            status_code=result.status_code,
            error=result.error,
            latency_ms=result.latency_ms,
            outcome=outcome,
            next_attempt_at=retry_at,
        )
        log.info(
            "webhook %d (%s of %s) attempt %d: %s -> %s%s",
            claimed.id, claimed.event, claimed.job_key, claimed.attempts,
            result.status_code if result.error is None else result.error, outcome.value,
            "" if kept else " (claimed again meanwhile: not recorded on the delivery)",
        )  # fmt: skip
        if kept and retry_at is not None and self.schedule_retry is not None:
            try:
                self.schedule_retry(claimed.id, retry_at)
            except Exception:  # the row is due at retry_at all the same: the sweep sends it
                log.warning(
                    "webhook %d: could not schedule its retry; the sweep will", claimed.id, exc_info=True
                )
        return outcome

    def sweep(
        self,
        batch: int = defaults.WEBHOOK_SWEEP_BATCH,
        budget_seconds: float = defaults.WEBHOOK_SWEEP_BUDGET_SECONDS,
    ) -> dict[str, int]:
        """Attempt the due deliveries (at most ``batch``, claiming none after ``budget_seconds``):
        counts by new status, ``skipped`` for those another dispatcher took first."""
        started = self.clock()
        counts: Counter[str] = Counter()
        for delivery_id in self.store.webhooks.due(batch):
            if self.clock() - started > budget_seconds:
                break
            status = self.deliver(delivery_id)
            counts[status.value if status is not None else "skipped"] += 1
        return dict(counts)
