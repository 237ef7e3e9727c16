"""The size, fault rates, kill schedule and worker layout of one chaos run, and the stack's settings."""

from __future__ import annotations

from dataclasses import dataclass

from workers.embedded.stack import WorkerGroup


@dataclass(frozen=True)
class ChaosConfig:
    """Size, fault rates, kill schedule and worker layout of one chaos run."""

    seed: int = 1729
    registers: int = 200
    renews: int = 60
    taken_share: float = 0.1  # registers of names someone else already holds
    ro_share: float = 0.25  # share of .ro names (ROTLD); the rest .com/.net (Gandi)
    copies: int = 3  # submissions per job through tasks.publish.submit (concurrent producers)
    raw_duplicates: int = 2  # extra raw messages per job (tasks.publish.publish_record)...
    raw_share: float = 0.5  # ...for this share of the jobs; the others have a single message
    commit_drop: float = 0.2  # share of creates/renewals applied, then the connection dropped
    server_error: float = 0.1  # share answered 500 (nothing applied)
    submit_seconds: float = 8.0  # submissions are spread over this long
    kill_interval: tuple[float, float] = (2.0, 5.0)  # seconds between kills (uniform)
    min_kills: int = 3
    max_kills: int = 0  # the killer stops after this many (0: it kills until the run ends)
    deadline_seconds: float = 150.0  # every job final within this long after the last submission
    settle_seconds: float = 2.0  # after the last job is final, before reading the sandbox's effects
    gandi_workers: int = 2
    gandi_concurrency: int = 2
    rotld_workers: int = 1
    rotld_concurrency: int = 2
    misc_concurrency: int = 2


def worker_groups(config: ChaosConfig) -> tuple[WorkerGroup, ...]:
    """Registrar workers (the ones killed) plus one ``lookup,maintenance`` worker, as in the README."""
    groups = [
        WorkerGroup(f"gandi{i + 1}", ("registrar.gandi",), config.gandi_concurrency)
        for i in range(config.gandi_workers)
    ]
    groups += [
        WorkerGroup(f"rotld{i + 1}", ("registrar.rotld",), config.rotld_concurrency)
        for i in range(config.rotld_workers)
    ]
    groups.append(WorkerGroup("misc", ("lookup", "maintenance"), config.misc_concurrency))
    return tuple(groups)


def stack_env() -> dict[str, str]:
    """Settings for fast recovery: short leases, a frequent sweep, attempts enough for faults + kills."""
    return {
        "REGQ_LEASE_SECONDS": "4",
        "REGQ_SWEEP_INTERVAL_SECONDS": "2",
        "REGQ_REPUBLISH_AFTER_SECONDS": "10",
        "REGQ_RETRY_BACKOFF_SECONDS": "0.3",
        "REGQ_MAX_ATTEMPTS": "10",
        "REGQ_GANDI_RATE": "200/s",
        "REGQ_GANDI_BURST": "50",
        "REGQ_ROTLD_RATE": "100/s",
        "REGQ_ROTLD_BURST": "50",
        "REGQ_BREAKER_FAILURES": "50",
        "REGQ_BREAKER_RESET_SECONDS": "2",
        "REGQ_GANDI_VISIBILITY_WAIT_SECONDS": "5",
    }
