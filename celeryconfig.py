"""Celery configuration for regq, built from a :class:`~shared.settings.Settings` object.

Nothing here reads the environment: :func:`celery_config` is called when the app first needs its
configuration (``tasks.app`` hands it to Celery as a promise), :func:`broker_settings` by every producer
app. Start workers the conventional way: ``celery -A tasks.app worker -Q registrar.gandi -n gandi@%h``.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from shared import defaults
from shared.errors import ConfigError
from shared.settings import Settings
from tasks.routing import QUEUES, route_task

#: The tasks that call a registrar: Celery's per-worker ``rate_limit`` applies to them.
REGISTRAR_TASKS = ("regq.register", "regq.renew", "regq.nameservers")


def broker_settings(settings: Settings) -> dict[str, Any]:
    """What producers and workers must agree on to reach the same queues."""
    options: dict[str, Any] = {"visibility_timeout": settings.visibility_timeout_seconds}
    if settings.broker_key_prefix:
        options["global_keyprefix"] = settings.broker_key_prefix
    return {
        "broker_url": settings.broker_url or settings.redis_url,
        "broker_transport_options": options,
        "broker_connection_retry_on_startup": True,
        "task_queues": QUEUES,
        # The one routing decision: every send (submit, sweep, beat) is routed by route_task.
        "task_routes": (route_task,),
        "task_serializer": "json",
        "accept_content": ["json"],
    }


def renewal_scan_schedule(settings: Settings) -> crontab:
    """REGQ_RENEWAL_SCAN_CRON (``minute hour day-of-month month day-of-week``, UTC) as Celery's crontab;
    a value crontab refuses is a ConfigError naming the variable."""
    minute, hour, day_of_month, month_of_year, day_of_week = settings.renewal_scan_cron.split()
    try:
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except ValueError as exc:
        raise ConfigError("REGQ_RENEWAL_SCAN_CRON", f"{settings.renewal_scan_cron!r}: {exc}") from None


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The periodic maintenance tasks (queues come from the router, like every other send)."""
    return {
        "sweep-stranded-jobs": {
            "task": "regq.sweep",
            "schedule": settings.sweep_interval_seconds,
            "options": {"expires": settings.sweep_interval_seconds * 2},
        },
        "purge-old-outcomes": {
            "task": "regq.purge",
            "schedule": crontab(minute=defaults.PURGE_MINUTE, hour=defaults.PURGE_HOUR),
        },
        # completion webhooks (tasks/webhooks.py): due retries and lost messages; old deliveries
        "webhook-sweep": {
            "task": "regq.webhook_sweep",
            "schedule": settings.webhook_sweep_interval_seconds,
            "options": {"expires": settings.webhook_sweep_interval_seconds * 2},
        },
        "purge-old-webhooks": {
            "task": "regq.webhook_purge",
            "schedule": crontab(minute=defaults.PURGE_MINUTE, hour=defaults.PURGE_HOUR),
        },
        "nightly-renewal-scan": {
            "task": "regq.renewal_scan",
            "schedule": renewal_scan_schedule(settings),
        },
        "weekly-rdap-bootstrap-refresh": {
            "task": "regq.rdap_bootstrap_refresh",
            "schedule": crontab(
                minute=defaults.RDAP_REFRESH_MINUTE,
                hour=defaults.RDAP_REFRESH_HOUR,
                day_of_week=defaults.RDAP_REFRESH_WEEKDAY,
            ),
        },
        # the TLD catalogue (shared/tlds): Gandi's list of the TLDs it sells, into the fleet's Redis
        "daily-tld-list-refresh": {
            "task": "regq.tlds_refresh",
            "schedule": crontab(minute=defaults.TLDS_REFRESH_MINUTE, hour=defaults.TLDS_REFRESH_HOUR),
        },
    }


def celery_config(settings: Settings) -> dict[str, Any]:
    """The whole configuration of the worker/beat app."""
    return {
        **broker_settings(settings),
        # Outcomes live in our own store; Celery's result backend is not needed.
        "result_backend": None,
        "task_ignore_result": True,
        "result_serializer": "json",
        "timezone": "UTC",
        "enable_utc": True,
        # At-least-once delivery; the tasks make the effect exactly-once.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # One message at a time per process: a rate-limited task must not hold others hostage.
        "worker_prefetch_multiplier": 1,
        "worker_eta_task_limit": defaults.WORKER_ETA_TASK_LIMIT,
        # Celery's per-worker first line; the shared bucket is the truth.
        "task_annotations": {name: {"rate_limit": settings.task_rate_limit} for name in REGISTRAR_TASKS},
        # Visible in Flower.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_default_queue": "maintenance",
        "beat_schedule": beat_schedule(settings),
    }
