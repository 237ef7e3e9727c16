"""What CLI commands need from the environment, all from the one composition root (``tasks.runtime``)."""

from __future__ import annotations

from celery import Celery

from shared.settings import Settings
from shared.store import Store
from tasks import runtime as _runtime
from tasks.runtime import Runtime


def runtime() -> Runtime:
    """This process's runtime: settings, store, limiter, breaker, locks, gateways, producer."""
    return _runtime.get()


def settings() -> Settings:
    return runtime().settings


def store() -> Store:
    return runtime().store


def producer() -> Celery:
    return runtime().producer
