"""Chaos for the day-2 kinds (issue 20): every job delivered twice, registrar workers SIGKILLed mid-call, and
each effect counted once at the sandbox.

Real ``celery worker`` processes (the embedded stack, as ``tests/test_chaos.py``) run transfers (Gandi and
ROTLD, completing about a second after their start), nameserver changes, locks off and on, contacts updates,
glue creates and (Gandi) owner changes, one domain each (:mod:`testkit.chaos_scenario.day2_plan`). Every job
is submitted, published once more at once as a raw duplicate message, and submitted again later; the sandbox
adds 400-600 ms to every call and trickles half of the effect calls' answers out after applying them, while
the killer SIGKILLs a registrar worker (one holding a running job's lease when there is one) every 2.5 to
4.5 s, five times, and starts a new one. The sandbox applies a call's effect even when its caller died
during the latency: a cut effect call is an effect applied whose answer nobody read.

What is asserted, from the sandbox's own counts (``effects`` of ``GET /_sandbox/stats``):

* exactly once per domain: a transfer start, an owner change start, each glue host's create, a lock change
  and a nameserver change. The last two are idempotent PUT/PATCHes that the sandbox counts every time they
  arrive, but the handlers read the state first and send nothing when it is already what was asked, so a
  duplicate or a redelivery after a kill sends nothing: exactly once holds for them too;
* a contacts update is an idempotent PATCH (Gandi) / contact-update (ROTLD) sent without a read (neither
  registrar shows the contacts in a form to compare): a redelivery after a kill that cut the job after the
  write sends it again, and the sandbox counts that. For those: at least once, the final contacts at the
  sandbox equal the asked ones, and the repeats are reported;
* every job ends as planned (succeeded; ROTLD lock jobs rejected, no effect), none is lost, the sandbox's
  state is what each job asked, no effect lands on a domain no job named. One outcome besides: a kill
  that lands between a transfer's or owner change's ``sending`` record and its start reaching the
  registrar (a few milliseconds) leaves the job parked for an operator, by design never started blind;
  allowed only for a job in flight at a kill whose start the sandbox never counted (``report.parked``);
* the kills happened and hit work: at least ``min_kills`` kills, at least one of them while the killed
  worker held a running job's lease (two, in practice all of them: the killer picks a busy worker), and at
  least one upstream call cut by a kill (received by the sandbox, never recorded in ``api_calls`` by the
  dead worker).

The seed is printed; ``REGQ_CHAOS_SEED=<seed>`` replays a run (process timing still varies).
``bench/chaos_day2.py`` runs it bigger.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.chaos_scenario.day2_check import Day2Report, effect_problems
from testkit.chaos_scenario.day2_plan import Day2Config, Day2Job
from testkit.chaos_scenario.day2_run import run_day2
from testkit.chaos_scenario.run import problems_text, run_on_stack, running_chaos_stack
from workers.embedded.stack import Stack

CONFIG = Day2Config(seed=int(os.environ.get("REGQ_CHAOS_SEED", "2020")))
ENV = {"REGQ_TRANSFER_FOLLOW_SECONDS": "1"}


@pytest.fixture
def chaos_stack(
    redis_url: str, own_postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    var_dir = Path(tmp_path_factory.mktemp("chaos-day2"))
    with running_chaos_stack(redis_url, own_postgres_url, var_dir, CONFIG.chaos(), ENV) as stack:
        yield stack


@pytest.mark.e2e
def test_day2_effects_happen_once_under_duplicates_and_killed_workers(chaos_stack: Stack) -> None:
    run = run_on_stack(chaos_stack, run_day2, CONFIG)
    report = run.report
    print(report.table())
    assert not report.problems, problems_text(report, CONFIG.seed, chaos_stack)
    assert report.lost == 0 and report.extra_effects == 0
    planned = run.plan.jobs
    keys = run.submitted.keys
    assert report.rejected == sum(len(keys[j.domain]) for j in planned if j.expect == "rejected") > 0
    assert report.succeeded == report.keys - report.rejected - len(report.parked)
    # every job was delivered twice at least (a raw duplicate) and the keyed ones answered duplicate
    assert report.raw_duplicates == len(planned)
    assert report.duplicate_answers == sum(1 for j in planned if j.job_kind != "lock")
    # the non-idempotent effects, once per domain (and per glue host)
    transfers = [j for j in planned if j.kind == "transfer"]
    cut_before_sent = sum(1 for key in report.parked if key.startswith("transfer:"))
    assert report.effects.get("transfer", 0) == len(transfers) - cut_before_sent > 0
    glue_hosts = sum(len(j.payload["hosts"]) for j in planned if j.kind == "glue")
    assert report.effects.get("glue_create") == glue_hosts > 0
    # the kills landed on work in flight
    assert len(report.kills) >= CONFIG.min_kills
    assert report.kills_in_flight >= 2, report.table()
    assert report.calls_cut >= 1, report.table()


@pytest.mark.parametrize(
    ("kind", "counts", "problems", "extra", "repeated"),
    [
        ("glue", {"glue_create": 2}, 0, 0, 0),
        ("glue", {"glue_create": 3}, 1, 1, 0),  # a host created twice
        ("glue", {"glue_create": 1}, 1, 0, 0),  # a host never created
        ("glue", {"glue_create": 2, "nameservers": 1}, 1, 1, 0),  # an effect no job asked for
        ("contacts", {"contact": 2}, 0, 0, 1),  # an idempotent write sent again: allowed, reported
        ("contacts", {}, 1, 0, 0),
    ],
)
def test_the_check_counts_a_second_or_a_missing_effect_as_a_problem(
    kind: str, counts: dict[str, int], problems: int, extra: int, repeated: int
) -> None:
    hosts = {"ns1.x.com": ["8.8.8.8"], "ns2.x.com": ["9.9.9.9"]}
    job = {
        "glue": Day2Job("glue", "x.com", "gandi", {"kind": "glue", "hosts": hosts}, "glue_create", 2),
        "contacts": Day2Job("contacts", "x.com", "gandi", {"kind": "contacts"}, "contact", 1, True),
    }[kind]
    report = Day2Report(seed=1, run_id="t")
    found = effect_problems(job, counts, report)
    assert (len(found), report.extra_effects, report.repeated_writes) == (problems, extra, repeated), found
    assert report.effects == counts
