"""``GET /v1/domains/{domain}``: the inventory's record of a domain a job of the caller's owner names
(``admin``: any held domain); anything else is 404, as a domain not held."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse

from shared.store.api_tokens import ApiToken
from workers.api import params
from workers.api.auth import require, runtime_of
from workers.api.jobs import MAX_DOMAIN_TEXT
from workers.api.queries import visible_domain

router = APIRouter()


@router.get("/v1/domains/{domain}", responses={404: {}})
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
