"""``regq exporter [--port 9808] [--bind 127.0.0.1]``: the fleet's metrics for Prometheus at /metrics.

Each scrape reads the store (jobs, waiting reasons, webhook outbox, inventory, audit table, breaker
journal, replays) and Redis (breakers, the shared limiter, the broker's queues) with bounded queries;
see :mod:`shared.metrics`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from shared import defaults
from shared.metrics import BrokerQueues, FleetCollector, MetricsServer, registry_for, serve
from shared.names import Registrar
from tasks.routing import ALL_QUEUES
from tasks.runtime import Runtime
from workers import context
from workers.console import console


def build_collector(rt: Runtime) -> FleetCollector:
    """The collector for this runtime's store, Redis and broker (queue lengths on a Redis broker only)."""
    settings = rt.settings
    broker_url = settings.effective_broker_url
    broker = (
        BrokerQueues(broker_url, settings.broker_key_prefix, ALL_QUEUES)
        if BrokerQueues.supports(broker_url)
        else None
    )
    return FleetCollector(
        store=rt.store,
        limiter=rt.limiter,
        breaker=rt.breaker,
        broker=broker,
        registrars=[r.value for r in Registrar],
    )


def start(rt: Runtime, bind: str, port: int) -> MetricsServer:
    """Serve the fleet's metrics on ``bind:port`` in a thread (port 0: any free port)."""
    return serve(registry_for(build_collector(rt)), bind, port)


def exporter(
    port: Annotated[int, typer.Option(help="port of /metrics")] = defaults.EXPORTER_PORT,
    bind: Annotated[str, typer.Option(help="address to listen on (0.0.0.0 in a container)")] = (
        defaults.EXPORTER_BIND
    ),
) -> None:
    """Serve the fleet's metrics (jobs, queues, breakers, limiter, upstream calls, renewals) at /metrics."""
    rt = context.runtime()
    server = start(rt, bind, port)
    console.print(f"regq exporter: {server.url}", soft_wrap=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        rt.close()
