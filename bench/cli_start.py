"""``bench.cli_start``: how long ``regq`` takes to start, next to ``celery --help`` and a bare Python.

Each figure is the median wall time of N runs of a subprocess, from spawn to exit, as an operator's shell
sees it. The four commands run interleaved (round-robin, one warm-up round not counted), so the load of a
shared machine weighs on each alike; the ratios to ``python -c pass`` and ``celery --help`` measured in the
same run are what to compare across machines:

* ``regq --help``: the lazy command group (workers/commands/lazy.py) lists every command and imports none;
* ``regq status KEY``: reads one real job from a real store (a SQLite file in a temp dir seeded with one
  register job, or ``--database-url``, where ``--key`` names a job that exists) and prints it;
* ``celery --help`` and ``python -c pass``: the references.

Each run's CPU time (user + system, from ``getrusage(RUSAGE_CHILDREN)``) is reported beside the wall
time: on a machine shared with other work, wall time mostly measures the others.

The children get no ``REGQ_*`` variable but the database URL and ``REGQ_STACK_FILE=`` (no stack file), and
bytecode caching on (an installed package has its ``.pyc`` files; a checkout with PYTHONDONTWRITEBYTECODE
set would compile every module on every run). Targets (issue 21): ``regq --help`` <= 0.3 s, ``regq status
KEY`` <= 0.5 s. Exit status 0 when both are met.

    .venv/bin/python -m bench.cli_start            # 15 runs each
    .venv/bin/python -m bench.cli_start --runs 31 --json
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine_notes, progress, show_figures
from shared.jobs import parse_job
from shared.store import Store
from testkit.factories import register

BIN = Path(sys.executable).parent
TARGETS = {"regq --help": 0.3, "regq status KEY": 0.5}


def commands(key: str) -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "celery --help": [str(BIN / "celery"), "--help"],
        "regq --help": [str(BIN / "regq"), "--help"],
        "regq status KEY": [str(BIN / "regq"), "status", key],
    }


def child_env(database_url: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("REGQ_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(REGQ_DATABASE_URL=database_url, REGQ_STACK_FILE="", COLUMNS="100")
    return env


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds from spawn to exit, CPU seconds user + system of the child and its children); a
    command that fails stops the benchmark (its stderr shown)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[-2:])} failed ({result.returncode}): {result.stderr.strip()[-400:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def seeded_store(directory: Path) -> tuple[str, str]:
    """(database URL, key) of a SQLite store holding one register job."""
    url = f"sqlite:///{directory / 'cli-start.db'}"
    store = Store(url)
    try:
        store.upgrade()
        record, _created = store.jobs.create("bench-cli-start", parse_job(register("bench-cli-start.com")))
    finally:
        store.dispose()
    return url, record.key


def measure(runs: int, database_url: str, key: str, quiet: bool) -> dict[str, list[tuple[float, float]]]:
    env = child_env(database_url)
    argvs = commands(key)
    for argv in argvs.values():  # warm-up: bytecode written, file cache warm
        timed(argv, env)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in argvs}
    for i in range(runs):
        for name, argv in argvs.items():
            times[name].append(timed(argv, env))
        progress(f"round {i + 1}/{runs}", quiet)
    return times


def figures_of(times: dict[str, list[tuple[float, float]]], runs: int) -> dict[str, Any]:
    median = {name: statistics.median(wall for wall, _cpu in values) for name, values in times.items()}
    cpu = {name: statistics.median(cpu for _wall, cpu in values) for name, values in times.items()}
    python, celery = median["python -c pass"], median["celery --help"]
    figures: dict[str, Any] = {"runs": runs}
    for name, value in median.items():
        figures[f"{name} median s"] = round(value, 3)
    for name, value in cpu.items():  # less sensitive to a loaded machine than wall time
        figures[f"{name} median CPU s"] = round(value, 3)
    for name in TARGETS:
        figures[f"{name} / celery --help, CPU"] = round(cpu[name] / cpu["celery --help"], 2)
    for name in TARGETS:
        figures[f"{name} / celery --help"] = round(median[name] / celery, 2)
        figures[f"{name} minus python -c pass, s"] = round(median[name] - python, 3)
        figures[f"{name} target s"] = TARGETS[name]
        figures[f"{name} met"] = median[name] <= TARGETS[name]
    figures["machine"] = machine_notes()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_start", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (median)")
    parser.add_argument("--database-url", help="a store to read (default: a seeded SQLite file)")
    parser.add_argument("--key", help="the job regq status reads (with --database-url)")
    parser.add_argument("--json", action="store_true", help="only a JSON document on stdout")
    args = parser.parse_args(argv)
    if args.database_url and not args.key:
        parser.error("--database-url needs --key (a job that exists there)")
    with tempfile.TemporaryDirectory(prefix="regq-bench-cli-") as tmp:
        url, key = (args.database_url, args.key) if args.database_url else seeded_store(Path(tmp))
        times = measure(args.runs, url, key, quiet=args.json)
    figures = figures_of(times, args.runs)
    show_figures(figures, args.json, "regq start-up (median wall time of a subprocess)")
    return 0 if all(figures[f"{name} met"] for name in TARGETS) else 1


if __name__ == "__main__":
    sys.exit(main())
