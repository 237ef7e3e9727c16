"""Who is calling: the API token dependency, its scopes, its rate limit, and the throttle on failures.

- ``Authorization: Bearer <token>``; missing: 401. A token anywhere in the URL is refused before any of
  this (:class:`QueryTokenGuard`, 400): URLs end up in access logs, proxies' logs and browser histories.
- A presented credential that is refused (not Bearer, unknown, revoked, expired) is a failed login: it is
  logged (the source address and why; never the value), counted in the fleet-wide bucket
  ``api-auth:<address>`` (``REGQ_API_AUTH_FAILURE_RATE``/``_BURST``; the exporter shows each bucket's
  ``regq_ratelimit_granted_tokens`` = failures and ``regq_ratelimit_denied``), and past the burst the
  address is blocked: 429 with ``Retry-After`` to every request from it, good token or bad (not counted
  or logged again). Since issue 21 the token is looked up before that 429: the block and the token's
  bucket are then ONE limiter call (:func:`admit`); the answer is the same whatever the token.
- A token without the endpoint's scope: 403. Each authenticated request takes one token from the bucket
  ``api:<token name>`` (429 with ``Retry-After``).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http.redact import get_logger
from shared.store.api_tokens import TOKEN_PREFIX, ApiToken
from tasks.runtime import Runtime
from workers.api.problems import TOKEN_IN_URL, problem

log = get_logger("regq.api.auth")

_ADDRESS = re.compile(r"^[0-9A-Fa-f.:]{1,45}$")
#: Query parameter names that carry credentials by convention (OAuth's access_token, API keys ...).
_CREDENTIAL_PARAM = re.compile(
    r"(?i)^(access[_-]?token|token|api[_-]?key|apikey|auth|authorization|bearer|secret|password|key[_-]?secret)$"
)
#: ``regq_`` and a few characters of a secret, as typed or percent-encoded.
_TOKEN_SHAPED = re.compile(r"(?i)regq(?:_|%5f)[A-Za-z0-9_%-]{4,}")
_BLOCKED = "too many failed authentications from this address"
QUERY_TOKEN_MESSAGE = (
    "an API token in the URL is refused: URLs are logged; send it as 'Authorization: Bearer <token>'"
)


def runtime_of(request: Request) -> Runtime:
    """The process's runtime (``create_app(runtime)`` keeps the getter on ``app.state``), looked up once
    per request (the getter re-reads the environment: the token check and the handler share it)."""
    found: Runtime | None = getattr(request.state, "regq_runtime", None)
    if found is None or found.closed:
        getter: Callable[[], Runtime] = request.app.state.runtime
        found = request.state.regq_runtime = getter()
    return found


def client_address(request: Request) -> str:
    """The caller's address (the proxy's X-Forwarded-For when ``--forwarded-allow-ips`` trusts it), as a
    limiter key part: an IP literal, else ``unknown``."""
    host = request.client.host if request.client else ""
    return host if _ADDRESS.fullmatch(host or "") else "unknown"


def retry_seconds(wait_ms: float) -> int:
    return max(1, math.ceil(wait_ms / 1000))


def _too_many(seconds: int, what: str) -> HTTPException:
    return HTTPException(429, f"{what}: retry in {seconds} s", headers={"Retry-After": str(seconds)})


def _unauthorized() -> HTTPException:
    return HTTPException(401, "missing or invalid API token", headers={"WWW-Authenticate": "Bearer"})


def _blocked(rt: Runtime, address: str) -> HTTPException | None:
    """The 429 of an address whose failed-authentication block is active (by the limiter's own clock)."""
    status = rt.limiter.status(f"api-auth:{address}")
    if status.blocked_until is None:
        return None
    return _too_many(retry_seconds((status.blocked_until - time.time()) * 1000), _BLOCKED)


def _failed(rt: Runtime, address: str, reason: str) -> HTTPException:
    """One failed authentication from ``address``: the 429 of an address already blocked (not counted,
    not logged, as before the token was looked up), else it is logged and counted: the 401 to answer,
    or a 429 past the burst."""
    blocked = _blocked(rt, address)
    if blocked is not None:
        return blocked
    key = f"api-auth:{address}"
    settings = rt.settings
    decision = rt.limiter.acquire(key, settings.api_auth_failure_rate, settings.api_auth_failure_burst)
    log.warning("API authentication failed from %s: %s", address, reason)
    if decision.allowed:
        return _unauthorized()
    seconds = retry_seconds(decision.wait_ms)
    rt.limiter.block(key, seconds, "authentication failures")
    return _too_many(seconds, _BLOCKED)


def admit(request: Request, rt: Runtime, scope: str) -> ApiToken:
    """The caller's token, which has ``scope`` and a token left in its bucket; else the HTTPException to
    answer: 401, 429 (the address blocked, or the token's bucket empty), 403. Blocking (a Postgres read,
    one Redis call): run it in a worker thread, as :func:`require` and ``POST /v1/jobs`` do.

    The common case is one round trip to each store: the token looked up by its hash, then ONE limiter
    call that refuses while the address's failed-authentication block is active and otherwise takes a
    token from the token's bucket (:meth:`shared.ratelimit.Limiter.acquire_unless_blocked`). So a
    blocked address's token is looked up before its 429 (the answer is the same 429 whatever the token:
    nothing is learnt); a refused credential, a token without the scope, checks the block first."""
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthorized()  # nothing presented: nothing guessed, not counted
    address = client_address(request)
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise _failed(rt, address, "not a Bearer token")
    token = rt.store.api_tokens.verify(secret) if secret.startswith(TOKEN_PREFIX) else None
    if token is None:
        raise _failed(rt, address, "unknown, revoked or expired token")
    if scope not in token.scopes:
        raise _blocked(rt, address) or HTTPException(403, f"this token lacks the {scope!r} scope")
    settings = rt.settings
    guard = f"api-auth:{address}"
    decision = rt.limiter.acquire_unless_blocked(
        f"api:{token.name}", settings.api_rate, settings.api_burst, guard
    )
    if decision.guarded:
        raise _too_many(retry_seconds(decision.wait_ms), _BLOCKED)
    if not decision.allowed:
        raise _too_many(retry_seconds(decision.wait_ms), "rate limited")
    return token


def require(scope: str) -> Callable[[Request], ApiToken]:
    """A dependency: the caller's token, which has ``scope`` and a token left in its bucket (:func:`admit`,
    in FastAPI's threadpool)."""

    def check(request: Request) -> ApiToken:
        return admit(request, runtime_of(request), scope)

    return check


def token_in_query(query_string: bytes) -> bool:
    """Whether a query string carries a credential: a parameter named like one, or a ``regq_`` value."""
    text = query_string.decode("latin-1")
    if _TOKEN_SHAPED.search(text):
        return True
    return any(_CREDENTIAL_PARAM.match(name) for name, _ in parse_qsl(text, keep_blank_values=True))


class QueryTokenGuard:
    """ASGI middleware: a request with a credential in its query string is answered 400 (naming the
    Authorization header) before routing, authentication or any handler; the value is never echoed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and token_in_query(scope.get("query_string", b"")):
            answer = problem(400, QUERY_TOKEN_MESSAGE, type=TOKEN_IN_URL)
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)
