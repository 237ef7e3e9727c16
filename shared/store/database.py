"""Engine, sessions and migrations. The same code runs on Postgres and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session, sessionmaker


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
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def alembic_config(url: str) -> Config:
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

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def upgrade(self, revision: str = "head") -> None:
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
