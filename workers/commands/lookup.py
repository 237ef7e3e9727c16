"""``regq lookup DOMAIN``: one registration-data lookup in this process, an operator's whois.

It goes through the same caches, singleflight and fleet-wide limiter as the workers when REGQ_REDIS_URL
is set, else through in-memory ones. Exit codes: 0 complete, 75 partial or rate limited (EX_TEMPFAIL:
ask again after ``retry_after``), 1 error, 2 bad input. The JSON is printed in every case but bad input.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shared.audit import MemoryAudit
from shared.errors import JobValidationError, RegqError
from shared.registrydata.model import DomainLookup
from shared.services import Services
from shared.settings import get_settings
from workers.console import emit_json, errors, table

EXIT_PARTIAL = 75  # sysexits.h EX_TEMPFAIL


def lookup(
    domain: str,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Look DOMAIN up: registrar, dates, statuses, nameservers, their addresses and who holds those."""
    settings = get_settings()
    if not settings.redis_url:
        settings = settings.model_copy(update={"redis_url": "memory://"})
    services = Services(settings, audit=MemoryAudit())
    try:
        answer = services.lookups().lookup_domain(domain)
    except JobValidationError as exc:
        errors.print(f"[red]bad input[/red] {exc}")
        raise typer.Exit(2) from None
    except RegqError as exc:
        data: dict[str, Any] = {"domain": domain, "error": type(exc).__name__, "message": str(exc)}
        retry_after = getattr(exc, "retry_after", None)
        waiting = exc.disposition == "wait"
        if waiting:
            data.update(partial=True, retry_after=retry_after)
        _show_error(data, as_json)
        raise typer.Exit(EXIT_PARTIAL if waiting else 1) from None
    finally:
        services.close()
    _show(answer, as_json)
    raise typer.Exit(EXIT_PARTIAL if answer.partial else 0)


def _show(answer: DomainLookup, as_json: bool) -> None:
    data = answer.to_dict()
    if as_json:
        emit_json(data)
        return
    reg = data["registration"] or {}
    rows = [
        ("domain", data["domain"]),
        ("apex", data["apex"]),
        ("registered", data["registered"]),
        ("source", f"{reg.get('source')} {reg.get('server')}" if reg else None),
        ("registrar", reg.get("registrar")),
        ("created", reg.get("created")),
        ("expires", reg.get("expires")),
        ("updated", reg.get("updated")),
        ("statuses", ", ".join(reg.get("statuses") or []) or None),
        ("registrant", reg.get("registrant")),
    ]
    for ns in data["nameservers"]:
        rows.append((f"ns {ns['host']}", ", ".join(ns["ips"]) or "(no address)"))
    for ip, holder in data["ip_registrants"].items():
        rows.append((f"holder of {ip}", holder))
    if data["partial"]:
        rows.append(("partial", f"{data['reason']} (retry in {data['retry_after']:.0f} s)"))
    table(f"lookup {data['domain']}", ("field", "value"), [(k, "" if v is None else str(v)) for k, v in rows])


def _show_error(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(data)
    else:
        errors.print(f"[red]{data['error']}[/red] {data['message']}")
