"""The producer's hot path on Postgres (issue 21): one round trip per unit, no ping on a busy connection,
and a connection that died survived without an error.

- The token check, a new job's INSERT and its published marker are one round trip each, counted in
  libpq's protocol trace (``testkit.pgtrace.count_trace``), and only the INSERT waits for a WAL flush
  (the marker's transaction turns ``synchronous_commit`` off).
- Every backend of the database terminated (a Postgres restart, as far as the pool can tell): the next
  token check and job creation still succeed (retried once on a fresh connection), and an ORM session
  on a connection idle past ``DB_PING_IDLE_SECONDS`` gets a pinged, replaced one.
- A connection used within ``DB_PING_IDLE_SECONDS`` is not pinged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import sqlalchemy as sa

from shared import defaults
from shared.jobs import parse_job
from shared.store import Store
from testkit.factories import register
from testkit.pgtrace import count_trace
from testkit.services import postgres_database


@pytest.fixture
def pg_store() -> Iterator[Store]:
    with postgres_database() as url:
        store = Store(url)
        store.upgrade()
        yield store
        store.dispose()


def _terminate_backends(store: Store) -> int:
    """Kill every other backend of the store's database, as a Postgres restart would (for the pool)."""
    admin = sa.create_engine(store.db.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )
    finally:
        admin.dispose()


def _traced(store: Store, path: Path, opened: list[IO[bytes]]) -> Any:
    """The listener that gives every new connection of ``store`` libpq's trace into ``path``."""

    def trace(dbapi_connection: Any, _record: Any) -> None:
        opened.append(open(path, "ab"))  # closed by the test once the connections are
        dbapi_connection.prepare_threshold = None  # every statement Parsed in the trace
        dbapi_connection.pgconn.trace(opened[-1].fileno())

    sa.event.listen(store.db.engine, "connect", trace)
    return trace


def test_token_check_insert_and_marker_are_one_round_trip_each(pg_store: Store, tmp_path: Path) -> None:
    _record, secret = pg_store.api_tokens.create("hot", ["submit"])
    job = parse_job(register("hot-path.com"))
    pg_store.dispose()  # from here every connection is a new, traced one
    path, opened = tmp_path / "pg.trace", []
    listener = _traced(pg_store, path, opened)
    pg_store.api_tokens.verify(secret)  # the warm-up: opens the connection (and reads its settings)
    path.write_bytes(b"")  # appended to from here: count the hot path only
    assert pg_store.api_tokens.verify(secret) is not None
    record, created = pg_store.jobs.create("register:hot-path.com", job)
    pg_store.jobs.mark_published(record.key)
    pg_store.dispose()  # closed: libpq has flushed its trace
    sa.event.remove(pg_store.db.engine, "connect", listener)
    for file in opened:
        file.close()
    counts = count_trace(path.read_text(errors="replace"))
    assert created
    assert counts["round_trips"] == 3, counts  # verify, INSERT, marker: no BEGIN, COMMIT, ROLLBACK, ping
    assert counts["begin"] == counts["commit"] == counts["rollback"] == 0, counts
    assert counts["sync_commits"] == 1, counts  # the INSERT's; the marker's commit is not waited for
    assert pg_store.jobs.require(record.key).published_at is not None


def test_a_terminated_connection_is_survived_without_an_error(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record, secret = pg_store.api_tokens.create("survivor", ["submit"])
    assert pg_store.api_tokens.verify(secret) is not None  # a pooled connection, used just now
    assert _terminate_backends(pg_store) >= 1
    # The token check is retried once on a fresh connection: no error reaches the caller.
    assert pg_store.api_tokens.verify(secret) is not None
    record, created = pg_store.jobs.create("register:survivor.com", parse_job(register("survivor.com")))
    assert created and pg_store.jobs.require(record.key).key == record.key


def test_an_idle_connection_is_pinged_and_replaced_before_an_orm_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(defaults, "DB_PING_IDLE_SECONDS", 0.0)  # every reused connection counts as idle
    with postgres_database() as url:
        store = Store(url)
        try:
            store.upgrade()
            assert store.jobs.get("register:none.com") is None  # an ORM session; its connection pooled
            assert _terminate_backends(store) >= 1
            # No retry around a session: only the ping on checkout makes this work.
            assert store.jobs.get("register:none.com") is None
        finally:
            store.dispose()


def test_a_busy_connection_is_not_pinged(pg_store: Store) -> None:
    """Within DB_PING_IDLE_SECONDS of its last use a connection goes out as it is: a dead one fails its
    statement (and the pool drops its older connections), which an ORM session reports."""
    assert defaults.DB_PING_IDLE_SECONDS >= 5
    assert pg_store.jobs.get("register:none.com") is None
    assert _terminate_backends(pg_store) >= 1
    with pytest.raises(sa.exc.OperationalError) as caught:
        pg_store.jobs.get("register:none.com")
    assert caught.value.connection_invalidated
    assert pg_store.jobs.get("register:none.com") is None  # the next checkout gets a fresh connection
