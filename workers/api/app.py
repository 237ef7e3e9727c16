"""The HTTP API: the same job models, the same submit path (row first, then message), token auth.

One ``APIRouter`` per concern, assembled here:

- :mod:`workers.api.submit`: ``POST /v1/jobs``, ``POST /v1/jobs:batch`` (scope ``submit``);
- :mod:`workers.api.jobs`, :mod:`workers.api.domains`: reads of the caller's owner's jobs and domains,
  :mod:`workers.api.lookup`: a lookup of public registration data (scope ``read``);
- :mod:`workers.api.hooks`: ``POST /v1/hooks/{registrar}`` (signed; no API token);
- :mod:`workers.api.health` and :mod:`workers.api.openapi`: open.

:mod:`workers.api.auth` is the token dependency (401/403/429, the failed-authentication throttle) and the
guard that refuses a token in the URL (400). Bodies are capped (413) before they are parsed. Nothing a
client sends is answered 500: parameters are checked before SQL (:mod:`workers.api.params`, 422), and an
unreachable store or Redis is a 503 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.errors import BackendUnavailable
from tasks.runtime import Runtime
from workers.api import auth_code, domains, health, hooks, jobs, lookup, openapi, submit
from workers.api.answers import Invalid, invalid
from workers.api.auth import QueryTokenGuard

#: What an unreachable store or Redis answers: a client's retry after this finds it back, or not.
UNAVAILABLE_RETRY_AFTER = "5"


def create_app(runtime: Callable[[], Runtime]) -> FastAPI:
    """The API on ``runtime()`` (``tasks.runtime.get`` in ``regq api``)."""
    app = FastAPI(title="regq", version="1", docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.add_middleware(QueryTokenGuard)
    app.include_router(hooks.router)  # POST /v1/hooks/{registrar}: signed, no API token
    app.include_router(submit.router)
    app.include_router(jobs.router)
    app.include_router(domains.router)
    app.include_router(auth_code.router)
    app.include_router(lookup.router)
    app.include_router(health.router)
    app.add_exception_handler(Invalid, _invalid)
    app.add_exception_handler(BackendUnavailable, _unavailable)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _unavailable)
    openapi.install(app)
    return app


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    return invalid(exc.entries if isinstance(exc, Invalid) else [])


async def _unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "temporarily unavailable: retry later"},
        status_code=503,
        headers={"Retry-After": UNAVAILABLE_RETRY_AFTER},
    )
