"""Keep secrets and personal data out of logs, exception messages and audit rows.

:func:`redact` rewrites a text: values of sensitive keys (``token``, ``password``, ``authinfo``,
``domain_password``, ``cnp``, ``email``, ``phone`` ... in JSON, dict reprs, forms and query strings),
``Authorization`` schemes (Bearer, Apikey, Digest, Basic), e-mail addresses, ``+CC.NUMBER`` phone numbers,
13-digit runs (a CNP), anything shaped like a regq API token (``regq_`` + its base64, also
percent-encoded) and every value registered with :func:`register_secret` (tokens, passwords, generated
domain passwords) become ``[REDACTED]``.

:class:`RedactingFilter` applies it to log records (message, arguments and exception text); regq's own
loggers carry it (:func:`get_logger`) and :func:`install_redaction` adds it to any handler.
:class:`ArgsRedactingFilter` redacts a record's arguments in place, for formatters that read them (uvicorn's
access log formats ``record.args``: the request line with its query string).
:func:`scrub_upstream_text` prepares a registrar's message for an exception: registrars echo input back.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"
_SENSITIVE = (
    r"token|password|passwd|passphrase|secret|authinfo|auth_?code|apikey|api_key|authorization|"
    r"cnp|cui_personal|email|e-mail|mail|phone|fax|mobile"
)
_KEY = rf"[\w-]*(?:{_SENSITIVE})[\w-]*"
# "key": "value" / 'key': 'value' / key='value' (JSON, reprs, kwargs)
_QUOTED_VALUE = re.compile(rf"""(?i)(["']?\b{_KEY}\b["']?\s*[:=]\s*)(["'])(?:\\.|(?!\2).)*\2""")
# "key": 123 / key: value-without-quotes / key=value in forms and query strings
_BARE_VALUE = re.compile(rf"""(?i)(["']?\b{_KEY}\b["']?\s*[:=]\s*)(?!["'\s])([^\s&,;}})\]]+)""")
_AUTH_SCHEME = re.compile(r"(?i)\b(Bearer|Apikey|Basic|Token)\s+[\w.~+/=:-]+")
_DIGEST = re.compile(r'(?i)\bDigest\s+(?:\w+=(?:"[^"]*"|[^,\s]*)\s*,?\s*)+')
_EMAIL = re.compile(r"[\w.!#$%&*+^~-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d{1,3}[.\s-]?\(?\d{1,5}\)?(?:[.\s-]?\d{2,8}){1,4}")
_CNP = re.compile(r"(?<!\d)\d{13}(?!\d)")
# a regq API token anywhere (a query string, a path): its prefix and the URL-safe base64 after it
_API_TOKEN = re.compile(r"(?i)\bregq(?:_|%5f)[A-Za-z0-9_%-]{8,}")  # percent-encoded too (a raw query)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MAX_SECRETS = 4096
_MIN_SECRET = 4

_secrets: OrderedDict[str, None] = OrderedDict()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value (token, password, generated domain password) so redact() hides it."""
    if not value or len(value) < _MIN_SECRET:
        return
    with _secrets_lock:
        _secrets[value] = None
        _secrets.move_to_end(value)
        while len(_secrets) > _MAX_SECRETS:
            _secrets.popitem(last=False)


def _known_secrets(extra: Iterable[str]) -> list[str]:
    with _secrets_lock:
        values = list(_secrets)
    values.extend(v for v in extra if v and len(v) >= _MIN_SECRET)
    return sorted(set(values), key=len, reverse=True)


def redact(text: Any, secrets: Iterable[str] = ()) -> str:
    """``text`` (made a string) with every secret and personal datum replaced by ``[REDACTED]``."""
    out = text if isinstance(text, str) else str(text)
    for secret in _known_secrets(secrets):
        out = out.replace(secret, MASK)
    out = _DIGEST.sub(f"Digest {MASK} ", out)
    out = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", out)
    out = _QUOTED_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", out)
    out = _BARE_VALUE.sub(lambda m: f"{m.group(1)}{MASK}", out)
    out = _API_TOKEN.sub(MASK, out)
    out = _EMAIL.sub(MASK, out)
    out = _PHONE.sub(MASK, out)
    return _CNP.sub(MASK, out)


_SENSITIVE_KEY = re.compile(rf"(?i)^{_KEY}$")


def redact_mapping(data: Any) -> Any:
    """A copy of a JSON-like structure with sensitive keys' values masked and strings redacted."""
    if isinstance(data, Mapping):
        return {
            k: MASK if isinstance(k, str) and _SENSITIVE_KEY.match(k) else redact_mapping(v)
            for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact_mapping(v) for v in data]
    if isinstance(data, str):
        return redact(data)
    return data


def scrub_upstream_text(text: Any, limit: int = 200) -> str:
    """A registrar's message made safe for an exception: redacted, one line, at most ``limit`` chars."""
    if text is None:
        return ""
    out = _CONTROL.sub(" ", redact(text)).strip()
    return out if len(out) <= limit else out[: limit - 1] + "…"


class RedactingFilter(logging.Filter):
    """Redacts a record's formatted message and exception text (the record is rewritten in place)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ArgsRedactingFilter(logging.Filter):
    """Redacts a record's message template and each string argument, keeping ``record.args`` a tuple:
    for formatters that unpack the arguments (uvicorn's ``AccessFormatter``: client, method, path with
    its query string, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif record.args:
            return RedactingFilter.filter(_FILTER, record)
        return True


_FILTER = RedactingFilter()


def install_redaction(target: logging.Logger | logging.Handler) -> None:
    """Add the redacting filter to a logger (its own records) or a handler (everything it emits)."""
    if _FILTER not in target.filters:
        target.addFilter(_FILTER)


def get_logger(name: str) -> logging.Logger:
    """A regq logger whose records are always redacted."""
    logger = logging.getLogger(name)
    install_redaction(logger)
    return logger
