"""HTTP Digest auth that keeps its challenge for the whole process and tells us when credentials leave.

requests' ``HTTPDigestAuth`` does the RFC 7616 arithmetic; three things are added around it:

* **One challenge per process.** requests keeps the nonce per thread and per auth object, and forgets it
  when the resend that answers a challenge never happens (our limiter said wait). Here the challenge
  (realm, nonce, opaque, qop) and the nonce count live in a :class:`DigestState` shared by every auth
  object of the same user and endpoint in this process, and it is saved as soon as a 401 brings it, before
  the resend asks for its token. So a process is challenged once, then again only when the server calls
  the nonce stale, whatever is throttled in between.
* **A metered resend.** Answering a challenge sends the request a second time from a response hook: a
  request the server counts, so it goes through the request's policy too (``before_resend``: the
  outbound client binds ``CallPolicy.before_send``, which may raise ``Throttled``; the resend is then
  not made).
* **The credentialed send.** A request that goes out without credentials (the first of a process) earns
  a 401 and changes nothing at the server. ``on_credentialed`` runs right before the request that carries
  an ``Authorization`` header leaves: the one that can have an effect (the outbound client binds
  ``CallPolicy.before_effect`` for an effect request). The job records its ``sending`` phase there, not
  before the challenge.

Both are bound by the outbound client for one exchange on the current thread (:meth:`MeteredDigestAuth.
exchange`): the auth object is shared by every delivery of the process, the hooks are the request's.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from requests import PreparedRequest, Response
from requests.auth import HTTPDigestAuth
from requests.utils import parse_dict_header

_DIGEST = re.compile(r"digest ", flags=re.IGNORECASE)


class DigestState:
    """The server's last challenge and our nonce count, shared by every thread of the process."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.chal: dict[str, str | None] = {}
        self.last_nonce = ""
        self.nonce_count = 0

    def remember(self, www_authenticate: str) -> None:
        """Keep a challenge (``WWW-Authenticate: Digest ...``) for every later request."""
        chal = parse_dict_header(_DIGEST.sub("", www_authenticate, count=1))
        with self.lock:
            self.chal = chal
            # build_digest_header counts from here: the next header carries nc=00000001 for this nonce.
            self.last_nonce = chal.get("nonce") or ""
            self.nonce_count = 0


_states: dict[tuple[str, str], DigestState] = {}
_states_lock = threading.Lock()


def state_for(username: str, url: str) -> DigestState:
    """The process-wide state for ``username`` at ``url``'s origin (scheme, host, port)."""
    parts = urlsplit(url)
    key = (username, f"{parts.scheme}://{parts.netloc}".lower())
    with _states_lock:
        if key not in _states:
            _states[key] = DigestState()
        return _states[key]


class _SharedLocal:
    """requests' per-thread fields, with the challenge fields routed to the process-wide state."""

    _SHARED = frozenset({"chal", "last_nonce", "nonce_count"})

    def __init__(self, state: DigestState) -> None:
        self.__dict__["_state"] = state
        self.__dict__["_local"] = threading.local()

    def __getattr__(self, name: str) -> Any:  # only called for names not in __dict__
        if name in _SharedLocal._SHARED:
            return getattr(self.__dict__["_state"], name)
        return getattr(self.__dict__["_local"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        target = self.__dict__["_state"] if name in _SharedLocal._SHARED else self.__dict__["_local"]
        setattr(target, name, value)


class MeteredDigestAuth(HTTPDigestAuth):
    def __init__(self, username: str, password: str, *, state: DigestState) -> None:
        super().__init__(username, password)
        self.state = state
        self._thread_local = _SharedLocal(state)  # type: ignore[assignment]  # same attributes, shared
        self._armed = threading.local()

    def init_per_thread_state(self) -> None:
        local = self._thread_local
        if not hasattr(local, "init"):
            local.init = True
            local.pos = None
            local.num_401_calls = None

    @contextmanager
    def exchange(
        self, before_resend: Callable[[], None], on_credentialed: Callable[[], None] | None
    ) -> Iterator[None]:
        """Within the block (one request on this thread): ``before_resend`` runs before the resend that
        answers a challenge (it may raise: the resend is then not made); ``on_credentialed`` runs once,
        right before the first request that carries credentials leaves (the first one, or that resend)."""
        self._armed.before_resend = before_resend
        self._armed.callback = on_credentialed
        try:
            yield
        finally:
            self._armed.before_resend = None
            self._armed.callback = None

    def _fire(self) -> None:
        callback = getattr(self._armed, "callback", None)
        if callback is not None:
            self._armed.callback = None
            callback()

    def build_digest_header(self, method: str, url: str) -> str | None:
        with self.state.lock:  # nonce_count is shared: one increment per header
            return super().build_digest_header(method, url)

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        prepared = super().__call__(r)
        if "Authorization" in prepared.headers:
            self._fire()
        return prepared

    def handle_401(self, r: Response, **kwargs: Any) -> Response:
        s_auth = r.headers.get("www-authenticate", "")
        challenged = 400 <= r.status_code < 500 and "digest" in s_auth.lower()
        if challenged and (self._thread_local.num_401_calls or 1) < 2:
            self.state.remember(s_auth)  # kept even if the resend below is throttled
            before_resend = getattr(self._armed, "before_resend", None)
            try:
                if before_resend is not None:
                    before_resend()  # may raise Throttled: the resend is then not made
            except BaseException:
                r.close()
                raise
            self._fire()
        return super().handle_401(r, **kwargs)
