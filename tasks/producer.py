"""A Celery app for producers (CLI, demo, tests): publishes by task name, imports no task code."""

from __future__ import annotations

from celery import Celery

import celeryconfig
from shared.settings import Settings


def producer_app(settings: Settings) -> Celery:
    """A Celery app that publishes to the queues the given settings name."""
    app = Celery("regq-producer", set_as_current=False)
    app.conf.update(celeryconfig.broker_settings(settings))
    app.conf.broker_url = settings.effective_broker_url
    return app
