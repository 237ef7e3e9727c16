"""``regq demo``'s job mix (``workers.demo.build_batch``): issue 20's day-2 jobs are in it when asked for."""

from __future__ import annotations

import json
from pathlib import Path

from shared.jobs import JobStatus, derive_key, parse_job
from shared.store import Store
from testkit.factories import register
from workers.demo import LOOKUP_NAMES, Batch, build_batch
from workers.demo_tally import wait_for_run


def test_the_day2_mix_has_two_transfers_a_nameserver_change_a_lock_and_a_domain_for_the_auth_code() -> None:
    plain, batch = build_batch(200), build_batch(200, day2=True)
    assert len(batch.lines) + len(batch.api_jobs) == len(plain.lines)  # the same total
    kinds = [json.loads(line)["kind"] for line in batch.lines]
    assert kinds.count("transfer") == 2 and kinds.count("nameservers") == 1
    transfers = [json.loads(line)["domain"] for line in batch.lines if '"transfer"' in line]
    assert sum(name.startswith("xfer-refused-") for name in transfers) == 1  # the one that fails
    assert [job["kind"] for job in batch.api_jobs] == ["lock"]
    held = {seed["fqdn"] for seed in batch.seeds["gandi"]}
    assert batch.auth_code_domain == batch.api_jobs[0]["domain"] and batch.auth_code_domain in held
    assert {name for name, _, _ in batch.inventory} >= {batch.auth_code_domain}
    for job in batch.api_jobs + [json.loads(line) for line in batch.lines if '"kind": "transfer"' in line]:
        parse_job(job)
    assert not plain.api_jobs and plain.auth_code_domain is None
    assert "transfer" not in "".join(plain.lines)


# --- a rerun tells the truth (issue 21): this run's jobs only, exit 1 naming the unfinished -----------------
def _names(batch: Batch) -> set[str]:
    """The generated names (not the fixed lookup targets any run may ask about again)."""
    return {json.loads(line)["domain"] for line in batch.lines} - set(LOOKUP_NAMES)


def test_each_run_tag_gives_new_names_and_the_rest_of_the_batch_stays_the_same() -> None:
    first, second = build_batch(60, run=1765000001), build_batch(60, run=1765000002)
    assert _names(first) and not _names(first) & _names(second)  # a rerun's jobs are new jobs
    assert len(first.lines) == len(second.lines) and first.planned == second.planned
    assert build_batch(60).lines == build_batch(60).lines  # no tag: the seed's own, as before


def _finish(store: Store, key: str, status: JobStatus, result: dict[str, object] | None = None) -> None:
    assert store.jobs.claim(key, "test", 30).record is not None
    assert store.jobs.finish(key, "test", status, result, None if status is JobStatus.SUCCEEDED else "x")


def test_a_second_run_counts_its_own_jobs_not_the_whole_database(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    store.upgrade()
    try:
        # the first run left a job unfinished (queued) and finished another
        old_open, old_done, ours, again, follow = (
            parse_job(register(f"{name}.com")) for name in ("old-open", "old-done", "ours", "again", "follow")
        )
        keys = {job.domain: store.jobs.create(derive_key(job), job)[0].key for job in
                (old_open, old_done, ours, again, follow)}  # fmt: skip
        _finish(store, keys["old-done.com"], JobStatus.FAILED)
        # the second run: a new job (its follow-up too) and a duplicate of the first run's finished one
        _finish(store, keys["ours.com"], JobStatus.SUCCEEDED, {"follow_up": keys["follow.com"]})
        _finish(store, keys["follow.com"], JobStatus.SUCCEEDED)
        _finish(store, keys["again.com"], JobStatus.SUCCEEDED)
        run = [keys["ours.com"], keys["old-done.com"]]
        tally = wait_for_run(store.jobs.get, run, timeout=0)
        assert tally.exit_code == 0 and not tally.unfinished  # the old open job is not this run's
        assert sorted(tally.records) == sorted([*run, keys["follow.com"]])  # the follow-up joined
        assert tally.rows() == [["register", 2, 1, 0, 0]]
        # a run whose duplicate is the first run's open job waits for it, and says so when it does not end
        seen: list[int] = []
        tally = wait_for_run(store.jobs.get, [*run, keys["old-open.com"]], 0.3, lambda t: seen.append(1), 0.1)
        assert tally.exit_code == 1 and tally.unfinished == [keys["old-open.com"]] and len(seen) >= 2
        assert tally.rows() == [["register", 2, 1, 0, 1]]
        assert tally.describe_unfinished() == [f"{keys['old-open.com']}: queued after 0 attempt(s)"]
        assert wait_for_run(lambda key: None, ["gone"], 0).rows() == [["(not in the store)", 0, 0, 0, 1]]
    finally:
        store.dispose()
