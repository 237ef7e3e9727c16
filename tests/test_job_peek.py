"""``shared.store.job_peek`` (``regq status KEY``'s one SELECT) agrees with the store it stands beside: the
same columns and types as ``JobRow``, the same database driver as ``create_engine``, and, on SQLite and
Postgres, the same outcome, field by field and in order, as ``JobRecord.outcome()`` for jobs in every
shape an outcome takes (queued, waiting with its reason, partial with a result, failed, succeeded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from shared.jobs import parse_job
from shared.store import Store
from shared.store.database import create_engine
from shared.store.job_peek import JOBS, peek_engine, read_outcome
from shared.store.schema import JobRow
from testkit.factories import register


def storage_type(column: sa.ColumnElement[Any]) -> sa.types.TypeEngine[Any]:
    kind = column.type
    return kind.impl_instance if isinstance(kind, TypeDecorator) else kind  # UTCDateTime: its DateTime


def test_the_peeked_columns_are_the_mapped_ones_with_their_types() -> None:
    mapped = JobRow.__table__.c
    for column in JOBS.c:
        assert column.name in mapped, f"jobs.{column.name} is not a column of JobRow"
        ours, theirs = storage_type(column), storage_type(mapped[column.name])
        assert type(ours) is type(theirs), (column.name, ours, theirs)
        assert getattr(ours, "length", None) == getattr(theirs, "length", None), column.name
        assert getattr(ours, "timezone", None) == getattr(theirs, "timezone", None), column.name


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/peek.db",
        "postgresql://regq:secret@db.example:5433/regq?sslmode=require",
        "postgres://regq@db.example/regq",
        "postgresql+psycopg://regq@db.example/regq",
    ],
)
def test_the_peek_opens_the_database_as_the_store_does(url: str, tmp_path: Path) -> None:
    url = url.format(tmp=tmp_path)
    ours, theirs = peek_engine(url), create_engine(url)
    try:
        assert ours.url == theirs.url
        assert (ours.dialect.name, ours.dialect.driver) == (theirs.dialect.name, theirs.dialect.driver)
        assert isinstance(ours.pool, sa.NullPool)  # one connection, closed when returned
    finally:
        ours.dispose()
        theirs.dispose()


SHAPES: dict[str, dict[str, Any]] = {
    "queued": {},
    "waiting": {
        "status": "waiting",
        "attempts": 2,
        "wait_reason": "the registry is busy",
        "wait_code": "busy",
    },
    "partial": {
        "status": "partial",
        "attempts": 1,
        "result": {"rdap": {"registrar": "Gandi SAS"}, "whois": None},
        "wait_reason": "whois timed out",
    },
    "failed": {"status": "failed", "attempts": 5, "error_code": "upstream", "error_message": "HTTP 502"},
    "succeeded": {"status": "succeeded", "attempts": 1, "result": {"expires": "2027-12-08", "n": [1, 2]}},
    "waiting without a reason": {"status": "waiting"},
}


def test_the_peeked_outcome_is_the_records_outcome(store: Store, store_url: str) -> None:
    for index, (shape, values) in enumerate(SHAPES.items()):
        key = f"peek-{index}"
        store.jobs.create(key, parse_job(register(f"peek-{index}.com")))
        if values:
            with store.jobs.db.session() as session:
                session.execute(sa.update(JobRow).where(JobRow.key == key).values(**values))
        record = store.jobs.get(key)
        assert record is not None
        expected = record.outcome().model_dump(mode="json")
        peeked = read_outcome(store_url, key)
        assert peeked is not None
        assert list(peeked.items()) == list(expected.items()), shape  # the same fields in the same order
    waiting = read_outcome(store_url, "peek-1")
    assert waiting is not None and waiting["result"] == {"waiting_reason": "the registry is busy"}
    assert read_outcome(store_url, "no-such-key") is None
