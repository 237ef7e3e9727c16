"""``POST /v1/hooks/{registrar}``: signed registrar events (Gandi, ROTLD) into the inventory.

No API token: the registrar's HMAC signature (``<Registrar>-Signature``, see
:mod:`shared.webhooks.registrar`) is the authentication. The body is capped like ``POST /v1/jobs``
(``REGQ_API_MAX_BODY_BYTES``, 413 before it is read further) and the signature is checked over the raw
bytes before anything is parsed. What each outcome answers and does: :mod:`shared.webhooks.registrar_events`.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from shared.jobs import SyncJob
from shared.webhooks.registrar_events import HookAnswer, receive, refuse_oversized
from tasks.publish import submit
from tasks.runtime import Runtime

_RESPONSES: dict[int | str, dict[str, str]] = {
    200: {"description": "accepted, ignored (nothing to do) or replayed (no effect): see outcome"},
    400: {"description": "malformed event"},
    401: {"description": "bad signature or stale timestamp"},
    404: {"description": "not a registrar regq takes webhooks from"},
    413: {"description": "body past REGQ_API_MAX_BODY_BYTES"},
    503: {"description": "this registrar's webhook secret is not configured"},
}


async def read_capped(request: Request, cap: int) -> bytes | None:
    """The body, or None as soon as it passes ``cap`` bytes (whatever Content-Length says); also what
    ``POST /v1/jobs`` and ``POST /v1/jobs/batch`` read their bodies with."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        return None
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def hooks_router(runtime: Callable[[], Runtime]) -> APIRouter:
    """The registrar webhook endpoint on ``runtime()`` (included by ``workers.api.app.create_app``)."""
    router = APIRouter()

    @router.post("/v1/hooks/{registrar}", responses=_RESPONSES)
    async def registrar_hook(registrar: str, request: Request) -> JSONResponse:
        """One signed registrar event: verified (HMAC-SHA256 over ``<t>.<raw body>``, constant time,
        fresh timestamp, event id not seen), then applied to the inventory or turned into a sync job.
        Every request leaves a ``hook_receipts`` row."""
        rt = runtime()
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
        return JSONResponse(answer.body(), status_code=answer.status)

    return router
