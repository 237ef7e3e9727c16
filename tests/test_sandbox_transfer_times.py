"""What ``bench.transfers`` reads at the sandbox: arrival times by operation, when a transfer completed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.testing import GANDI_OWNER

TOKEN = "test-token-xfer"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    config = {"transfer_delay": 0.2, "pending_transfer_delay": 0.3}
    with Sandbox(gandi_token=TOKEN, gandi_config=config) as sandbox:
        yield sandbox


def test_operation_times_and_the_completion_time_of_a_transfer(sb: Sandbox) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = time.time()
    body: dict[str, Any] = {
        "fqdn": "moving.com",
        "owner": dict(GANDI_OWNER),
        "duration": 1,
        "authinfo": "Gd7-CODE",
    }
    assert (
        requests.post(f"{sb.gandi_url}/domain/transferin", json=body, headers=auth, timeout=5).status_code
        == 202
    )
    failing = {**body, "fqdn": "xfer-refused-a.com"}
    assert (
        requests.post(f"{sb.gandi_url}/domain/transferin", json=failing, headers=auth, timeout=5).status_code
        == 202
    )
    for _ in range(2):
        requests.get(
            f"{sb.gandi_url}/domain/transferin/moving.com", headers=auth, timeout=5
        ).raise_for_status()
    stats = sb.stats("gandi")
    times = stats["operation_times"]
    assert len(times["transfer_start"]) == 2 and len(times["transfer_info"]) == 2
    assert all(before <= t <= time.time() for t in times["transfer_info"])
    assert sorted(t for ts in times.values() for t in ts) == stats["request_times"]
    listed = {d["fqdn"]: d for d in sb.domains("gandi")}
    assert "xfer-refused-a.com" not in listed  # a transfer that fails never joins the account
    moved = listed["moving.com"]["transfer"]
    assert moved["completed_at"] == pytest.approx(moved["started_at"] + 0.5)
    assert before <= moved["started_at"] <= time.time()
    sb.reset("gandi")
    assert sb.stats("gandi")["operation_times"] == {}
