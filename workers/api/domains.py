"""``GET /v1/domains/{domain}``: the inventory's record of a domain a job of the caller's owner names
(``admin``: any held domain); anything else is 404, as a domain not held."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse

from shared.store.api_tokens import ApiToken
from workers.api import params
from workers.api.auth import require, runtime_of
from workers.api.jobs import MAX_DOMAIN_TEXT
from workers.api.openapi import AUTHENTICATED, TOKEN_ERRORS, errors
from workers.api.queries import visible_domain
from workers.api.schemas import DomainAnswer

router = APIRouter()


@router.get(
    "/v1/domains/{domain}",
    operation_id="get_domain",
    summary="Read a held domain",
    response_model=DomainAnswer,
    responses=errors(
        *TOKEN_ERRORS, 404, said={404: "not in the inventory, or no job of this producer names it"}
    ),
    openapi_extra=AUTHENTICATED,
)
def get_domain(
    request: Request,
    domain: str = Path(max_length=MAX_DOMAIN_TEXT),
    token: ApiToken = Depends(require("read")),
) -> JSONResponse:
    """A domain of the inventory: registrar, expiry, days left, auto-renew, status."""
    name = params.domain(domain, "path")
    record = visible_domain(runtime_of(request).store, name, token)
    if record is None:
        raise HTTPException(404, f"{name} is not in the inventory")
    return JSONResponse(record.to_dict())
