"""The HTTP API: the same job models, the same submit path (row first, then message), token auth.

Every endpoint but ``/v1/health`` and ``/openapi.json`` needs ``Authorization: Bearer <token>`` (401
otherwise) with the endpoint's scope (403): ``submit`` for the POSTs, ``read`` for the GETs. Each
authenticated request takes one token from the fleet-wide bucket ``api:<token name>`` (429 with
``Retry-After``); a batch is one request. Bodies are capped (413) before they are parsed.

``/v1/health`` is open: load balancers and compose health checks carry no token, and it answers only
which of store, Redis and broker are reachable (no versions, no URLs). ``/openapi.json`` is open: it is
the same contract ``regq schema`` prints to anyone with the package.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from shared import defaults
from shared.errors import FieldProblem, IdempotencyConflict, JobValidationError, RegqError
from shared.jobs import AnyJob, Job, JobKind, JobOutcome, JobStatus, parse_job
from shared.names import parse_domain
from shared.store.api_tokens import ApiToken
from shared.store.inventory import DomainRecord
from tasks.publish import submit, submit_many
from tasks.runtime import Runtime
from workers.api.hooks import hooks_router, read_capped
from workers.api.queries import job_page
from workers.jsonlines import split_lines

MAX_BATCH_LINES = defaults.API_MAX_BATCH_LINES
_JOB_REF = {"$ref": "#/components/schemas/Job"}


def _loc(field: str) -> list[str]:
    """``owner.email`` -> ["body", "owner", "email"]; a glue host stays one part (it has dots)."""
    head, _, rest = field.partition(".")
    if not rest:
        return ["body", head]
    if head == "glue":
        return ["body", head, rest]
    return ["body", *field.split(".")]


def _problems(problems: list[FieldProblem]) -> list[dict[str, Any]]:
    return [{"loc": _loc(p.field), "msg": p.reason} for p in problems]


def _invalid(entries: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": entries}, status_code=422)


def _too_large(cap: int) -> HTTPException:
    return HTTPException(413, f"request body larger than {cap} bytes")


async def _read_capped(request: Request, cap: int) -> bytes:
    """The body, refused (413) as soon as it passes ``cap`` bytes, whatever Content-Length says."""
    body = await read_capped(request, cap)
    if body is None:
        raise _too_large(cap)
    return body


def _location(key: str) -> str:
    return f"/v1/jobs/{quote(key, safe=':')}"


def _outcome_json(outcome: JobOutcome) -> dict[str, Any]:
    return outcome.model_dump(mode="json")


def create_app(runtime: Callable[[], Runtime]) -> FastAPI:
    """The API on ``runtime()`` (``tasks.runtime.get`` in ``regq api``)."""
    app = FastAPI(title="regq", version="1", docs_url=None, redoc_url=None)
    app.include_router(hooks_router(runtime))  # POST /v1/hooks/{registrar}: signed, no API token

    def authenticate(request: Request) -> ApiToken:
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        token = None
        if scheme.lower() == "bearer" and secret.strip():
            token = runtime().store.api_tokens.verify(secret.strip())
        if token is None:
            raise HTTPException(401, "missing or invalid API token", headers={"WWW-Authenticate": "Bearer"})
        return token

    def require(scope: str) -> Callable[[Request], ApiToken]:
        def check(request: Request) -> ApiToken:
            token = authenticate(request)
            if scope not in token.scopes:
                raise HTTPException(403, f"this token lacks the {scope!r} scope")
            rt = runtime()
            decision = rt.limiter.acquire(f"api:{token.name}", rt.settings.api_rate, rt.settings.api_burst)
            if not decision.allowed:
                retry_after = max(1, math.ceil(decision.wait_ms / 1000))
                raise HTTPException(
                    429, f"rate limited: retry in {retry_after} s", headers={"Retry-After": str(retry_after)}
                )
            return token

        return check

    can_submit = Depends(require("submit"))
    can_read = Depends(require("read"))

    @app.post(
        "/v1/jobs",
        status_code=201,
        response_model=JobOutcome,
        responses={200: {"description": "the same key and body: the existing job"}, 409: {}, 413: {}},
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": _JOB_REF}}}
        },
    )
    async def create_job(
        request: Request,
        _token: ApiToken = can_submit,
        idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    ) -> JSONResponse:
        """Submit one job; ``Idempotency-Key`` is its key when the body has none. 201 new, 200 the same
        job again (same key, same body), 409 the key with another body, 422 one entry per bad field."""
        rt = runtime()
        body = await _read_capped(request, rt.settings.api_max_body_bytes)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return _invalid([{"loc": ["body"], "msg": "not valid JSON"}])
        if not isinstance(data, dict):
            return _invalid([{"loc": ["body"], "msg": "must be a JSON object"}])
        if idempotency_key is not None:
            given = data.get("idempotency_key")
            if given is None:
                data["idempotency_key"] = idempotency_key
            elif given != idempotency_key:
                msg = "differs from the body's idempotency_key: give one of them"
                return _invalid([{"loc": ["header", "Idempotency-Key"], "msg": msg}])
        try:
            job = parse_job(data).submitted_as(_token.name, _token.callback_url)
            outcome = await run_in_threadpool(lambda: submit(job, store=rt.store, app=rt.producer))
        except JobValidationError as exc:
            return _invalid(_problems(exc.problems))
        except IdempotencyConflict as exc:
            return JSONResponse({"detail": {"key": exc.key, "msg": str(exc)}}, status_code=409)
        return JSONResponse(
            _outcome_json(outcome),
            status_code=200 if outcome.duplicate else 201,
            headers={"Location": _location(outcome.key)},
        )

    @app.post(
        "/v1/jobs:batch",
        responses={413: {}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": _JOB_REF}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def create_jobs(request: Request, _token: ApiToken = can_submit) -> JSONResponse:
        """Submit up to 10,000 jobs (a JSON array or NDJSON, one job a line): one result per line, in
        order; bad lines are reported (``loc``, ``msg``) and the good ones kept."""
        rt = runtime()
        body = await _read_capped(request, rt.settings.api_max_batch_bytes)
        lines = await run_in_threadpool(_batch_lines, body)
        if isinstance(lines, JSONResponse):
            return lines
        if len(lines) > MAX_BATCH_LINES:
            raise HTTPException(413, f"more than {MAX_BATCH_LINES} jobs in one batch")
        results = await run_in_threadpool(_submit_lines, rt, lines, _token)
        ordered = [results[n] for n, _item in lines]
        accepted = sum(1 for r in ordered if r["ok"])
        return JSONResponse({"accepted": accepted, "refused": len(ordered) - accepted, "results": ordered})

    @app.get("/v1/jobs/{key:path}", response_model=JobOutcome, responses={404: {}})
    def get_job(key: str, _token: ApiToken = can_read) -> dict[str, Any]:
        """A job's current outcome (status, attempts, result once final)."""
        record = runtime().store.jobs.get(key)
        if record is None:
            raise HTTPException(404, f"no job with key {key!r}")
        return _outcome_json(record.outcome())

    @app.get("/v1/jobs")
    def list_jobs(
        status: JobStatus | None = None,
        kind: JobKind | None = None,
        domain: str | None = None,
        cursor: str | None = Query(None, description="next_cursor of the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        _token: ApiToken = can_read,
    ) -> JSONResponse:
        """Jobs oldest first, keyset-paginated: pass ``next_cursor`` back as ``cursor`` until it is null."""
        problems = []
        after = 0
        if cursor is not None:
            if not cursor.isdigit():
                problems.append({"loc": ["query", "cursor"], "msg": "not a cursor this API gave"})
            else:
                after = int(cursor)
        if domain is not None:
            try:
                domain = parse_domain(domain).ascii
            except ValueError as exc:
                problems.append({"loc": ["query", "domain"], "msg": str(exc)})
        if problems:
            return _invalid(problems)
        page = job_page(
            runtime().store,
            status=status.value if status else None,
            kind=kind.value if kind else None,
            domain=domain,
            after_id=after,
            limit=limit,
        )
        return JSONResponse({"jobs": [_outcome_json(o) for o in page.jobs], "next_cursor": page.next_cursor})

    @app.get("/v1/domains/{domain}", responses={404: {}})
    def get_domain(domain: str, _token: ApiToken = can_read) -> JSONResponse:
        """A domain of the inventory: registrar, expiry, days left, auto-renew, status."""
        try:
            name = parse_domain(domain).ascii
        except ValueError as exc:
            return _invalid([{"loc": ["path", "domain"], "msg": str(exc)}])
        record: DomainRecord | None = runtime().store.inventory.get(name)
        if record is None:
            raise HTTPException(404, f"{name} is not in the inventory")
        return JSONResponse(record.to_dict())

    @app.get("/v1/lookup/{domain}", responses={503: {}})
    def lookup(domain: str, _token: ApiToken = can_read) -> JSONResponse:
        """One lookup (through the fleet's caches and limiter). Complete or partial: 200 (a partial
        answer says ``partial: true``, its ``reason``, and ``Retry-After``); nothing known yet because
        every step must wait: 503 with ``Retry-After``; bad name: 422."""
        try:
            parse_domain(domain)
            answer = runtime().lookups().lookup_domain(domain)
        except (ValueError, JobValidationError) as exc:
            return _invalid([{"loc": ["path", "domain"], "msg": str(exc)}])
        except RegqError as exc:
            if exc.disposition != "wait":
                raise HTTPException(502, f"lookup failed: {type(exc).__name__}") from None
            retry = max(1, math.ceil(float(getattr(exc, "retry_after", 0) or 0)))
            return JSONResponse(
                {"domain": domain, "partial": True, "reason": str(exc), "retry_after": retry},
                status_code=503,
                headers={"Retry-After": str(retry)},
            )
        data = answer.to_dict()
        headers = {}
        if data.get("partial") and data.get("retry_after"):
            headers["Retry-After"] = str(max(1, math.ceil(float(data["retry_after"]))))
        return JSONResponse(data, headers=headers)

    @app.get("/v1/health")
    def health() -> JSONResponse:
        """Which of store, Redis and broker answer; 200 when all do, else 503. No token needed."""
        rt = runtime()
        checks = {"store": _check(lambda: _ping_store(rt)), "redis": _check(lambda: _ping_redis(rt))}
        checks["broker"] = _check(lambda: _ping_broker(rt))
        ok = all(checks.values())
        return JSONResponse({"ok": ok, "checks": checks}, status_code=200 if ok else 503)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            job = TypeAdapter(Job).json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(job.pop("$defs", {}))
            components["Job"] = job
            if "ValidationError" in components:  # our 422 entries are {loc, msg}; FastAPI's add "type"
                components["ValidationError"]["required"] = ["loc", "msg"]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _submit_lines(
    rt: Runtime, lines: list[tuple[int, Any]], token: ApiToken | None = None
) -> dict[int, dict[str, Any]]:
    """Validate every line, submit the good ones in one ``submit_many``: a result per line number
    (in a worker thread: 10,000 validations would hold the event loop)."""
    results: dict[int, dict[str, Any]] = {}
    good: list[tuple[int, AnyJob]] = []
    for number, item in lines:
        if isinstance(item, str):
            results[number] = {"line": number, "ok": False, "errors": [{"loc": ["body"], "msg": item}]}
            continue
        try:
            job = parse_job(item)
            good.append((number, job.submitted_as(token.name, token.callback_url) if token else job))
        except JobValidationError as exc:
            results[number] = {"line": number, "ok": False, "errors": _problems(exc.problems)}
    answers = submit_many([j for _n, j in good], store=rt.store, app=rt.producer)
    for (number, _job), answer in zip(good, answers, strict=True):
        if answer.outcome is not None:
            results[number] = {"line": number, "ok": True, **_outcome_json(answer.outcome)}
        elif isinstance(answer.error, IdempotencyConflict):
            entry = {"loc": ["body", "idempotency_key"], "msg": str(answer.error)}
            results[number] = {"line": number, "ok": False, "key": answer.key, "errors": [entry]}
        else:
            problems = answer.error.problems if answer.error else []
            results[number] = {"line": number, "ok": False, "errors": _problems(problems)}
    return results


def _batch_lines(body: bytes) -> list[tuple[int, Any]] | JSONResponse:
    """(line number, parsed JSON or the reason it is not) per job: a JSON array, else NDJSON."""
    text = body.decode("utf-8", errors="replace")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError):
            return _invalid([{"loc": ["body"], "msg": "not a valid JSON array"}])
        return [
            (n, item if isinstance(item, dict) else "must be a JSON object")
            for n, item in enumerate(items, 1)
        ]
    raw_lines = split_lines(text)
    if sum(1 for line in raw_lines if line.strip()) > MAX_BATCH_LINES:
        raise HTTPException(413, f"more than {MAX_BATCH_LINES} jobs in one batch")
    lines: list[tuple[int, Any]] = []
    for number, line in enumerate(raw_lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            lines.append((number, "not valid JSON"))
            continue
        lines.append((number, item if isinstance(item, dict) else "must be a JSON object"))
    return lines


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
