"""The soak benchmark's own machinery (``testkit.soak``), without a stack: the fault schedule, the RSS
sampler and growth verdict, and the report's pass/fail."""

from __future__ import annotations

import os

from testkit.chaos_scenario import ChaosReport
from testkit.soak import CYCLE, MemorySampler, Sample, SoakReport, build_schedule, percentile, summarize
from testkit.soak.report import KindFigures


def test_schedule_memory_verdict_and_report() -> None:
    # Three minutes at the defaults get every kind of fault; the same seed, the same schedule.
    events = build_schedule(1729, 180.0, ["gandi1", "gandi2", "rotld1"])
    assert {e.kind for e in events} == set(CYCLE)
    assert events == build_schedule(1729, 180.0, ["gandi1", "gandi2", "rotld1"])
    assert all(e.target in ("gandi1", "gandi2", "rotld1") for e in events if e.kind == "kill")
    assert all(e.at < 180.0 for e in events) and all(e.seconds > 0 for e in events if e.kind != "kill")

    # A process gaining 2 MiB a sample grows; one that wobbles around 100 MiB does not; a short one is
    # not judged. A restarted process is judged on its longest-lived pid.
    samples = [Sample(10.0 * i, "leaky", 1, 100 * 1024 + 2048 * i) for i in range(30)]
    samples += [Sample(10.0 * i, "steady", 2, 100 * 1024 + (512 if i % 2 else 0)) for i in range(30)]
    samples += [Sample(10.0 * i, "short", 3, 50 * 1024) for i in range(3)]
    samples += [Sample(10.0 * i, "steady", 4, 300 * 1024) for i in range(3)]  # a brief second pid
    rows = {row.label: row for row in summarize(samples, warmup=30.0)}
    assert rows["leaky"].verdict(0.10, 8.0) == "GROWS"
    assert rows["steady"].verdict(0.10, 8.0) == "flat"
    assert rows["steady"].pids == 2 and rows["steady"].peak == 300.0
    assert rows["short"].verdict(0.10, 8.0) == "too short"

    # The sampler reads this very process from /proc.
    sampler = MemorySampler(lambda: {"self": os.getpid()}, interval=60.0)
    taken = sampler.sample_once()
    assert [s.label for s in taken] == ["self"] and taken[0].rss_kib > 1024

    report = SoakReport(1, "r", 3.0, ChaosReport(1, "r"))
    report.kinds = {"lookup": KindFigures(submitted=4, final=4, latencies=[0.1, 0.2, 0.3, 4.0])}
    assert not report.failed and report.lost == 0
    assert percentile(report.latencies, 50) == 0.2 and percentile(report.latencies, 99) == 4.0
    report.kinds["register"] = KindFigures(submitted=2, final=1)
    assert report.failed and report.lost == 1
    assert report.as_json()["lost"] == 1
