"""``GET /v1/health``: open (load balancers and compose health checks carry no token); it tells only which
of store, Redis and broker answer: no versions, no URLs."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tasks.runtime import Runtime
from workers.api.auth import runtime_of
from workers.api.openapi import errors
from workers.api.problems import problem
from workers.api.schemas import HealthAnswer, HealthProblem

router = APIRouter()


@router.get(
    "/v1/health",
    operation_id="health",
    summary="Which of store, Redis and broker answer (no token)",
    response_model=HealthAnswer,
    responses=errors(
        400,
        503,
        said={503: "one of them does not answer: checks says which"},
        models={503: HealthProblem},
        headers={},
    ),
)
def health(request: Request) -> JSONResponse:
    """Which of store, Redis and broker answer; 200 when all do, else 503 (a problem that keeps ``ok``
    and ``checks``). No token needed."""
    rt = runtime_of(request)
    checks = {"store": _check(lambda: _ping_store(rt)), "redis": _check(lambda: _ping_redis(rt))}
    checks["broker"] = _check(lambda: _ping_broker(rt))
    if all(checks.values()):
        return JSONResponse({"ok": True, "checks": checks})
    down = ", ".join(name for name, up in checks.items() if not up)
    return problem(503, f"not answering: {down}", ok=False, checks=checks)


def _check(probe: Callable[[], object]) -> bool:
    try:
        probe()
    except Exception:  # noqa: BLE001 - any failure of a probe is "unreachable"; nothing is shown of it
        return False
    return True


def _ping_store(rt: Runtime) -> None:
    with rt.store.db.engine.connect() as conn:
        conn.execute(sa.text("select 1"))


def _ping_redis(rt: Runtime) -> None:
    client = getattr(rt.connection, "client", None)
    if client is not None:
        client.ping()


def _ping_broker(rt: Runtime) -> None:
    with rt.producer.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
