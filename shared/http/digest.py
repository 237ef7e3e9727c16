"""HTTP Digest auth whose challenge-answering resend is metered like any other request.

requests' ``HTTPDigestAuth`` answers a 401 challenge by sending the request again from a response hook:
a second request on the wire that no limiter would see. The upstream counts it, so the fleet-wide bucket
must too: ``before_resend`` (the CallGuard's token) is called before that resend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from requests import Response
from requests.auth import HTTPDigestAuth


class MeteredDigestAuth(HTTPDigestAuth):
    def __init__(self, username: str, password: str, before_resend: Callable[[], None]) -> None:
        super().__init__(username, password)
        self._before_resend = before_resend

    def handle_401(self, r: Response, **kwargs: Any) -> Response:
        challenged = 400 <= r.status_code < 500 and "digest" in r.headers.get("www-authenticate", "").lower()
        if challenged and self._thread_local.num_401_calls < 2:
            self._before_resend()  # may raise Throttled: the resend is then not made
        return super().handle_401(r, **kwargs)
