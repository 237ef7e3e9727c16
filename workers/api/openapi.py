"""``/openapi.json`` (the public contract) and the interactive docs ``/docs`` and ``/redoc``, served offline.

The document is FastAPI's, built once from the routes, with what FastAPI cannot see added here:

- every answer's schema: the 2xx from the routes' ``response_model=``/``responses=``
  (:mod:`workers.api.schemas`; the handlers return their own ``JSONResponse``, so these declare and
  never reshape), every error as :class:`workers.api.problems.Problem` (or a subclass naming its
  extension members) under ``application/problem+json`` (:func:`errors` builds a route's entries; FastAPI
  files a model under ``application/json``, :func:`_problem_media` moves it), with ``Retry-After`` and
  ``WWW-Authenticate`` where they are sent. FastAPI's automatic 422 (``HTTPValidationError``, a shape
  this API never answers) is pointed at ``Problem`` too;
- the bearer scheme ``bearerAuth`` (``Authorization: Bearer <token>``, as :mod:`workers.api.auth` reads
  it) on each operation that takes a token: declared by the route (``openapi_extra=AUTHENTICATED``), so it
  costs nothing per request (an ``HTTPBearer`` dependency would read the header a second time);
- the job models ``regq schema`` prints, as ``Job`` (a request body the submit routes read themselves);
- ``operationId`` names a generated client's functions by (``submit_job``, ``list_jobs`` ...).

The constraints the handlers enforce are declared on the parameters (patterns, lengths, ranges, enums),
so a client generator and schemathesis see the real contract. tests/test_openapi_contract.py validates
the document (openapi-spec-validator), checks real answers against it, and generates a client from it
(openapi-python-client) that submits, polls and pages.

Docs: FastAPI's default ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN that machines
without internet cannot reach. :func:`workers.api.app.create_app` builds the app with the
``fastapi-offline`` package's ``FastAPIOffline``: the same pages on the assets that package ships, served
under ``/static-offline-docs`` (ReDoc without Google fonts); with :data:`SWAGGER_UI` (no validator badge,
which would call validator.swagger.io) no URL in either page leaves our origin. Open, like the document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from shared.jobs import Job
from workers.api.problems import MEDIA_TYPE, Problem

#: The security scheme's name in ``components.securitySchemes``.
BEARER = "bearerAuth"
#: ``openapi_extra`` of an operation that takes an API token.
AUTHENTICATED: dict[str, Any] = {"security": [{BEARER: []}]}
#: Swagger UI's settings: no validator badge (an image from validator.swagger.io).
SWAGGER_UI: dict[str, Any] = {"validatorUrl": None}

DESCRIPTION = (
    "Submit domain registration jobs and read their outcome.\n\n"
    "Authentication: `Authorization: Bearer <token>` (`regq api-token create`); a token in the URL is "
    "refused (400). Every error is an RFC 9457 problem (`application/problem+json`): `type`, `title`, "
    "`status`, `detail`, and `errors` (one `{loc, msg}` per bad field) or `key` (the conflicting job's "
    "key). A 429, and a 503 that a retry may cure, carry `Retry-After` (whole seconds)."
)

#: Response headers an operation declares (``required``: sent with every answer of that status).
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
ALWAYS_RETRY_AFTER = {"Retry-After": {**RETRY_AFTER["Retry-After"], "required": True}}
LOCATION = {"Location": {"description": "the job's URL: GET it to poll", "schema": {"type": "string"}}}
#: What each error status means on any operation that can give it (a route may say more).
WHY: dict[int, str] = {
    400: "an API token in the query string (refused before anything else; send it in Authorization)",
    401: "no API token, or not a valid one",
    403: "the token lacks this operation's scope",
    404: "not found (or another producer's: the same answer)",
    409: "conflict",
    413: "the body is larger than the API takes",
    415: "a Content-Type this operation does not take (Accept-Post lists the ones it does)",
    422: "a parameter or the body is not valid: errors names each field and why",
    429: "rate limited (this token, or failed authentications from this address): retry after Retry-After",
    502: "the registrar failed",
    503: "store, Redis, broker or the registrar's limiter says wait: retry after Retry-After",
}
#: The headers of an error status on an operation with a token (a 503 of the health check has none).
TOKEN_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}, "required": True}},
    429: ALWAYS_RETRY_AFTER,
    503: RETRY_AFTER,
}
#: The errors every operation with a token can give: the URL guard, the token check, its bucket, a
#: lost store or Redis.
TOKEN_ERRORS = (400, 401, 403, 422, 429, 503)


def errors(
    *statuses: int,
    said: Mapping[int, str] | None = None,
    models: Mapping[int, type[Problem]] | None = None,
    headers: Mapping[int, dict[str, Any]] = TOKEN_HEADERS,
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for ``statuses``: a problem each (``models`` may name a subclass), with the
    common meaning from :data:`WHY` unless ``said`` gives the operation's own, and its ``headers``."""
    said, models = said or {}, models or {}
    entries: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        entry: dict[str, Any] = {
            "model": models.get(status, Problem),
            "description": said.get(status, WHY[status]),
        }
        if status in headers:
            entry["headers"] = headers[status]
        entries[status] = entry
    return entries


def install(app: FastAPI) -> None:
    """Serve ``app``'s document (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes
            )
            components = schema.setdefault("components", {})
            models = components.setdefault("schemas", {})
            job = TypeAdapter(Job).json_schema(ref_template="#/components/schemas/{model}")
            models.update(job.pop("$defs", {}))
            models["Job"] = job
            components["securitySchemes"] = {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token (`regq api-token create NAME`)",
                }
            }
            _problem_media(schema, models)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_media(schema: dict[str, Any], models: dict[str, Any]) -> None:
    """Every 4xx/5xx answer under ``application/problem+json``; FastAPI's automatic 422 as ``Problem``."""
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in problem.pop("$defs", {}).items():
        models.setdefault(name, definition)
    models.setdefault("Problem", problem)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[:1] not in ("4", "5"):
                    continue
                content = response.get("content", {})
                body = content.pop("application/json", None)
                if body is None:
                    continue
                if body.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    body = {"schema": {"$ref": "#/components/schemas/Problem"}}
                    response["description"] = WHY[422]
                content[MEDIA_TYPE] = body
    for name in ("HTTPValidationError", "ValidationError"):  # in this order: the first refers to the second
        if f'"#/components/schemas/{name}"' not in json.dumps(schema):
            models.pop(name, None)
