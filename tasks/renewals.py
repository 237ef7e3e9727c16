"""The renewal scan bound to the broker: :func:`shared.renewal_scan.run_scan` (the scan itself, with
its lock, pages and summary row) submitting through :func:`tasks.publish.submit_many` and the
runtime's producer app. Beat runs it as ``regq.renewal_scan`` (``tasks.maintenance``); ``regq renewals
run-now`` in its own process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from shared import defaults
from shared.jobs import RenewJob
from shared.renewal_scan import ScanResult
from shared.renewal_scan import run_scan as _run_scan
from shared.store.renewals import ScanCounts
from tasks.publish import Submitted, submit_many
from tasks.runtime import Runtime


def run_scan(
    rt: Runtime,
    *,
    trigger: str = "beat",
    dry_run: bool = False,
    batch_size: int = defaults.RENEWAL_SCAN_BATCH,
    today: date | None = None,
    on_batch: Callable[[ScanCounts], None] | None = None,
) -> ScanResult:
    """One renewal scan through ``rt``, each page's renews stored and published in one batch."""

    def submit(jobs: Sequence[RenewJob]) -> list[Submitted]:
        return submit_many(jobs, store=rt.store, app=rt.producer, batch_size=max(1, len(jobs)))

    return _run_scan(
        rt, submit, trigger=trigger, dry_run=dry_run, batch_size=batch_size, today=today, on_batch=on_batch
    )
