"""``regq demo`` and ``regq up``: the embedded stack, with a demo batch or until interrupted."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import requests
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared import defaults
from shared.errors import FieldProblem
from shared.jobs import JobOutcome
from shared.store import Store
from workers.commands.submit import submit_lines
from workers.console import console, table
from workers.demo import Batch, build_batch, busiest_window
from workers.demo_tally import COLUMNS, RunTally, wait_for_run

#: The demo's transfers end within its run: the sandbox settles them this soon, regq reads them this often.
DEMO_TRANSFER_DELAY_SECONDS = 3.0
DEMO_TRANSFER_FOLLOW_SECONDS = 2.0

if TYPE_CHECKING:  # the embedded stack (and the sandbox it starts) is imported only by demo and up
    from workers.embedded.stack import Stack


def _terminate_as_interrupt() -> None:
    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


def _banner(stack: Stack) -> None:
    assert stack.flower_auth is not None
    user, password = stack.flower_auth
    console.print(
        f"[bold]Flower[/bold] {stack.flower_url}  user [cyan]{user}[/cyan] password [cyan]{password}[/cyan]"
    )
    if stack.api_url:
        console.print(
            f"[bold]API[/bold] {stack.api_url}  token [cyan]{stack.api_token}[/cyan]  "
            f"(Authorization: Bearer; revoked when the stack stops; {stack.api_url}/openapi.json)",
            soft_wrap=True,
        )
    if stack.exporter_url:
        console.print(f"[bold]metrics[/bold] {stack.exporter_url}/metrics")
    console.print(
        f"[bold]Redis[/bold] {stack.env['REGQ_REDIS_URL']}   [bold]database[/bold] "
        f"{stack.env['REGQ_DATABASE_URL']}   logs in {stack.var_dir / 'logs'}"
    )
    if stack.stack_env_file is not None:  # how a second terminal's regq finds this stack
        path = stack.stack_env_file.resolve()
        found = path == Path(defaults.STACK_FILE).resolve()  # var/stack.env under this directory
        where = f"regq run in {Path.cwd()} reads it" if found else f"REGQ_STACK_FILE={path} regq reads it"
        console.print(
            f'[bold]settings[/bold] {path}: {where}; or eval "$(.venv/bin/regq stack env --file {path})"',
            soft_wrap=True,
        )


def up(var_dir: Annotated[Path, typer.Option(help="state and logs")] = Path(defaults.VAR_DIR)) -> None:
    """Run the embedded stack until Ctrl-C."""
    from workers.embedded.stack import Stack

    _terminate_as_interrupt()
    stack = Stack(var_dir=var_dir, api=True, exporter=True, supervise=True, preferred_ports=True)
    try:
        with console.status("starting") as status:
            stack.start(on_step=lambda msg: status.update(msg))
        _banner(stack)
        console.print("stack is up; Ctrl-C stops everything")
        while all(child.alive for child in stack.children.values()):
            time.sleep(1)
        console.print("[red]a child process exited; stopping[/red]")
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        stack.stop()


def demo(
    jobs: Annotated[int, typer.Option(help="how many jobs to publish")] = defaults.DEMO_JOBS,
    timeout: Annotated[float, typer.Option(help="seconds to wait for every job to finish")] = 240,
    var_dir: Annotated[Path, typer.Option(help="state and logs")] = Path(defaults.VAR_DIR),
) -> None:
    """Start the embedded stack, publish a mixed batch, wait for every job, print a summary, stop."""
    from workers.embedded.stack import Stack

    _terminate_as_interrupt()
    follow = {"REGQ_TRANSFER_FOLLOW_SECONDS": f"{DEMO_TRANSFER_FOLLOW_SECONDS:g}"}
    stack = Stack(
        var_dir=var_dir, api=True, exporter=True, supervise=True, extra_env=follow, preferred_ports=True
    )
    code = 1
    try:
        with console.status("starting") as status:
            stack.start(on_step=lambda msg: status.update(msg))
        _banner(stack)
        # a tag of its own per run: a rerun against the same var/ database submits new names
        code = _run_demo(stack, build_batch(jobs, day2=True, run=int(time.time())), timeout)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        code = 130
    finally:
        with console.status("stopping everything"):
            stack.stop()
    raise typer.Exit(code)


def _api(stack: Stack, path: str, body: dict[str, Any]) -> requests.Response:
    assert stack.api_url is not None
    auth = {"Authorization": f"Bearer {stack.api_token}"}
    return requests.post(stack.api_url + path, json=body, headers=auth, timeout=30)


def _submit_via_api(stack: Stack, jobs: list[dict[str, Any]]) -> list[JobOutcome]:
    outcomes = []
    for job in jobs:
        answer = _api(stack, "/v1/jobs", job)
        answer.raise_for_status()
        outcomes.append(JobOutcome.model_validate(answer.json()))
    return outcomes


def _read_auth_code(stack: Stack, domain: str) -> bool:
    """The code through the API; only that it was read (its length) is printed, never the code."""
    answer = _api(stack, f"/v1/domains/{domain}/auth-code", {})
    if answer.status_code != 200:
        console.print(f"[red]auth code of {domain}: HTTP {answer.status_code}[/red]")
        return False
    code = answer.json().get("auth_code") or ""
    console.print(f"auth code of {domain} read through the API: {len(code)} characters (not shown)")
    return bool(code)


def _run_demo(stack: Stack, batch: Batch, timeout: float) -> int:
    assert stack.sandbox is not None
    settings = stack.settings()
    store = Store(settings.database_url)
    for provider, seeds in batch.seeds.items():
        if seeds:
            stack.sandbox.seed_domains(provider, seeds)
    for name, provider, expires in batch.inventory:
        store.inventory.upsert(name, provider, expires)
    stack.sandbox.configure("gandi", transfer_delay=DEMO_TRANSFER_DELAY_SECONDS)
    console.print(
        f"transfers: the sandbox completes (or refuses) them {DEMO_TRANSFER_DELAY_SECONDS:g} s after their "
        f"start; regq reads them every {settings.transfer_follow_seconds:g} s (REGQ_TRANSFER_FOLLOW_SECONDS; "
        f"{defaults.TRANSFER_FOLLOW_SECONDS:g} s outside the demo)"
    )
    producer = stack.producer()
    started = time.time()
    outcomes, problems = submit_lines(batch.lines, store, producer)
    outcomes += _submit_via_api(stack, batch.api_jobs)
    accepted = {o.key for o in outcomes}
    duplicates = sum(1 for o in outcomes if o.duplicate)
    tally = _wait(store, accepted, timeout)
    elapsed = time.time() - started
    _summary(stack, store, tally, outcomes, problems, duplicates, elapsed)
    read = _read_auth_code(stack, batch.auth_code_domain) if batch.auth_code_domain else True
    producer.close()
    store.dispose()
    if tally.unfinished:  # the exit code is the demo's promise: this run's jobs, every one final
        console.print(
            f"[red]{len(tally.unfinished)} of this run's {len(tally.records)} jobs did not finish "
            f"within {timeout:.0f} s:[/red]"
        )
        for line in tally.describe_unfinished():
            console.print(f"  {line}", markup=False, highlight=False)
        return tally.exit_code
    if not read:
        return 1
    follow_ups = len(tally.records) - len(accepted)
    console.print(
        f"[green]all {len(tally.records)} jobs of this run (the {len(accepted)} keys it was answered, "
        f"duplicates included, and {follow_ups} follow-ups) reached a final state in {elapsed:.1f} s[/green]"
    )
    return 0


def _wait(store: Store, keys: set[str], timeout: float) -> RunTally:
    """This run's jobs (``keys`` and the follow-ups they name) until final or ``timeout``: never the
    whole database, which holds earlier runs' jobs too (workers.demo_tally)."""
    columns = (TextColumn("jobs final"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("wait", total=len(keys))

        def show(tally: RunTally) -> None:
            total = len(tally.records)
            progress.update(bar, total=total, completed=total - len(tally.unfinished))

        return wait_for_run(store.jobs.get, keys, timeout, show)


def _summary(
    stack: Stack,
    store: Store,
    tally: RunTally,
    outcomes: list[JobOutcome],
    problems: list[tuple[int, FieldProblem]],
    duplicates: int,
    elapsed: float,
) -> None:
    rows = tally.rows()  # this run's jobs only
    rows.append(["invalid at submit", "", "", len({n for n, _ in problems}), ""])
    table(
        f"demo: {len(outcomes) - duplicates} jobs accepted, {duplicates} duplicates suppressed, "
        f"{elapsed:.1f} s",
        ["kind", *COLUMNS],
        rows,
    )
    settings = stack.settings()
    audit = store.audit.counts_by_provider()
    assert stack.sandbox is not None
    upstream = []
    for provider in ("gandi", "rotld"):
        stats = stack.sandbox.stats(provider)
        rate, burst = settings.rate_for(provider)
        upstream.append(
            [
                provider,
                stats["requests"],
                audit.get(provider, 0),
                busiest_window(stats.get("request_times", [])),
                f"{rate.per_second + burst:.1f}  ({rate} + burst {burst})",
            ]
        )
    table(
        "upstream calls",
        ["registrar", "requests at sandbox", "audit rows", "busiest 1 s at sandbox", "allowed in 1 s"],
        upstream,
    )
