"""``GET /v1/jobs/{key}`` and ``GET /v1/jobs``: the caller's owner's jobs only (``admin``: every job).

Another owner's job answers exactly like a missing one (404), so a key's existence is never revealed.
Every parameter is checked (:mod:`workers.api.params`) before it reaches SQL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from shared.jobs import MAX_KEY_LENGTH, JobKind, JobOutcome, JobStatus
from shared.names import MAX_NAME_LENGTH
from shared.store.api_tokens import ApiToken
from workers.api import params
from workers.api.answers import invalid, outcome_json
from workers.api.auth import require, runtime_of
from workers.api.openapi import AUTHENTICATED, TOKEN_ERRORS, errors
from workers.api.queries import job_page, visible_job
from workers.api.schemas import JobPage

router = APIRouter()
can_read = Depends(require("read"))
#: A domain as typed (Unicode or A-label): parse_domain's own bound on the text it is given.
MAX_DOMAIN_TEXT = 4 * MAX_NAME_LENGTH


@router.get(
    "/v1/jobs/{key:path}",
    operation_id="get_job",
    summary="Read a job",
    response_model=JobOutcome,
    responses=errors(*TOKEN_ERRORS, 404, said={404: "no job with this key (another producer's: the same)"}),
    openapi_extra=AUTHENTICATED,
)
def get_job(
    request: Request,
    key: str = Path(
        description="the job's key (its idempotency key)",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=params.KEY_PATTERN,
    ),
    token: ApiToken = can_read,
) -> dict[str, Any]:
    """A job's current outcome (status, attempts, result once final); 404 for an unknown key and for
    another producer's job alike."""
    key = params.job_key(key)
    record = visible_job(runtime_of(request).store, key, token)
    if record is None:
        raise HTTPException(404, f"no job with key {key!r}")
    return outcome_json(record.outcome())


@router.get(
    "/v1/jobs",
    operation_id="list_jobs",
    summary="List jobs, a page at a time",
    response_model=JobPage,
    responses=errors(*TOKEN_ERRORS),
    openapi_extra=AUTHENTICATED,
)
def list_jobs(
    request: Request,
    status: JobStatus | None = None,
    kind: JobKind | None = None,
    domain: str | None = Query(None, max_length=MAX_DOMAIN_TEXT),
    cursor: str | None = Query(
        None,
        description=f"next_cursor of the previous page (ASCII digits, at most {params.MAX_CURSOR})",
        pattern=params.CURSOR_PATTERN,
        max_length=10,
    ),
    limit: int = Query(100, ge=1, le=1000),
    token: ApiToken = can_read,
) -> JSONResponse:
    """The caller's jobs oldest first, keyset-paginated: pass ``next_cursor`` back as ``cursor`` until
    it is null."""
    problems = []
    after = 0
    try:
        after = params.cursor(cursor)
    except params.Invalid as exc:
        problems += exc.entries
    if domain is not None:
        try:
            domain = params.domain(domain, "query")
        except params.Invalid as exc:
            problems += exc.entries
    if problems:
        return invalid(problems)
    page = job_page(
        runtime_of(request).store,
        token,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        domain=domain,
        after_id=after,
        limit=limit,
    )
    return JSONResponse({"jobs": [outcome_json(o) for o in page.jobs], "next_cursor": page.next_cursor})
