"""The HTTP API: the same job models, the same submit path (row first, then message), token auth.

One ``APIRouter`` per concern, assembled here:

- :mod:`workers.api.submit`: ``POST /v1/jobs``, ``POST /v1/jobs:batch`` (scope ``submit``);
- :mod:`workers.api.jobs`, :mod:`workers.api.domains`: reads of the caller's owner's jobs and domains,
  :mod:`workers.api.lookup`: a lookup of public registration data (scope ``read``);
- :mod:`workers.api.hooks`: ``POST /v1/hooks/{registrar}`` (signed; no API token);
- :mod:`workers.api.health` and :mod:`workers.api.openapi` (``/openapi.json``, ``/docs``, ``/redoc``): open.

:mod:`workers.api.auth` is the token dependency (401/403/429, the failed-authentication throttle) and the
guard that refuses a token in the URL (400). A body's Content-Type is checked before the route runs
(:mod:`workers.api.media`, 415); bodies are capped (413) before they are parsed. Nothing a client sends
is answered 500: parameters are checked before SQL (:mod:`workers.api.params`, 422), and an unreachable
store or Redis is a 503 with ``Retry-After``. Every error is an RFC 9457 problem
(``application/problem+json``): the handlers are installed by :func:`workers.api.problems.install`.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from tasks.runtime import Runtime
from workers.api import auth_code, domains, health, hooks, jobs, lookup, openapi, problems, submit
from workers.api.auth import QueryTokenGuard
from workers.api.media import ContentTypeGuard


def create_app(runtime: Callable[[], Runtime]) -> FastAPI:
    """The API on ``runtime()`` (``tasks.runtime.get`` in ``regq api``)."""
    # /docs and /redoc on the Swagger UI and ReDoc files fastapi-offline ships (no CDN: workers.api.openapi)
    app = FastAPIOffline(title="regq", version="1", swagger_ui_parameters=openapi.SWAGGER_UI)
    app.state.runtime = runtime
    app.add_middleware(ContentTypeGuard)
    app.add_middleware(QueryTokenGuard)  # added last: runs first (a token in the URL is refused before all)
    app.include_router(hooks.router)  # POST /v1/hooks/{registrar}: signed, no API token
    app.include_router(submit.router)
    app.include_router(jobs.router)
    app.include_router(domains.router)
    app.include_router(auth_code.router)
    app.include_router(lookup.router)
    app.include_router(health.router)
    problems.install(app)
    openapi.install(app)
    return app
