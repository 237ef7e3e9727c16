"""The Celery application. Configuration: ``celeryconfig``; tasks: ``tasks.registrar``,
``tasks.lookup``, ``tasks.maintenance``."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_init, worker_process_init

import celeryconfig
from shared.errors import ConfigError

app = Celery("regq")
app.config_from_object(celeryconfig)


@worker_init.connect
def _check_broker(**_: object) -> None:
    if not app.conf.broker_url:
        raise ConfigError("REGQ_REDIS_URL", "workers need a broker: set REGQ_REDIS_URL or REGQ_BROKER_URL")


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    # A forked pool process must not share the parent's database or Redis sockets.
    from tasks import runtime

    runtime.reset()


import tasks.lookup  # noqa: E402 - registers the tasks on the app
import tasks.maintenance  # noqa: E402
import tasks.registrar  # noqa: E402,F401
