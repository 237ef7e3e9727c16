"""The Celery application. Configuration: :func:`celeryconfig.celery_config`; tasks: ``tasks.registrar``,
``tasks.lookup``, ``tasks.maintenance``.

Importing this module reads no setting: the configuration is built from the environment's
:class:`~shared.settings.Settings` when Celery first needs it (a worker or beat starting, a task bound),
so a bad ``REGQ_*`` value fails there with a :class:`~shared.errors.ConfigError` naming the variable.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init

from celeryconfig import celery_config
from shared.errors import ConfigError
from shared.settings import get_settings


def _configuration() -> dict[str, Any]:
    """The app's configuration from the environment's settings, built when Celery first needs it."""
    return celery_config(get_settings())


app = Celery("regq")
app.add_defaults(_configuration)  # a promise: evaluated once, on first use of app.conf, never at import


@worker_init.connect
def _check_broker(**_: object) -> None:
    if not app.conf.broker_url:
        raise ConfigError("REGQ_REDIS_URL", "workers need a broker: set REGQ_REDIS_URL or REGQ_BROKER_URL")


@beat_init.connect
def _no_sent_events_from_beat(**_: object) -> None:
    """Beat publishes housekeeping only (sweeps every few seconds, nightly and weekly refreshes): no
    ``task-sent`` event for it, else each sweep would sit in Flower's task list as PENDING. The sweeps send
    no worker events either (``send_events=False``); the daily tasks still appear once a worker takes them."""
    app.conf.task_send_sent_event = False


import tasks.lookup  # noqa: E402 - registers the tasks on the app
import tasks.maintenance  # noqa: E402
import tasks.registrar  # noqa: E402
import tasks.webhooks  # noqa: E402,F401 - completion webhooks: delivery, sweep, purge
