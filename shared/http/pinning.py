"""A ``requests`` adapter whose connections connect only to addresses the outbound policy vetted.

urllib3 normally resolves the host name itself when it opens a connection, after our pre-flight check:
a DNS answer that changes in between (DNS rebinding) would reach an internal address. Here the
connection's ``_new_conn`` resolves once, vets every address with
:func:`shared.http.policy.vetted_addresses` and connects to those IPs only. ``self.host`` is left alone,
so the ``Host`` header, TLS SNI and certificate hostname verification still use the configured name.

Its pools also hand each connection they give out to the active read deadline
(:mod:`shared.http.deadline`), which shuts the socket down when the whole answer is late.

``_new_conn`` is urllib3's (stable across 1.26 and 2.x) hook for opening the socket; the errors raised
mirror urllib3's own so ``requests`` reports them as usual (``ConnectTimeout``, ``ConnectionError``).
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from shared.http import deadline
from shared.http.policy import OutboundPolicy, vetted_addresses


class _PinnedMixin:
    outbound_policy: OutboundPolicy
    # Provided by urllib3's HTTPConnection:
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            addresses = vetted_addresses(self.host, self.port, self.outbound_policy)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        error: Exception | None = None
        for address in addresses:
            try:
                sock = connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                error = ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                )
                error.__cause__ = exc
            except OSError as exc:
                error = NewConnectionError(self, f"Failed to establish a new connection: {exc}")  # type: ignore[arg-type]
                error.__cause__ = exc
            else:
                sys.audit("http.client.connect", self, self.host, self.port)
                return sock
        assert error is not None  # vetted_addresses never returns an empty list
        raise error


class _PinnedHTTPConnection(_PinnedMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedMixin, HTTPSConnection):
    pass


class _WatchedPoolMixin:
    """Hands every connection it gives out to the thread's active read deadline (:mod:`.deadline`)."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        active = deadline.ACTIVE.get()
        if active is not None:
            active.attach(conn)
        return conn


class PinnedAdapter(HTTPAdapter):
    """An HTTPAdapter bound to one :class:`OutboundPolicy`; no retries, no proxies."""

    def __init__(self, policy: OutboundPolicy, **kwargs: Any) -> None:
        self.outbound_policy = policy
        http_conn = type("PinnedHTTPConnection", (_PinnedHTTPConnection,), {"outbound_policy": policy})
        https_conn = type("PinnedHTTPSConnection", (_PinnedHTTPSConnection,), {"outbound_policy": policy})
        self._pool_classes = {
            "http": type(
                "PinnedHTTPConnectionPool",
                (_WatchedPoolMixin, HTTPConnectionPool),
                {"ConnectionCls": http_conn},
            ),
            "https": type(
                "PinnedHTTPSConnectionPool",
                (_WatchedPoolMixin, HTTPSConnectionPool),
                {"ConnectionCls": https_conn},
            ),
        }
        super().__init__(max_retries=0, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._pool_classes)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise NotImplementedError("outbound proxies are not supported: they would bypass address pinning")


def pinned_session(policy: OutboundPolicy, user_agent: str) -> requests.Session:
    """A ``requests.Session`` whose http(s) requests go through one :class:`PinnedAdapter` for
    ``policy``, ignoring the environment (``trust_env=False``: no proxies, no ``.netrc`` credentials),
    sending ``user_agent``."""
    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = user_agent
    adapter = PinnedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
