"""Resident memory of every process of a run, sampled from ``/proc`` (no psutil), and whether it grows.

A :class:`MemorySampler` thread reads ``VmRSS`` from ``/proc/<pid>/status`` every ``interval`` seconds
for each root process its ``roots`` callable names (label -> pid) and for every other member of that
root's process group (a Celery worker's pool children: ``<label>/pool<n>``). A restarted worker is a new
pid under the same label: :func:`summarize` keeps the label's figures over all its pids and judges
growth on its longest-lived one.
"""

from __future__ import annotations

import csv
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
#: A pid "starts working" at its first sample this far above its first one (a pool child's first task).
STEP = 1.05


def rss_kib(pid: int) -> int | None:
    """``VmRSS`` of ``pid`` in KiB; None when the process is gone (or a zombie without memory)."""
    try:
        text = (PROC / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def process_group_members(pgid: int) -> list[int]:
    """Every pid whose process group is ``pgid`` (the leader included), in pid order."""
    members: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        # Fields after the command name, which is in parentheses and may itself hold spaces.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return sorted(members)


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the sampler started
    label: str
    pid: int
    rss_kib: int


@dataclass
class MemorySampler:
    """Samples every ``interval`` seconds until :meth:`stop`; ``roots()`` -> {label: pid} each time."""

    roots: Callable[[], dict[str, int]]
    interval: float = 10.0
    groups: bool = True  # also sample the other members of each root's process group
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _started: float = 0.0

    def start(self) -> MemorySampler:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="soak-memory", daemon=True)
        self._thread.start()
        return self

    def sample_once(self) -> list[Sample]:
        at = round(time.monotonic() - self._started, 1)
        taken: list[Sample] = []
        for label, pid in sorted(self.roots().items()):
            pids = [pid]
            if self.groups and pid != os.getpid():
                pids += [p for p in process_group_members(pid) if p != pid]
            for index, member in enumerate(pids):
                kib = rss_kib(member)
                if kib is not None:
                    name = label if member == pid else f"{label}/pool{index}"
                    taken.append(Sample(at, name, member, kib))
        self.samples.extend(taken)
        return taken

    def _run(self) -> None:
        while True:
            self.sample_once()
            if self._stop.wait(self.interval):
                return

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.sample_once()  # one last sample at the end of the run
        return self.samples


@dataclass(frozen=True)
class MemoryRow:
    """One label's figures (MiB): first/min/last/peak over all its pids; growth on its longest-lived."""

    label: str
    pids: int
    samples: int
    first: float
    minimum: float
    last: float
    peak: float
    first_window: float | None  # mean of the first 10 % of the longest-lived pid's settled samples
    last_window: float | None  # mean of its last 10 %
    lifetime: float  # seconds the longest-lived pid was sampled over

    @property
    def growth(self) -> float | None:
        if self.first_window is None or self.last_window is None or self.first_window <= 0:
            return None
        return self.last_window / self.first_window - 1.0

    def grows(self, ratio: float, mib: float) -> bool:
        """Flagged when the last window is above the first by more than ``ratio`` AND ``mib``."""
        growth = self.growth
        if growth is None or self.first_window is None or self.last_window is None:
            return False
        return growth > ratio and self.last_window - self.first_window > mib

    def verdict(self, ratio: float, mib: float) -> str:
        if self.growth is None:
            return "too short"
        return "GROWS" if self.grows(ratio, mib) else "flat"


def _windows(
    series: list[Sample], warmup: float, share: float, min_span: float
) -> tuple[float | None, float | None]:
    """(first, last) window means in MiB, or (None, None) when too little of the pid's life is settled.

    The warm-up starts when the process starts working (its first sample above ``STEP`` times its first
    one; else its first): a pool child sits at its forked size until its first task imports what that task
    needs, which is a step up, not a leak."""
    working = next((s for s in series if s.rss_kib > series[0].rss_kib * STEP), series[0])
    settled = [s for s in series if s.at - working.at >= warmup]
    if len(settled) < 4 or settled[-1].at - settled[0].at < min_span:  # a trend needs a stretch of life
        return None, None
    width = max(1, round(len(settled) * share))
    first = statistics.mean(s.rss_kib for s in settled[:width]) / 1024
    last = statistics.mean(s.rss_kib for s in settled[-width:]) / 1024
    return first, last


def summarize(
    samples: list[Sample], warmup: float = 30.0, share: float = 0.1, min_span: float = 120.0
) -> list[MemoryRow]:
    """One :class:`MemoryRow` per label, in label order. ``warmup``: seconds after a pid starts working
    that the growth windows skip (imports, first connections, first tasks); ``share``: each window's size;
    ``min_span``: the settled stretch a pid needs to be judged at all (else "too short")."""
    by_label: dict[str, list[Sample]] = {}
    for sample in samples:
        by_label.setdefault(sample.label, []).append(sample)
    rows: list[MemoryRow] = []
    for label, series in sorted(by_label.items()):
        by_pid: dict[int, list[Sample]] = {}
        for sample in series:
            by_pid.setdefault(sample.pid, []).append(sample)
        longest = max(by_pid.values(), key=lambda s: (s[-1].at - s[0].at, len(s)))
        first_window, last_window = _windows(longest, warmup, share, min_span)
        mib = [s.rss_kib / 1024 for s in series]
        rows.append(
            MemoryRow(
                label=label,
                pids=len(by_pid),
                samples=len(series),
                first=mib[0],
                minimum=min(mib),
                last=mib[-1],
                peak=max(mib),
                first_window=first_window,
                last_window=last_window,
                lifetime=longest[-1].at - longest[0].at,
            )
        )
    return rows


def write_samples(samples: list[Sample], path: Path) -> Path:
    """Every sample as CSV (``at,label,pid,rss_kib``): one pid's series, for a closer look at a growth."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("at", "label", "pid", "rss_kib"))
        writer.writerows((s.at, s.label, s.pid, s.rss_kib) for s in samples)
    return path
