"""The registrar's own auto-renew, switched off once a domain is ours (registered or transferred in).

regq renews through its own scan (``REGQ_RENEW_WINDOW_DAYS``); a registrar auto-renew left on would renew
the domain a second time and bill the customer twice. The step never fails the job (the domain is ours):
a wait (our limiter, a 429, the breaker) goes up and the job resumes at the step; a failure becomes a
warning; a registrar without the switch (ROTLD: ``Unsupported``) answers ``None`` with a note.

What is known is remembered in the inventory's ``registrar_autorenew`` (``regq domains show`` says which
side renews from it): False once switched off, and False for a registrar that has no auto-renew at all
(ROTLD: nothing there renews the domain); a failed switch leaves it as it was. A read of the domain's
state that shows the flag (the lock job's ``domain_state``) records it too (:func:`remember_autorenew`).
"""

from __future__ import annotations

from typing import Any

from shared.errors import RegqError, Unsupported
from shared.execution.context import Execution, LeaseLost
from shared.execution.day2_ops import day2


def autorenew_off(ex: Execution, domain: str) -> dict[str, Any]:
    """``{"autorenew_at_registrar": False | None, "warnings": [...], "notes": [...]}`` (see the module)."""
    try:
        day2(ex.registrar, "set_autorenew", "auto-renew").set_autorenew(domain, False, ex.policy)
    except LeaseLost:
        raise
    except Unsupported as exc:
        note = f"{exc}: nothing to switch off (regq renews the domain itself)"
        remember_autorenew(ex, domain, False)  # no auto-renew at the registrar: it never renews it
        return {"autorenew_at_registrar": None, "warnings": [], "notes": [note]}
    except RegqError as exc:
        if exc.disposition == "wait":
            raise
        warning = (
            f"switching the registrar's own auto-renew off failed ({exc}): switch it off at "
            f"{ex.registrar.name}, or the domain may be renewed twice"
        )
        return {"autorenew_at_registrar": None, "warnings": [warning], "notes": []}
    remember_autorenew(ex, domain, False)
    return {"autorenew_at_registrar": False, "warnings": [], "notes": []}


def remember_autorenew(ex: Execution, domain: str, enabled: bool | None) -> None:
    """Keep what the registrar's auto-renew is (a no-op for None: unknown stays as it was)."""
    if enabled is not None:
        ex.store.inventory.set_registrar_autorenew(domain, enabled, ex.registrar.name)
