"""This run's jobs, and only them: what ``regq demo`` waits on, tabulates and answers with its exit code.

A run's jobs are the keys its submissions were answered with (a duplicate of an earlier run's job is this
run's too: it asked for it, and waits for it like any other), plus the follow-up jobs their outcomes name
(a register's nameserver step, ``result.follow_up``). Nothing here counts the whole database: a second
``regq demo`` against the same ``var/`` database tabulates what it asked for, and its exit code is 0 only
when every one of these jobs reached a final status::

    keys answered at submit ──> wait_for_run: poll the open ones (store.jobs.get) until final or timeout
                                   │  a final record naming a follow-up adds that key
                                   ▼
                                RunTally: rows per kind, unfinished (key, status, why), exit_code
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shared.store.job_record import JobRecord

#: The table's columns after ``kind``: the final statuses, then everything still open.
COLUMNS = ("succeeded", "failed", "rejected", "unfinished")

Lookup = Callable[[str], JobRecord | None]


@dataclass(frozen=True)
class RunTally:
    """The records of a run's jobs (``None``: the key is not in the store any more)."""

    records: dict[str, JobRecord | None]

    @property
    def unfinished(self) -> list[str]:
        """The keys not final, in key order."""
        return sorted(k for k, r in self.records.items() if r is None or not r.final)

    @property
    def exit_code(self) -> int:
        """The demo's promise: 0 only when every one of this run's jobs is final."""
        return 1 if self.unfinished else 0

    def rows(self) -> list[list[object]]:
        """Per kind: succeeded, failed, rejected, unfinished (open or missing), kinds in name order."""
        counts: dict[str, dict[str, int]] = {}
        for record in self.records.values():
            if record is None:
                continue
            column = record.status.value if record.final else "unfinished"
            per_kind = counts.setdefault(record.kind, dict.fromkeys(COLUMNS, 0))
            per_kind[column] += 1
        missing = sum(1 for r in self.records.values() if r is None)
        rows: list[list[object]] = [[kind, *counts[kind].values()] for kind in sorted(counts)]
        if missing:
            rows.append(["(not in the store)", 0, 0, 0, missing])
        return rows

    def describe_unfinished(self, limit: int = 20) -> list[str]:
        """One line per unfinished job (at most ``limit``, then how many more): key, status, why."""
        lines = []
        for key in self.unfinished[:limit]:
            record = self.records[key]
            if record is None:
                lines.append(f"{key}: not in the store")
                continue
            why = f": {record.wait_reason}" if record.wait_reason else ""
            lines.append(f"{key}: {record.status.value} after {record.attempts} attempt(s){why}")
        if len(self.unfinished) > limit:
            lines.append(f"... and {len(self.unfinished) - limit} more")
        return lines


def read_run(get: Lookup, keys: Iterable[str], known: dict[str, JobRecord | None] | None = None) -> RunTally:
    """The run's records now: every key not already final in ``known`` is read again, and a final record's
    follow-up (``result.follow_up``) joins the run."""
    records = dict(known or {})
    pending = [k for k in keys if not _final(records.get(k))]
    while pending:
        key = pending.pop()
        record = records[key] = get(key)
        follow = (record.result or {}).get("follow_up") if record is not None else None
        if isinstance(follow, str) and follow not in records:
            pending.append(follow)
    return RunTally(records)


def _final(record: JobRecord | None) -> bool:
    return record is not None and record.final


def wait_for_run(
    get: Lookup,
    keys: Iterable[str],
    timeout: float,
    on_progress: Callable[[RunTally], None] | None = None,
    interval: float = 0.5,
) -> RunTally:
    """Poll the run's open jobs until all are final or ``timeout`` seconds pass; the last tally either way."""
    keys = list(dict.fromkeys(keys))
    deadline = time.monotonic() + timeout
    tally = read_run(get, keys)
    while True:
        if on_progress is not None:
            on_progress(tally)
        if not tally.unfinished or time.monotonic() >= deadline:
            return tally
        time.sleep(interval)
        tally = read_run(get, tally.records, tally.records)
