"""``POST /v1/hooks/{registrar}``: signed registrar events (Gandi, ROTLD) into the inventory.

No API token: the registrar's HMAC signature (``<Registrar>-Signature``, see
:mod:`shared.webhooks.inbound.events`) is the authentication. Before anything is read or written, two
refusals that leave no trace: a source address past its fleet-wide bucket ``hook:<address>``
(``REGQ_HOOK_RATE``/``_BURST``: 429 + ``Retry-After``), and a registrar regq takes no webhooks from
(404; the name is never stored, so a NUL or a megabyte of path cannot reach the store). Then the body
is capped like ``POST /v1/jobs`` (``REGQ_API_MAX_BODY_BYTES``, 413) and the signature is checked over the
raw bytes before anything is parsed. What each outcome answers and does:
:mod:`shared.webhooks.inbound.receive`.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from shared.jobs import SyncJob
from shared.store.hook_receipts import UNKNOWN_REGISTRAR
from shared.webhooks.inbound.events import SIGNATURE_HEADERS
from shared.webhooks.inbound.receive import HookAnswer, receive, refuse_oversized
from tasks.publish import submit
from workers.api.auth import client_address, retry_seconds, runtime_of
from workers.api.openapi import ALWAYS_RETRY_AFTER, RETRY_AFTER, errors
from workers.api.problems import HOOK_REFUSED, RATE_LIMITED, problem
from workers.api.schemas import HookReceipt, HookRefused

#: What each refusal means here (a problem of type ``hook-refused`` keeping the receipt's members).
_REFUSALS = {
    400: "malformed event (or a token in the URL)",
    401: "bad signature or stale timestamp",
    404: "not a registrar regq takes webhooks from (nothing recorded)",
    413: "body past REGQ_API_MAX_BODY_BYTES",
    429: "too many requests from this address (nothing recorded); Retry-After",
    503: "this registrar's webhook secret is not configured (or store/Redis unavailable)",
}
_RESPONSES = errors(
    *_REFUSALS,
    said=_REFUSALS,
    models=dict.fromkeys(_REFUSALS, HookRefused),
    headers={429: ALWAYS_RETRY_AFTER, 503: RETRY_AFTER},
)


async def read_capped(request: Request, cap: int) -> bytes | None:
    """The body, or None as soon as it passes ``cap`` bytes (whatever Content-Length says); also what
    ``POST /v1/jobs`` and ``POST /v1/jobs:batch`` read their bodies with."""
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > cap:
        return None
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    outcome = UNKNOWN_REGISTRAR if status == 404 else "rate_limited"
    kind = RATE_LIMITED if status == 429 else HOOK_REFUSED
    return problem(
        status, detail, type=kind, headers=headers, outcome=outcome, action=None, event_id=None, receipt=None
    )


def _answer(answer: HookAnswer) -> JSONResponse:
    """200 as the receipt says; a refusal (4xx, 5xx) as a ``hook-refused`` problem keeping its members."""
    body = answer.body()
    if answer.status < 400:
        return JSONResponse(body, status_code=answer.status)
    detail = body.pop("detail")
    return problem(answer.status, detail, type=HOOK_REFUSED, **body)


router = APIRouter()


@router.post(
    "/v1/hooks/{registrar}",
    operation_id="registrar_hook",
    summary="One signed registrar event (no API token: the signature is the authentication)",
    response_model=HookReceipt,
    response_description="accepted, ignored (nothing to do) or replayed (no effect): see outcome",
    responses=_RESPONSES,
)
async def registrar_hook(
    request: Request,
    registrar: str = Path(
        description="gandi or rotld", json_schema_extra={"enum": sorted(SIGNATURE_HEADERS)}
    ),
) -> JSONResponse:
    """One signed registrar event: verified (HMAC-SHA256 over ``<t>.<raw body>``, constant time,
    fresh timestamp, event id not seen), then applied to the inventory or turned into a sync job.
    Every request past the rate limit to a known registrar leaves a ``hook_receipts`` row."""
    rt = runtime_of(request)
    decision = await run_in_threadpool(
        rt.limiter.acquire, f"hook:{client_address(request)}", rt.settings.hook_rate, rt.settings.hook_burst
    )
    if not decision.allowed:
        seconds = retry_seconds(decision.wait_ms)
        detail = f"too many webhook requests from this address: retry in {seconds} s"
        return _refused(429, detail, {"Retry-After": str(seconds)})
    if registrar not in SIGNATURE_HEADERS:
        return _refused(404, f"not a registrar regq takes webhooks from: {', '.join(SIGNATURE_HEADERS)}")
    cap = rt.settings.api_max_body_bytes
    body = await read_capped(request, cap)
    if body is None:
        answer: HookAnswer = await run_in_threadpool(refuse_oversized, rt.store, registrar, cap)
    else:

        def submit_sync(job: SyncJob) -> str:
            return submit(job, store=rt.store, app=rt.producer).key

        answer = await run_in_threadpool(
            lambda: receive(
                registrar,
                request.headers,
                body,
                settings=rt.settings,
                store=rt.store,
                memory=rt.locks,
                submit_sync=submit_sync,
            )
        )
    return _answer(answer)
