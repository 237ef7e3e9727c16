"""The day-2 parts of ``regq domains``: which side renews a domain (``show``), and its auth code.

``regq domains auth-code DOMAIN [--reset] [--json]``: a held domain's transfer code, read from its
registrar now (:func:`shared.execution.auth_code.read_auth_code`: the fleet's limiter and the registrar's
breaker, no job). The code goes to stdout once and nowhere else; everything else goes to stderr.

Exit codes: 0 the code; 1 the registrar refused or has no auth codes (ROTLD); 2 a bad domain; 3 try later
(the registrar's breaker is open, or our limiter says wait).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from shared.errors import RegqError, Unsupported
from shared.execution.auth_code import read_auth_code
from shared.names import parse_domain
from shared.store.inventory import ACTIVE, DomainRecord
from shared.timestamps import day_or_instant
from workers import context
from workers.console import emit_json, errors

#: What ``renewed_by`` says when regq renews and the registrar's auto-renew is on too.
BOTH = "both (registrar auto-renew is on: the customer may pay twice)"


def renewed_by(record: DomainRecord, registrar_autorenew: bool | None = None) -> str:
    """Which side renews ``record``: ``regq`` (its renewal scan: ``auto_renew`` on, the domain active),
    ``registrar`` (its own auto-renew, as the inventory's ``registrar_autorenew`` remembers it, or as given),
    :data:`BOTH`, or nobody; "unknown" marks a registrar side never read nor set."""
    theirs = record.registrar_autorenew if registrar_autorenew is None else registrar_autorenew
    ours = record.auto_renew and record.status == ACTIVE
    if theirs is None:
        side = "regq" if ours else f"nobody known (regq's auto_renew is off or the status is {record.status})"
        return f"{side} (registrar auto-renew: unknown)"
    if ours:
        return BOTH if theirs else "regq"
    if theirs:
        return "registrar"
    return f"nobody (regq's auto_renew is off or the status is {record.status}; registrar auto-renew is off)"


T = TypeVar("T")


def fail(message: str, as_json: bool, code: int) -> typer.Exit:
    """``message`` as ``{"error": ...}`` (--json) or one red line on stderr; the exit to raise."""
    if as_json:
        emit_json({"error": message})
    else:
        errors.print(f"[red]{escape(message)}[/red]", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def on_registrar(
    domain: str, as_json: bool, call: Callable[[Any, str], T], refused: Callable[[RegqError], str]
) -> T:
    """``call(runtime, name)`` for ``domain``, one synchronous registrar call; a failure is one line and an
    exit code: 2 a bad domain or a TLD no registrar sells, 1 unsupported or refused (``refused(exc)``
    says how), 3 try later."""
    try:
        name = parse_domain(domain).ascii
    except ValueError as exc:
        raise fail(f"{domain!r}: {exc}", as_json, 2) from None
    try:
        return call(context.runtime(), name)
    except ValueError as exc:  # no registrar sells the TLD
        raise fail(f"{name}: {exc}", as_json, 2) from None
    except Unsupported as exc:
        raise fail(f"{name}: {exc}", as_json, 1) from None
    except RegqError as exc:
        if exc.disposition == "wait":
            wait = getattr(exc, "retry_after", None) or 1.0
            raise fail(f"{name}: {exc}; retry in {wait:.0f} s", as_json, 3) from None
        raise fail(f"{name}: {refused(exc)}", as_json, 1) from None


def auth_code(
    domain: str,
    reset: Annotated[bool, typer.Option("--reset", help="ask the registrar for a new code first")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Print DOMAIN's transfer (auth) code once, read from its registrar now (--reset: a new one)."""
    read = on_registrar(
        domain,
        as_json,
        lambda runtime, name: read_auth_code(runtime, name, reset),
        lambda exc: f"the registrar did not give the code ({type(exc).__name__})",
    )
    answer = read.answer
    expires = day_or_instant(answer.expires_at)
    if as_json:
        emit_json({"domain": answer.domain, "auth_code": answer.code.reveal(), "expires_at": expires})
        return
    print(answer.code.reveal())  # plain print: no markup, no highlighting of the code
    errors.print(f"{answer.domain} at {read.registrar}" + (f", expires {expires}" if expires else ""))
