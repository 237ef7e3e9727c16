"""The one place where ``requests``/urllib3/socket exceptions become regq's typed errors.

Most specific first:

* our own errors (:class:`~shared.errors.RegqError`: a refused address at connect time, a size cap) pass;
* a certificate that fails verification -> OutboundRefused (never retried: it is not transient);
* connect timeout, refused connection, name resolution failure, other TLS handshake failures -> NotSentError;
* read timeout -> AmbiguousError (the request was sent; the effect may have happened);
* the peer closed the connection cleanly (FIN) without an answer -> AmbiguousError;
* the peer RESET the connection before any byte of an answer -> NotSentError. This is a deliberate
  heuristic: a server that has read a request and then dies closes with FIN; a reset before any answer
  byte means the request was not taken (an overloaded listener, a proxy refusing it, a dead keep-alive).
  It is not a proof: the task layer still reconciles before re-sending a register or renew in a *later*
  attempt, and the gateways re-check state (info) after every write.
* anything else while waiting for the answer -> AmbiguousError;
* any transport failure after the status line arrived (``answered=True``) -> ProtocolError (cut off).

Messages carry the provider and the exception class only: never the URL's query, headers or body.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import requests
import urllib3.exceptions as u3

from shared.errors import AmbiguousError, NotSentError, OutboundRefused, ProtocolError, RegqError

_NOT_SENT_CAUSES = (
    u3.NewConnectionError,
    u3.NameResolutionError,
    u3.ConnectTimeoutError,
    ConnectionRefusedError,
)
_RESET = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps (``__cause__``, ``__context__``, ``.reason``, exception args)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(x for x in linked if isinstance(x, BaseException))


def _connection_error(provider: str, exc: BaseException) -> RegqError:
    chain = list(_causes(exc))
    name = type(exc).__name__
    if any(isinstance(c, _NOT_SENT_CAUSES) for c in chain):
        return NotSentError(f"could not connect ({name})", provider=provider)
    if any(isinstance(c, http.client.RemoteDisconnected) for c in chain):
        return AmbiguousError("connection closed without an answer", provider=provider)
    if any(isinstance(c, _RESET) for c in chain):
        return NotSentError("connection reset before any answer", provider=provider)
    return AmbiguousError(f"connection failed while waiting for the answer ({name})", provider=provider)


@contextmanager
def translate_errors(provider: str, *, answered: bool = False) -> Iterator[None]:
    """Map transport exceptions to regq errors; ``answered``: the status line has already arrived."""
    try:
        yield
    except RegqError:
        raise
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
        raise OutboundRefused(f"{provider}: malformed URL ({type(exc).__name__})") from None
    except requests.exceptions.InvalidSchema as exc:
        raise OutboundRefused(f"{provider}: unsupported URL scheme ({type(exc).__name__})") from None
    except (requests.exceptions.RequestException, u3.HTTPError, http.client.HTTPException, OSError) as exc:
        if answered:
            raise ProtocolError(f"answer cut off ({type(exc).__name__})", provider=provider) from None
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            raise NotSentError("connect timeout", provider=provider) from None
        if isinstance(exc, requests.exceptions.ReadTimeout):
            raise AmbiguousError("no answer within the read timeout", provider=provider) from None
        if any(isinstance(c, ssl.SSLCertVerificationError) for c in _causes(exc)):
            raise OutboundRefused(f"{provider}: TLS certificate verification failed") from None
        if isinstance(exc, requests.exceptions.SSLError):
            raise NotSentError(f"TLS handshake failed ({type(exc).__name__})", provider=provider) from None
        raise _connection_error(provider, exc) from None
