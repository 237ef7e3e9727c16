"""The yardstick of ``bench.api``: the least an HTTP app must do to give regq's producer guarantee.

::

    .venv/bin/python -m bench.minimal_app --port 8001     # REGQ_DATABASE_URL, REGQ_BROKER_URL ... as regq

``POST /v1/jobs`` with a job as its JSON body answers 201 only once (1) the job's row is committed in
Postgres, in regq's own ``jobs`` table (one ``INSERT ... ON CONFLICT (key) DO NOTHING``, autocommit: one
round trip, one WAL flush), and (2) its message is in the broker: the Celery message regq's workers
consume (``regq.<kind>`` with the same kwargs, routed and prefixed by :func:`tasks.producer.producer_app`,
i.e. Celery's ``send_task`` on kombu, as regq publishes). Nothing else: no token, no validation past
the JSON, no rate limit, no published marker (a crash between commit and publish leaves the row for a
sweep, as in regq). Connections come from a ``psycopg_pool.ConnectionPool`` sized to the threadpool.

Served by uvicorn with the settings ``regq api`` uses (one process, access log through the same
redacting log configuration), so ``bench.api``'s ratio compares the request paths, not the servers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from shared import defaults
from shared.settings import Settings, get_settings
from tasks.producer import producer_app

INSERT = (
    "INSERT INTO jobs (key, kind, domain, registrar, params, params_hash, status, attempts, republishes,"
    " due_at, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'queued', 0, 0, %s, %s, %s)"
    " ON CONFLICT (key) DO NOTHING"
)


def conninfo(database_url: str) -> str:
    """A libpq URL from a SQLAlchemy one (``postgresql+psycopg://`` -> ``postgresql://``)."""
    url = sa.engine.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def create_app(settings: Settings) -> FastAPI:
    pool = ConnectionPool(
        conninfo(settings.database_url),
        min_size=4,
        max_size=defaults.DB_POOL_SIZE,
        kwargs={"autocommit": True},
        open=True,
    )
    producer = producer_app(settings)
    app = FastAPI()

    def store_and_publish(job: dict[str, Any]) -> str:
        kind, domain = str(job["kind"]), str(job["domain"]).lower()
        key = str(job.get("idempotency_key") or f"{kind}:{domain}")
        params = json.dumps(job, sort_keys=True, separators=(",", ":"))
        now = datetime.now(UTC)
        registrar = job.get("registrar") or "gandi"  # the bench's .com jobs: regq's catalogue says Gandi
        row = (key, kind, domain, registrar, Jsonb(job), hashlib.sha256(params.encode()).hexdigest())
        with pool.connection() as conn:
            conn.execute(INSERT, (*row, now, now, now))
        kwargs = {"key": key, "domain": domain, "registrar": registrar}
        producer.send_task(f"regq.{kind}", kwargs=kwargs, argsrepr="()", kwargsrepr=repr(kwargs))
        return key

    @app.post("/v1/jobs", status_code=201)
    async def create_job(request: Request) -> JSONResponse:
        job = json.loads(await request.body())
        key = await run_in_threadpool(store_and_publish, job)
        return JSONResponse({"key": key, "status": "queued"}, status_code=201)

    @app.get("/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from workers.api.logconfig import log_config

    parser = argparse.ArgumentParser(prog="python -m bench.minimal_app", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = create_app(get_settings())
    uvicorn.run(  # as workers/api/commands.py runs regq's API
        app, host="127.0.0.1", port=args.port, server_header=False, log_level="info", log_config=log_config()
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
