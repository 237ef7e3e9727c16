"""What CLI commands need from the environment: settings, the store, a producer app."""

from __future__ import annotations

from celery import Celery

from shared.settings import Settings, get_settings
from shared.store import Store
from tasks.producer import producer_app


def settings() -> Settings:
    return get_settings()


def store() -> Store:
    return Store(settings().database_url)


def producer() -> Celery:
    return producer_app(settings())
