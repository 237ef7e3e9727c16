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
from workers.api.openapi import AUTHENTICATED, RETRY_AFTER, TOKEN_ERRORS, errors
from workers.api.params import Invalid
from workers.api.params import domain as checked_domain
from workers.api.problems import problem
from workers.api.schemas import LookupAnswer, LookupUnavailable

router = APIRouter()


@router.get(
    "/v1/lookup/{domain}",
    operation_id="lookup_domain",
    summary="Look up a domain's public registration data",
    response_model=LookupAnswer,
    responses={
        200: {
            "description": "complete, or partial (Retry-After: when the rest may be known)",
            "headers": RETRY_AFTER,
        },
        **errors(
            *TOKEN_ERRORS,
            502,
            said={503: "nothing known yet, every step must wait (or store/Redis unavailable): Retry-After"},
            models={503: LookupUnavailable},
        ),
    },
    openapi_extra=AUTHENTICATED,
)
def lookup(
    request: Request,
    domain: str = Path(max_length=MAX_DOMAIN_TEXT),
    _token: ApiToken = Depends(require("read")),
) -> JSONResponse:
    """One lookup (through the fleet's caches and limiter). Complete or partial: 200 (a partial
    answer says ``partial: true``, its ``reason``, and ``Retry-After``); nothing known yet because
    every step must wait: 503 with ``Retry-After`` (a problem that keeps ``domain``, ``partial``,
    ``reason``, ``retry_after``); bad name: 422."""
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
        return problem(
            503,
            f"nothing known yet: {exc}",
            headers={"Retry-After": str(retry)},
            domain=domain,
            partial=True,
            reason=str(exc),
            retry_after=retry,
        )
    data = answer.to_dict()
    headers = {}
    if data.get("partial") and data.get("retry_after"):
        headers["Retry-After"] = str(max(1, math.ceil(float(data["retry_after"]))))
    return JSONResponse(data, headers=headers)
