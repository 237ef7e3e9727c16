"""Looking for secrets and personal data in everything a stack produced.

:class:`RedisMonitor` records every command any process sends to a Redis (``MONITOR``), so the raw broker
messages are seen as they were pushed, before a worker consumes them, whoever published them (a producer,
the API, a worker's retry, beat's sweep). :func:`readable` turns such a capture into text a grep can use
(kombu's Redis transport base64-encodes message bodies). :func:`leaks` names every secret found where.
"""

from __future__ import annotations

import base64
import binascii
import re
import socket
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import urlparse

import sqlalchemy as sa

_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")


class RedisMonitor:
    """``with RedisMonitor(url, only=prefix) as monitor:`` ... ``monitor.text()``: the commands seen.

    A raw RESP socket (no client library state to confuse with a timeout), read in a thread until the
    block ends. ``only``: keep just the lines naming it (a shared Redis carries other users' traffic)."""

    def __init__(self, url: str, only: str | None = None) -> None:
        parsed = urlparse(url)
        self.address = (parsed.hostname or "127.0.0.1", parsed.port or 6379)
        self.password = parsed.password
        self.only = only
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RedisMonitor:
        sock = socket.create_connection(self.address, timeout=5)
        if self.password:
            sock.sendall(_resp("AUTH", self.password))
            if not sock.recv(64).startswith(b"+OK"):
                raise ConnectionError("Redis refused the monitor's AUTH")
        sock.sendall(_resp("MONITOR"))
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._read, name="redis-monitor", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise TimeoutError("Redis did not answer MONITOR")
        return self

    def _read(self) -> None:
        assert self._sock is not None
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = self._sock.recv(1 << 16)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            *complete, buffer = buffer.split(b"\r\n")
            for raw in complete:
                line = raw.decode("utf-8", "replace")
                if line == "+OK":
                    self._ready.set()
                elif self.only is None or self.only in line:
                    self.lines.append(line)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            self._sock.close()

    def text(self) -> str:
        return readable("\n".join(self.lines))


def _resp(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def readable(text: str) -> str:
    """``text`` followed by the decoding of every base64 run in it (message bodies), one a line."""
    decoded = []
    for match in _BASE64.finditer(text):
        chunk = match.group(0)
        try:
            decoded.append(base64.b64decode(chunk + "=" * (-len(chunk) % 4)).decode("utf-8", "replace"))
        except (binascii.Error, ValueError):
            continue
    return "\n".join([text, *decoded])


def log_texts(directory: Path) -> dict[str, str]:
    """Every ``*.log`` under ``directory``, by file name."""
    return {p.name: p.read_text(errors="replace") for p in sorted(directory.rglob("*.log"))}


def table_texts(engine: sa.Engine, skip_columns: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Every row of every table of the store as text, by table, less ``skip_columns`` (table -> columns
    that hold what the job needs to run, e.g. the job's own parameters, never a place for a leak check)."""
    texts: dict[str, str] = {}
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        for name, table in metadata.tables.items():
            skipped = set(skip_columns.get(name, ()))
            columns = [c for c in table.columns if c.name not in skipped]
            rows = conn.execute(sa.select(*columns)).all()
            texts[f"table {name}"] = "\n".join(str(tuple(row)) for row in rows)
    return texts


def leaks(produced: Mapping[str, str], secrets: Mapping[str, Iterable[str]]) -> list[str]:
    """``"<what> in <where>"`` for every secret value found in every produced text (empty: no leak)."""
    found = []
    for what, values in secrets.items():
        wanted = {v for v in values if v}
        for where, text in produced.items():
            hits = sorted(v for v in wanted if v in text)
            if hits:
                found.append(f"{what} in {where} ({len(hits)} values, e.g. {hits[0][:6]}...)")
    return found
