"""The figures of a soak run, as rich tables or one JSON document.

* submitted / final / lost: every accepted job (registers, renews, lookups); lost = not final when the
  drain ran out;
* duplicate effects: creates and renews at the sandbox beyond those allowed (the chaos scenario's check,
  which also lists every other broken invariant in ``problems``);
* latency: ``created_at`` (when submit stored the row) -> ``finished_at``, from the job rows;
* peak RSS of each process (:mod:`testkit.soak.memory`), and whether it grows.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table

from testkit.chaos_scenario import ChaosReport
from testkit.soak.injector import Injected
from testkit.soak.memory import MemoryRow

#: Growth flagged when a process's last-window mean RSS is above its first-window mean by more than
#: this share AND this many MiB (either alone is noise: a 60 MiB worker gaining 4 MiB is allocator churn).
GROWTH_RATIO = 0.10
GROWTH_MIB = 8.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0-100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -int(-q * len(ordered) // 100)))
    return ordered[rank - 1]


@dataclass
class KindFigures:
    submitted: int = 0
    final: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.submitted - self.final


@dataclass
class SoakReport:
    seed: int
    run_id: str
    minutes: float
    chaos: ChaosReport  # registers and renews: lost, duplicate effects, invariants
    kinds: dict[str, KindFigures] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    retried_submissions: int = 0
    faults: list[Injected] = field(default_factory=list)
    crashes: list[tuple[float, str]] = field(default_factory=list)  # (t, worker) exited, not killed by us
    sandbox_faults: dict[str, dict[str, int]] = field(default_factory=dict)
    breaker_opens: dict[str, int] = field(default_factory=dict)
    memory: list[MemoryRow] = field(default_factory=list)
    submit_seconds: float = 0.0
    drain_seconds: float = 0.0  # from the last submission until every job was final (or the limit)
    wall_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    # --- figures -------------------------------------------------------------------------------------
    @property
    def submitted(self) -> int:
        return sum(k.submitted for k in self.kinds.values())

    @property
    def final(self) -> int:
        return sum(k.final for k in self.kinds.values())

    @property
    def lost(self) -> int:
        return sum(k.lost for k in self.kinds.values())

    @property
    def duplicate_effects(self) -> int:
        return self.chaos.duplicate_effects

    @property
    def latencies(self) -> list[float]:
        return [x for k in self.kinds.values() for x in k.latencies]

    @property
    def growing(self) -> list[str]:
        return [row.label for row in self.memory if row.grows(GROWTH_RATIO, GROWTH_MIB)]

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.duplicate_effects or self.problems or self.refused)

    def fault_counts(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind in ("kill", "redis", "5xx", "429"):
            done = [f for f in self.faults if f.event.kind == kind]
            recovered = [f.recovered_in for f in done if f.recovered_in is not None]
            out[kind] = {
                "count": len(done),
                "mean_recovery_seconds": round(statistics.mean(recovered), 1) if recovered else None,
                "max_recovery_seconds": max(recovered) if recovered else None,
            }
        return out

    # --- output --------------------------------------------------------------------------------------
    def summary_rows(self) -> list[tuple[str, str]]:
        lat = self.latencies
        faults = self.fault_counts()
        sandbox = ", ".join(
            f"{p} " + " ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
            for p, kinds in sorted(self.sandbox_faults.items())
            if kinds
        )

        def recovery(kind: str) -> str:
            f = faults[kind]
            if not f["count"] or f["mean_recovery_seconds"] is None:
                return str(f["count"])
            mean, worst = f["mean_recovery_seconds"], f["max_recovery_seconds"]
            return f"{f['count']} (fleet answering again after {mean} s mean, max {worst} s)"

        c = self.chaos
        return [
            ("seed / run", f"{self.seed} / {self.run_id}"),
            ("submissions and faults", f"{self.minutes:g} min ({self.submit_seconds:.0f} s)"),
            ("submitted", f"{self.submitted} ({self._by_kind('submitted')})"),
            ("final", f"{self.final} ({self._statuses()})"),
            ("lost", str(self.lost)),
            ("duplicate effects", str(self.duplicate_effects)),
            ("p50 / p99 job latency", f"{percentile(lat, 50):.2f} / {percentile(lat, 99):.2f} s"),
            ("p50 / p99 by kind", self._latency_by_kind()),
            ("SIGKILLs", recovery("kill")),
            ("Redis restarts", recovery("redis")),
            ("workers that died unkilled (restarted)", self._crashes()),
            ("5xx / 429 phases", f"{faults['5xx']['count']} / {faults['429']['count']}"),
            ("faults injected (sandbox)", sandbox or "none"),
            ("breaker opened", ", ".join(f"{p} {n}" for p, n in sorted(self.breaker_opens.items())) or "0"),
            ("submissions retried (broker down)", str(self.retried_submissions)),
            ("refused submissions", str(len(self.refused))),
            ("reconciled outcomes", str(c.reconciled)),
            ("max attempts of a job", str(c.attempts_max)),
            ("longest due, undelivered", f"{c.longest_due_wait:.1f} s ({c.longest_due_wait_key})"),
            ("sweep republishes", f"{c.sweep_republishes} messages for {c.republished_jobs} jobs"),
            ("drain after the last submission", f"{self.drain_seconds:.1f} s"),
            ("memory growing", ", ".join(self.growing) or "none"),
            ("wall time", f"{self.wall_seconds:.0f} s"),
            ("problems", str(len(self.problems))),
        ]

    def _crashes(self) -> str:
        if not self.crashes:
            return "0"
        return f"{len(self.crashes)}: " + ", ".join(f"{name} at t={at:.0f} s" for at, name in self.crashes)

    def _by_kind(self, what: str) -> str:
        return ", ".join(f"{kind} {getattr(k, what)}" for kind, k in sorted(self.kinds.items()))

    def _statuses(self) -> str:
        total: Counter[str] = Counter()
        for k in self.kinds.values():
            total.update(k.statuses)
        return ", ".join(f"{s} {n}" for s, n in sorted(total.items()))

    def _latency_by_kind(self) -> str:
        return "; ".join(
            f"{kind} {percentile(k.latencies, 50):.1f} / {percentile(k.latencies, 99):.1f} s"
            for kind, k in sorted(self.kinds.items())
        )

    def memory_table(self) -> Table:
        table = Table(
            title=f"RSS (MiB) every sample; growth: last vs first 10 % window of the longest-lived pid, "
            f"flagged above +{GROWTH_RATIO:.0%} and +{GROWTH_MIB:g} MiB",
            title_justify="left",
        )
        for i, column in enumerate(
            (
                "process",
                "pids",
                "samples",
                "first",
                "min",
                "last",
                "peak",
                "longest life",
                "window first->last",
                "growth",
                "",
            )
        ):
            table.add_column(column, justify="left" if i in (0, 10) else "right")
        for row in self.memory:
            windows = (
                f"{row.first_window:.1f} -> {row.last_window:.1f}"
                if row.first_window is not None and row.last_window is not None
                else "-"
            )
            growth = f"{row.growth:+.1%}" if row.growth is not None else "-"
            table.add_row(
                row.label,
                str(row.pids),
                str(row.samples),
                f"{row.first:.1f}",
                f"{row.minimum:.1f}",
                f"{row.last:.1f}",
                f"{row.peak:.1f}",
                f"{row.lifetime:.0f} s",
                windows,
                growth,
                row.verdict(GROWTH_RATIO, GROWTH_MIB),
            )
        return table

    def render(self) -> Group:
        summary = Table(title="soak", title_justify="left", show_header=False)
        summary.add_column("figure")
        summary.add_column("value", overflow="fold")
        for name, value in self.summary_rows():
            summary.add_row(name, value)
        return Group(summary, self.memory_table())

    def as_json(self) -> dict[str, Any]:
        lat = self.latencies
        return {
            "seed": self.seed,
            "run_id": self.run_id,
            "minutes": self.minutes,
            "submitted": self.submitted,
            "final": self.final,
            "lost": self.lost,
            "duplicate_effects": self.duplicate_effects,
            "p50_seconds": round(percentile(lat, 50), 2),
            "p99_seconds": round(percentile(lat, 99), 2),
            "kinds": {
                kind: {
                    "submitted": k.submitted,
                    "final": k.final,
                    "lost": k.lost,
                    "statuses": dict(k.statuses),
                    "p50_seconds": round(percentile(k.latencies, 50), 2),
                    "p99_seconds": round(percentile(k.latencies, 99), 2),
                }
                for kind, k in sorted(self.kinds.items())
            },
            "faults": self.fault_counts(),
            "fault_log": [
                {
                    "at": f.started_at,
                    "kind": f.event.kind,
                    "target": f.event.target,
                    "recovered_in": f.recovered_in,
                }
                for f in self.faults
            ],
            "crashes": [{"at": at, "worker": name} for at, name in self.crashes],
            "sandbox_faults": self.sandbox_faults,
            "breaker_opens": self.breaker_opens,
            "reconciled": self.chaos.reconciled,
            "attempts_max": self.chaos.attempts_max,
            "longest_due_wait_seconds": round(self.chaos.longest_due_wait, 1),
            "sweep_republishes": self.chaos.sweep_republishes,
            "retried_submissions": self.retried_submissions,
            "refused": self.refused,
            "memory": [
                {
                    "process": r.label,
                    "pids": r.pids,
                    "samples": r.samples,
                    "first_mib": round(r.first, 1),
                    "min_mib": round(r.minimum, 1),
                    "last_mib": round(r.last, 1),
                    "peak_mib": round(r.peak, 1),
                    "longest_life_seconds": round(r.lifetime, 1),
                    "first_window_mib": None if r.first_window is None else round(r.first_window, 1),
                    "last_window_mib": None if r.last_window is None else round(r.last_window, 1),
                    "growth": None if r.growth is None else round(r.growth, 4),
                    "verdict": r.verdict(GROWTH_RATIO, GROWTH_MIB),
                }
                for r in self.memory
            ],
            "memory_growing": self.growing,
            "submit_seconds": round(self.submit_seconds, 1),
            "drain_seconds": round(self.drain_seconds, 1),
            "wall_seconds": round(self.wall_seconds, 1),
            "problems": self.problems,
            "notes": self.notes,
        }
