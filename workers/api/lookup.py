"""``GET /v1/lookup/{domain}``: one lookup of public registration data (RDAP/WHOIS/DNS) through the
fleet's caches and limiter. Not scoped to an owner: it reads what anyone may read, for any domain."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse

from shared.errors import JobValidationError, RegqError
from shared.store.api_tokens import ApiToken
from workers.api.answers import invalid
from workers.api.auth import require, runtime_of
from workers.api.jobs import MAX_DOMAIN_TEXT
from workers.api.params import Invalid
from workers.api.params import domain as checked_domain

router = APIRouter()


@router.get("/v1/lookup/{domain}", responses={503: {}})
def lookup(
    request: Request,
    domain: str = Path(max_length=MAX_DOMAIN_TEXT),
    _token: ApiToken = Depends(require("read")),
) -> JSONResponse:
    """One lookup (through the fleet's caches and limiter). Complete or partial: 200 (a partial
    answer says ``partial: true``, its ``reason``, and ``Retry-After``); nothing known yet because
    every step must wait: 503 with ``Retry-After``; bad name: 422."""
    try:
        checked_domain(domain, "path")
        answer = runtime_of(request).lookups().lookup_domain(domain)
    except Invalid as exc:
        return invalid(exc.entries)
    except (ValueError, JobValidationError) as exc:
        return invalid([{"loc": ["path", "domain"], "msg": str(exc)}])
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
