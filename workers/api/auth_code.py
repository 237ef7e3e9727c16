"""``POST /v1/domains/{domain}/auth-code``: the transfer code of a domain the caller may see, read from
its registrar now (scope ``submit``; ``{"reset": true}`` asks the registrar for a new one first).

Not a job: the code is in this answer only (``Cache-Control: no-store``), never in a log, the jobs table, an
audit row or a webhook (:mod:`shared.execution.auth_code`). A domain the token may not see is 404, as one
not held (``GET /v1/domains/{domain}``'s rule). A registrar without auth codes: 409 naming it. The
registrar's breaker open or our limiter saying wait: 503 with ``Retry-After``.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StrictBool

from shared.errors import NotFound, RegqError, Unsupported
from shared.execution.auth_code import read_auth_code
from shared.store.api_tokens import ApiToken
from shared.timestamps import day_or_instant
from workers.api import params
from workers.api.auth import require, runtime_of
from workers.api.jobs import MAX_DOMAIN_TEXT
from workers.api.openapi import AUTHENTICATED, TOKEN_ERRORS, errors
from workers.api.queries import visible_domain
from workers.api.schemas import AuthCodeAnswer

router = APIRouter()

#: Nothing on the way (a proxy, the browser) keeps the answer.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class AuthCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reset: StrictBool = False


def _fail(status: int, detail: str, retry_after: float | None = None) -> HTTPException:
    headers = dict(NO_STORE)
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return HTTPException(status, detail, headers=headers)


@router.post(
    "/v1/domains/{domain}/auth-code",
    operation_id="read_auth_code",
    summary="Read a domain's transfer code from its registrar",
    response_model=AuthCodeAnswer,
    responses=errors(
        *TOKEN_ERRORS,
        404,
        409,
        415,
        502,
        said={
            404: "not in the inventory (or not this producer's), or not in our account at its registrar",
            409: "the domain's registrar has no auth codes",
            503: "the registrar's breaker is open or our limiter says wait: retry after Retry-After",
        },
    ),
    openapi_extra=AUTHENTICATED,
)
def auth_code(
    request: Request,
    domain: str = Path(max_length=MAX_DOMAIN_TEXT),
    body: AuthCodeRequest | None = Body(None),
    token: ApiToken = Depends(require("submit")),
) -> JSONResponse:
    """The domain's transfer code, once, in this answer: ``{"domain", "auth_code", "expires_at"}``."""
    name = params.domain(domain, "path")
    runtime = runtime_of(request)
    record = visible_domain(runtime.store, name, token)
    if record is None:
        raise _fail(404, f"{name} is not in the inventory")
    reset = body.reset if body is not None else False
    try:
        read = read_auth_code(runtime, name, reset, registrar=record.registrar)
    except Unsupported as exc:
        raise _fail(409, str(exc)) from None
    except NotFound:
        raise _fail(404, f"{name} is not in our account at its registrar") from None
    except RegqError as exc:
        if exc.disposition == "wait":
            raise _fail(503, f"{exc}: retry later", getattr(exc, "retry_after", None) or 1.0) from None
        raise _fail(502, f"the registrar did not give the code: {type(exc).__name__}") from None
    answer = read.answer
    expires = day_or_instant(answer.expires_at)
    data = {"domain": answer.domain, "auth_code": answer.code.reveal(), "expires_at": expires}
    return JSONResponse(data, headers=NO_STORE)
