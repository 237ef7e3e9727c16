"""What CLI commands need from the environment, all from the one composition root (``tasks.runtime``).

Imported lazily: ``regq status KEY`` reads one job's outcome through :func:`job_outcome` (settings and one
SELECT with SQLAlchemy Core: no ORM, no job models, no broker, Redis or gateways), ``regq jobs`` the jobs
table through :func:`job_reader`, and only the commands that need the runtime import Celery.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery

    from shared.settings import Settings
    from shared.store import Store
    from shared.store.jobs import JobStore
    from tasks.runtime import Runtime


def runtime() -> Runtime:
    """This process's runtime: settings, store, limiter, breaker, locks, gateways, producer."""
    from tasks import runtime as _runtime

    return _runtime.get()


def settings() -> Settings:
    return runtime().settings


def store() -> Store:
    return runtime().store


def producer() -> Celery:
    return runtime().producer


def job_outcome(key: str) -> dict[str, Any] | None:
    """The job ``key``'s outcome in REGQ_DATABASE_URL, as the API's ``JobOutcome`` JSON, or None (no such
    job): :mod:`shared.store.job_peek`, the settings read (and checked) first."""
    from shared.settings import get_settings
    from shared.store.job_peek import read_outcome

    return read_outcome(get_settings().database_url, key)


@contextmanager
def job_reader() -> Iterator[JobStore]:
    """The jobs table of REGQ_DATABASE_URL alone, for a one-shot read; its engine is closed after."""
    from shared.settings import get_settings
    from shared.store.database import Database
    from shared.store.jobs import JobStore

    db = Database(get_settings().database_url)
    try:
        yield JobStore(db)
    finally:
        db.dispose()
