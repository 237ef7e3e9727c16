"""The cache-hot lookup's costs: its one write (``shared/store/lookup_finish.py``) and the runtime
accessor every task calls (``tasks/runtime.py``), both exact however cheap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shared.jobs import JobStatus, parse_job
from shared.store import Store


def _counting(engine: sa.Engine) -> dict[str, int]:
    counts = {"statements": 0, "commits": 0}

    def statement(*_args: Any) -> None:
        counts["statements"] += 1

    def commit(*_args: Any) -> None:
        counts["commits"] += 1

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "commit", commit)
    return counts


def test_a_cache_hot_lookup_is_finished_by_one_statement_without_a_transaction(store: Store) -> None:
    job = parse_job({"kind": "lookup", "domain": "one-trip.com", "idempotency_key": "hot-1"})
    store.jobs.create("hot-1", job)
    counts = _counting(store.db.engine)
    done = store.jobs.finish_unleased("hot-1", {"domain": "one-trip.com", "registered": True})
    assert counts == {"statements": 1, "commits": 0}  # one UPDATE ... RETURNING, in autocommit
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.attempts == 1
    assert done.webhooks == () and done.finished_at is not None
    stored = store.jobs.require("hot-1")
    assert stored.result == {"domain": "one-trip.com", "registered": True}
    assert stored.status is JobStatus.SUCCEEDED and stored.due_at is None


def test_a_lookup_with_a_callback_is_finished_with_its_webhook_row(store: Store) -> None:
    job = parse_job(
        {
            "kind": "lookup",
            "domain": "hooked.com",
            "idempotency_key": "hot-2",
            "callback_url": "https://hooks.example.net/regq",
        }
    )
    store.jobs.create("hot-2", job)
    done = store.jobs.finish_unleased("hot-2", {"registered": True})
    assert done is not None and done.status is JobStatus.SUCCEEDED and len(done.webhooks) == 1
    assert store.jobs.finish_unleased("hot-2", {"registered": False}) is None  # final: nothing changes
    assert store.jobs.require("hot-2").result == {"registered": True}


def test_the_runtime_is_reused_while_the_regq_variables_stay_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks import runtime

    monkeypatch.setenv("REGQ_STACK_FILE", "")  # no stack file in play: the cheap check applies
    monkeypatch.setenv("REGQ_REDIS_URL", "memory://")
    monkeypatch.setenv("REGQ_DATABASE_URL", f"sqlite:///{tmp_path / 'rt.db'}")
    first = runtime.get()
    assert runtime.get() is first
    monkeypatch.setenv("REGQ_API_BURST", "7")  # any REGQ_* change: the settings are read again
    second = runtime.get()
    assert second is not first and second.settings.api_burst == 7 and first.closed
    monkeypatch.setenv("REGQ_API_BURST", "8")  # a changed value alone
    assert runtime.get().settings.api_burst == 8
    third = runtime.get()
    third.close()
    fresh = runtime.get()  # closed: rebuilt, though nothing changed
    assert fresh is not third and not fresh.closed
    monkeypatch.delenv("REGQ_STACK_FILE")  # a stack file may be in play: the full check, same answer
    assert runtime.get() is fresh
    fresh.close()
