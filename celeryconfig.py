"""Celery configuration for regq, read by ``tasks.app``. Every value comes from REGQ_* settings.

Start workers the conventional way: ``celery -A tasks.app worker -Q registrar.gandi -n gandi@%h``.
"""

from typing import Any

from celery.schedules import crontab

from shared import defaults
from shared.settings import Settings, get_settings
from tasks.routing import QUEUES, route_task


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
        "task_routes": (route_task,),
        "task_serializer": "json",
        "accept_content": ["json"],
    }


_settings = get_settings()
globals().update(broker_settings(_settings))
# Outcomes live in our own store; Celery's result backend is not needed.
result_backend = None
task_ignore_result = True

result_serializer = "json"
timezone = "UTC"
enable_utc = True

# At-least-once delivery; the tasks make the effect exactly-once.
task_acks_late = True
task_reject_on_worker_lost = True
worker_cancel_long_running_tasks_on_connection_loss = True
# One message at a time per process: a rate-limited task must not hold others hostage.
worker_prefetch_multiplier = 1
worker_eta_task_limit = defaults.WORKER_ETA_TASK_LIMIT

# Visible in Flower.
worker_send_task_events = True
task_send_sent_event = True

task_default_queue = "maintenance"

beat_schedule = {
    "sweep-stranded-jobs": {
        "task": "regq.sweep",
        "schedule": _settings.sweep_interval_seconds,
        "options": {"queue": "maintenance", "expires": _settings.sweep_interval_seconds * 2},
    },
    "purge-old-outcomes": {
        "task": "regq.purge",
        "schedule": crontab(minute=15, hour=3),
        "options": {"queue": "maintenance"},
    },
    "nightly-renewal-scan": {
        "task": "regq.renewal_scan",
        "schedule": crontab(minute=defaults.RENEWAL_SCAN_MINUTE, hour=defaults.RENEWAL_SCAN_HOUR),
        "options": {"queue": "maintenance"},
    },
}
