"""Engine, sessions and migrations. The same code runs on Postgres and SQLite.

Postgres connections come from a pool sized to the API's threadpool (``DB_POOL_SIZE``: no connection is
opened and closed per request under load), replaced after ``DB_POOL_RECYCLE_SECONDS`` and pinged before
use only after ``DB_PING_IDLE_SECONDS`` idle (:func:`_ping_when_idle`; the reasons are in
:mod:`shared.defaults`). :meth:`Database.session` is an ORM session in one transaction;
:meth:`Database.autocommit` runs one-statement units (the producer's hot path: the token check, a job's
INSERT, its published marker) in one round trip each, once more on a connection that turned out dead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from shared import defaults

T = TypeVar("T")

if TYPE_CHECKING:  # alembic is imported where migrations run, not on every command and worker start
    from alembic.config import Config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer across processes
    cursor.execute("PRAGMA busy_timeout=30000")  # several worker processes write the same file
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str) -> sa.Engine:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    engine = sa.create_engine(
        url,
        pool_size=defaults.DB_POOL_SIZE,
        max_overflow=defaults.DB_POOL_OVERFLOW,
        pool_recycle=defaults.DB_POOL_RECYCLE_SECONDS,
    )
    _ping_when_idle(engine, defaults.DB_PING_IDLE_SECONDS)
    return engine


def _ping_when_idle(engine: sa.Engine, idle_seconds: float) -> None:
    """Ping a pooled connection on checkout only when it sat idle ``idle_seconds`` or more; a dead one is
    replaced (the pool's documented ``DisconnectionError`` contract: it retries with a new connection).

    Not ``pool_pre_ping``, which pings on every checkout (a fifth of the API's CPU per request, and a
    round trip): a connection used within the last seconds is alive but for a crash in between, which
    the first statement on it reports; SQLAlchemy then invalidates every older connection of the pool,
    and :meth:`Database.autocommit` retries its work once on a fresh one."""

    @sa.event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        dialect = engine.dialect
        try:
            dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping's implicit transaction: autocommit can be set after
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise sa.exc.DisconnectionError("an idle pooled connection is dead") from exc
            raise


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # lazily: about 200 ms no command but ``regq db upgrade`` needs

    config = Config()
    config.set_main_option("script_location", str(resources.files("shared.store") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def affected(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE/INSERT touched (SQLAlchemy types ``execute`` as a plain ``Result``)."""
    return int(cast("CursorResult[Any]", result).rowcount)


#: What SQLAlchemy raises when the database cannot be reached or answer now (refused, reset, timed
#: out, no connection free in the pool), as opposed to a statement the database refused.
UNREACHABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` means the database could not be reached, not that a statement was wrong."""
    invalidated = isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    return isinstance(exc, UNREACHABLE) or invalidated


class Database:
    """An engine plus a session factory; ``upgrade()`` applies the Alembic migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The same pool, each checkout in autocommit mode (a client-side flag in psycopg, reset on return).
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def autocommit(self, work: Callable[[sa.Connection], T]) -> T:
        """``work``'s answer, its statements each committed on its own: for a unit that is ONE statement
        (a read, an ``INSERT ... ON CONFLICT DO NOTHING``, one UPDATE), one round trip where a session pays
        three (BEGIN, the statement, COMMIT or the pool's ROLLBACK on return).

        When the connection turns out dead (a Postgres restart since its last use: SQLAlchemy reports it
        invalidated), ``work`` runs once more on a fresh connection. So ``work`` must be safe to repeat: a
        read, or a write whose second run changes nothing the first did (the statement may have been
        committed before the connection dropped)."""
        try:
            with self._autocommit.connect() as conn:
                return work(conn)
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self._autocommit.connect() as conn:
            return work(conn)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def upgrade(self, revision: str = "head") -> None:
        from alembic import command

        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            try:
                return conn.execute(sa.text("select version_num from alembic_version")).scalar()
            except sa.exc.SQLAlchemyError:
                return None

    def answers(self) -> bool:
        """True when a trivial statement goes through now; False when the database is unreachable."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        except sa.exc.SQLAlchemyError as exc:
            if not unreachable(exc):
                raise
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()
