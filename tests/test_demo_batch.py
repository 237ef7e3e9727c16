"""``regq demo``'s job mix (``workers.demo.build_batch``): issue 20's day-2 jobs are in it when asked for."""

from __future__ import annotations

import json

from shared.jobs import parse_job
from workers.demo import build_batch


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
