"""Fault model: rules set through ``POST /_sandbox/faults`` and the per-request decision.

Config: ``{"seed": 42, "rules": [rule, ...]}`` (a bare list of rules is accepted too). A rule::

    {"operation": "create" | "renew" | "check" | "info" | "*" | <rotld command>,
     "kind": K, "probability": 0..1 (default 1), "count": max times it fires (default unlimited),
     ...params of K}

Kinds and their params, each with the SOURCE of the behaviour it plays (Gandi's API docs are
https://api.gandi.net/docs/, ROTLD's https://rest2-test.rotld.ro:6080/); "assumption, not documented" marks
what no public source shows:

* ``rate_limit`` ``{"rate": per-second, "burst": int (1), "retry_after_form": "seconds"|"date",
  "status": 429}``: a token bucket per rule (starts full); a request over the limit gets 429 +
  ``Retry-After`` (whole seconds rounded up, or an HTTP-date). Source: Gandi's API docs (1000
  requests/min per IP), RFC 9110 10.2.3 (``Retry-After`` in both forms), RFC 7480 5.5 (RDAP: 429; some
  servers send 403 or 422 for the same thing), RFC 6585 4 (429). Assumption, not documented: the bucket
  shape (no upstream says how it counts).
* ``status`` ``{"status": 500, "retry_after": seconds?, "retry_after_form": "seconds"|"date"}``.
  Source: ROTLD's API docs (any non-200 but 401 is "service unavailable"), RFC 9110 15.6 (5xx) and
  10.2.3 (``Retry-After`` on a 503).
* ``latency`` ``{"ms": 200, "jitter_ms": 0}``: sleeps, then the next rules still apply. Assumption, not
  documented: no upstream publishes its latency.
* ``timeout`` ``{"seconds": 30}``: sleeps that long without applying anything, then answers 504
  (a reset or the shutdown cuts any fault sleep short and closes the connection without an answer).
  Source: RFC 9110 15.6.5 (504 from a gateway in front of a silent server). Assumption, not documented:
  that the registrars' fronts answer 504 (rather than just closing) after that long.
* ``non_json`` ``{"status": 200, "apply": false}``: an HTML body (after applying the effect if ``apply``).
  Source: Gandi's API docs ("some 403 bodies are not JSON at all"). Assumption, not documented: the
  same on other statuses, as a proxy or maintenance page in front would send.
* ``truncated`` ``{"apply": true}``: the real JSON answer cut in the middle (Content-Length matches).
  Assumption, not documented: a broken proxy or an upstream bug; on the wire the answer is complete
  (RFC 9112 6.3), only parsing the JSON can tell.
* ``forbidden_html``: a 403 with an HTML body. Source: Gandi's API docs (non-JSON 403 bodies).
* ``commit_drop``: the effect is applied, then the connection is shut down with no response.
  Source: RFC 9112 9.3.1 and RFC 9110 9.2.2 (a connection can close at any time; a client cannot know
  whether a non-idempotent request it sent took effect). Assumption, not documented: that Gandi or ROTLD
  do it at that point.
* ``reset_before``: the connection is reset (RST) before anything is applied. Source: RFC 9112 9.3.1
  (a connection can close at any time). Assumption, not documented: which upstream does it.
* ``trickle`` ``{"bytes": 16, "interval": 0.2, "apply": true}``: the real answer (status line and
  headers at once, its true Content-Length), then its body ``bytes`` at a time every ``interval`` s: a
  slow-loris peer that never trips a per-read timeout (only a deadline over the whole answer stops it).
  Source: RFC 9083 4.2 (RDAP ``related`` links name registrar servers nobody vets beforehand: any peer).
  Assumption, not documented: that a real upstream trickles (no HTTP RFC bounds how slowly a server
  may send).
* ``huge`` ``{"bytes": 52428800, "declare_length": false, "status": 200}``: a JSON object of that many
  bytes (50 MB by default; for the RDAP stand-in an RFC 9083 domain object with a long remark),
  streamed 64 KiB at a time and never built in memory; without ``declare_length`` there is no
  Content-Length (``Connection: close``, the body ends at the close, RFC 9112 6.3 rule 8), so only a cap
  on what is read stops it. ``bytes_streamed`` in ``GET /_sandbox/faults`` says how much really left.
  Source: RFC 9112 6.3 (a close-delimited body); assumption, not documented: the size (no upstream or
  RFC 9083/7480 bounds an answer's size).

``Retry-After`` forms (``retry_after_form``) are RFC 9110 10.2.3's two: delta-seconds and an HTTP-date.

Rules are looked at in order; ``latency`` rules add up, the first other rule that fires decides. Faults
only hit authenticated requests (a Digest challenge or a 401 never consumes a rule or a token).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

KINDS = frozenset(
    {
        "rate_limit",
        "status",
        "latency",
        "timeout",
        "non_json",
        "truncated",
        "forbidden_html",
        "commit_drop",
        "reset_before",
        "trickle",
        "huge",
    }
)
#: Kinds whose answer the handler writes a piece at a time (``SandboxHandler._stream``).
STREAMED = frozenset({"trickle", "huge"})
HUGE_BYTES = 50 * 1024 * 1024
_STREAM_CHUNK = 64 * 1024
RETRY_FORMS = ("seconds", "date")


class FaultConfigError(ValueError):
    """The fault config given to ``POST /_sandbox/faults`` is not valid."""


@dataclass
class Rule:
    operation: str
    kind: str
    probability: float = 1.0
    count: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    fired: int = 0
    streamed: int = 0
    tokens: float = 0.0
    refilled_at: float = 0.0

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operation": self.operation,
            "kind": self.kind,
            "probability": self.probability,
        }
        if self.count is not None:
            out["count"] = self.count
        out.update(self.params)
        out["fired"] = self.fired
        if self.kind in STREAMED:
            out["bytes_streamed"] = self.streamed
        return out


@dataclass
class Plan:
    """What to do with one request: sleep ``delay`` seconds, then apply ``rule`` (None: serve normally)."""

    delay: float = 0.0
    rule: Rule | None = None
    retry_after: float | None = None

    @property
    def kind(self) -> str | None:
        return self.rule.kind if self.rule else None

    def param(self, name: str, default: Any = None) -> Any:
        return self.rule.params.get(name, default) if self.rule else default


def retry_after_header(delta: float, form: str) -> str:
    """``Retry-After`` value: delta-seconds rounded up, or the HTTP-date that far ahead."""
    if form == "date":
        return formatdate(math.ceil(time.time() + delta), usegmt=True)
    return str(max(0, math.ceil(delta)))


def _number(raw: dict[str, Any], name: str, default: float | None, low: float, high: float) -> float | None:
    value = raw.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultConfigError(f"{name} must be a number in [{low}, {high}]")
    return float(value)


def _form(raw: dict[str, Any]) -> str:
    form = raw.get("retry_after_form", "seconds")
    if form not in RETRY_FORMS:
        raise FaultConfigError("retry_after_form must be 'seconds' or 'date'")
    return str(form)


def _params(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    p: dict[str, Any] = {}
    if kind == "rate_limit":
        p["rate"] = _number(raw, "rate", None, 1e-6, 1e9)
        if p["rate"] is None:
            raise FaultConfigError("rate_limit needs 'rate'")
        p["burst"] = int(_number(raw, "burst", 1, 1, 1e9) or 1)
        p["retry_after_form"] = _form(raw)
        p["status"] = int(_number(raw, "status", 429, 400, 599) or 429)
    elif kind == "status":
        status = _number(raw, "status", None, 100, 599)
        if status is None:
            raise FaultConfigError("status needs 'status'")
        p["status"] = int(status)
        p["retry_after"] = _number(raw, "retry_after", None, 0, 86400 * 7)
        p["retry_after_form"] = _form(raw)
    elif kind == "latency":
        p["ms"] = _number(raw, "ms", None, 0, 600_000)
        if p["ms"] is None:
            raise FaultConfigError("latency needs 'ms'")
        p["jitter_ms"] = _number(raw, "jitter_ms", 0, 0, 600_000)
    elif kind == "timeout":
        p["seconds"] = _number(raw, "seconds", 30, 0, 3600)
    elif kind in ("non_json", "truncated"):
        if kind == "non_json":
            p["status"] = int(_number(raw, "status", 200, 100, 599) or 200)
        apply = raw.get("apply", kind == "truncated")
        if not isinstance(apply, bool):
            raise FaultConfigError("apply must be a boolean")
        p["apply"] = apply
    elif kind == "trickle":
        p["bytes"] = int(_number(raw, "bytes", 16, 1, 1 << 20) or 16)
        p["interval"] = _number(raw, "interval", 0.2, 0, 60)
        apply = raw.get("apply", True)
        if not isinstance(apply, bool):
            raise FaultConfigError("apply must be a boolean")
        p["apply"] = apply
    elif kind == "huge":
        p["bytes"] = int(_number(raw, "bytes", HUGE_BYTES, 64, 1 << 34) or HUGE_BYTES)
        p["status"] = int(_number(raw, "status", 200, 100, 599) or 200)
        declare = raw.get("declare_length", False)
        if not isinstance(declare, bool):
            raise FaultConfigError("declare_length must be a boolean")
        p["declare_length"] = declare
    return p


def parse_rule(raw: Any) -> Rule:
    if not isinstance(raw, dict):
        raise FaultConfigError("a rule must be an object")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise FaultConfigError(f"unknown kind {kind!r}; one of {sorted(KINDS)}")
    operation = raw.get("operation", "*")
    if not isinstance(operation, str) or not operation:
        raise FaultConfigError("operation must be a non-empty string")
    probability = _number(raw, "probability", 1.0, 0.0, 1.0)
    count = raw.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise FaultConfigError("count must be a non-negative integer")
    rule = Rule(operation, kind, 1.0 if probability is None else probability, count, _params(kind, raw))
    if kind == "rate_limit":
        rule.tokens = float(rule.params["burst"])
        rule.refilled_at = time.monotonic()
    return rule


class FaultEngine:
    """Holds the rules and decides, under a lock, which fault (if any) hits a request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._seed: int | None = None
        self._rng = random.Random()

    def configure(self, config: Any) -> None:
        if isinstance(config, list):
            config = {"rules": config}
        if not isinstance(config, dict) or not isinstance(config.get("rules", []), list):
            raise FaultConfigError("expected {'rules': [...], 'seed': int?}")
        seed = config.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultConfigError("seed must be an integer")
        rules = [parse_rule(r) for r in config.get("rules", [])]
        with self._lock:
            self._rules = rules
            self._seed = seed
            self._rng = random.Random(seed)

    def clear(self) -> None:
        self.configure({"rules": []})

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self._seed, "rules": [r.describe() for r in self._rules]}

    def decide(self, operation: str) -> Plan:
        plan = Plan()
        with self._lock:
            for rule in self._rules:
                if rule.operation not in ("*", operation):
                    continue
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.kind == "rate_limit":
                    wait = self._take_token(rule)
                    if wait is None or self._rng.random() >= rule.probability:
                        continue
                    plan.retry_after = wait
                elif self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.kind == "latency":
                    jitter = rule.params["jitter_ms"]
                    extra = self._rng.uniform(0, jitter) if jitter else 0.0
                    plan.delay += (rule.params["ms"] + extra) / 1000.0
                    continue
                if rule.kind == "status" and rule.params["retry_after"] is not None:
                    plan.retry_after = rule.params["retry_after"]
                plan.rule = rule
                break
        return plan

    @staticmethod
    def _take_token(rule: Rule) -> float | None:
        """Consume a token; None when allowed, else the seconds until one is available."""
        now = time.monotonic()
        rate, burst = rule.params["rate"], rule.params["burst"]
        rule.tokens = min(float(burst), rule.tokens + (now - rule.refilled_at) * rate)
        rule.refilled_at = now
        if rule.tokens >= 1.0:
            rule.tokens -= 1.0
            return None
        return (1.0 - rule.tokens) / rate


def huge_pieces(size: int) -> Iterator[bytes]:
    """A JSON object of exactly ``size`` bytes, 64 KiB at a time: an RFC 9083 domain object whose one
    remark is ``size`` bytes of filler (a valid answer, only far too long)."""
    head = b'{"objectClassName":"domain","ldhName":"huge.example","remarks":[{"description":["'
    tail = b'"]}]}'
    filler = max(0, size - len(head) - len(tail))
    yield head
    block = b"x" * _STREAM_CHUNK
    while filler > 0:
        piece = block[: min(filler, _STREAM_CHUNK)]
        filler -= len(piece)
        yield piece
    yield tail
