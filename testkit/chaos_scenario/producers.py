"""The producers of a chaos run: concurrent threads submitting every job, some with raw duplicates."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from shared.store import Store
from tasks.publish import publish_record, submit
from testkit.chaos_scenario.config import ChaosConfig
from testkit.chaos_scenario.plan import Plan, PlannedJob
from workers.embedded.stack import Stack


@dataclass
class SubmitLog:
    keys: dict[str, PlannedJob] = field(default_factory=dict)  # key -> planned job
    fresh: Counter[str] = field(default_factory=Counter)  # key -> submissions answered duplicate=False
    copies: Counter[str] = field(default_factory=Counter)  # key -> submissions
    raw_messages: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def submit_all(stack: Stack, store: Store, plan: Plan, config: ChaosConfig) -> SubmitLog:
    """``copies`` producer threads submit every job, spread over ``submit_seconds``; ``raw_duplicates``
    of them also publish a raw message for each job planned ``raw``. Producers 0 and 1 go in the same
    order (the same key submitted and delivered concurrently), the others in their own (late duplicates)."""
    out = SubmitLog()

    def producer(number: int) -> None:
        app = stack.producer()
        order = list(plan.jobs)
        random.Random(config.seed + 100 + max(0, number - 1)).shuffle(order)
        pause = config.submit_seconds / max(1, len(order))
        started = time.monotonic()
        try:
            for index, job in enumerate(order):
                try:
                    outcome = submit(job.job, store=store, app=app)
                    record = None
                    if job.raw and number < config.raw_duplicates:
                        record = store.jobs.require(outcome.key)
                        publish_record(app, record)
                except Exception as exc:  # noqa: BLE001 - reported as a problem, never swallowed
                    with out.lock:
                        out.errors.append(f"producer {number}: {job.domain}: {type(exc).__name__}: {exc}")
                    continue
                with out.lock:
                    out.keys[outcome.key] = job
                    out.copies[outcome.key] += 1
                    out.fresh[outcome.key] += 0 if outcome.duplicate else 1
                    out.raw_messages += 1 if record is not None else 0
                ahead = started + pause * (index + 1) - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        finally:
            app.close()

    threads = [
        threading.Thread(target=producer, args=(n,), name=f"producer-{n}") for n in range(config.copies)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out
