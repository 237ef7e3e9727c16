"""The TLD catalogue (issue 18) as producers meet it: a real ``regq api`` answers 422 naming ``domain`` for a
name whose TLD nobody sells, a batch line ``ok: false``; it checks against the fleet's copy of Gandi's list
(in Redis) and the operator's REGQ_TLDS_EXTRA. No worker runs: accepted jobs stay queued."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.tlds import TLD_STORES, StoredList, TldList, packaged_snapshot
from testkit.api import Api, running_api
from testkit.factories import register
from testkit.stacks import running_stack


@pytest.fixture(scope="module")
def api(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    var = Path(tmp_path_factory.mktemp("tlds-api"))
    with running_stack(redis_url, f"sqlite:///{var / 'api.db'}", var, ()) as stack:
        # the fleet's copy as a daily refresh leaves it once Gandi sells .music and no longer .xyz
        snapshot = packaged_snapshot()
        gtlds = tuple(t for t in snapshot.names("gTLD") if t != "xyz") + ("music",)
        listing = TldList("gandi", {"gTLD": gtlds, "ccTLD": snapshot.names("ccTLD")}, "test refresh", "now")
        fleet = TLD_STORES.from_url(redis_url, stack.env["REGQ_REDIS_PREFIX"])
        fleet.save("gandi", StoredList(listing, time.time()))
        with running_api(stack.env, var, {"REGQ_TLDS_EXTRA": "gandi:de"}) as running:
            yield running


def unique(name: str) -> str:
    return f"{uuid.uuid4().hex[:8]}-{name}"


@pytest.mark.parametrize(
    ("domain", "says"),
    [
        ("something.onion", "RFC 7686"),
        ("x.in-addr.arpa", "RFC 3172"),
        ("пример.рф", "xn--p1ai"),
        ("a.xn--fiqs8s", "xn--fiqs8s"),
        ("agency.gov", "US government"),
        ("army.mil", "Department of Defense"),
        ("treaty.int", "international treaty"),
        ("college.edu", "post-secondary"),
        ("shop.xyz", "not sold through regq"),  # on the snapshot, no longer on the fleet's copy
    ],
)
def test_a_tld_nobody_sells_is_refused_naming_domain(api: Api, domain: str, says: str) -> None:
    answer = api.call("POST", "/v1/jobs", api.token(), json=register(domain))
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["errors"]
    assert problem["loc"] == ["body", "domain"] and "is not supported" in problem["msg"]
    assert says in problem["msg"]
    assert api.store.jobs.get(f"register:{domain}") is None


@pytest.mark.parametrize(
    ("domain", "registrar"),
    [
        ("band.music", "gandi"),  # sold on the fleet's copy, not on the snapshot
        ("nope.de", "gandi"),  # REGQ_TLDS_EXTRA=gandi:de
        ("firma.com.ro", "rotld"),
        ("example.eu", "gandi"),
    ],
)
def test_a_sold_tld_is_accepted_and_routed(api: Api, domain: str, registrar: str) -> None:
    name = unique(domain)
    answer = api.call("POST", "/v1/jobs", api.token(), json=register(name))
    assert answer.status_code == 201, answer.text
    assert answer.json()["registrar"] == registrar and answer.json()["status"] == "queued"


def test_a_batch_line_with_an_unsold_tld_is_not_ok_and_the_others_go_through(api: Api) -> None:
    good = unique("batch.com")
    lines = [register(good), register("hidden.onion"), {"kind": "lookup", "domain": "hidden.onion"}]
    ndjson = {"Content-Type": "application/x-ndjson"}
    body = "\n".join(json.dumps(x) for x in lines)
    answer = api.call("POST", "/v1/jobs:batch", api.token(), data=body, headers=ndjson)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["refused"]) == (2, 1)
    first, onion, lookup = body["results"]
    assert first["ok"] and first["key"] == f"register:{good}"
    assert not onion["ok"] and onion["errors"][0]["loc"] == ["body", "domain"]
    assert "special-use" in onion["errors"][0]["msg"]
    assert lookup["ok"]  # lookups are not held to the catalogue
    assert api.store.jobs.get("register:hidden.onion") is None
