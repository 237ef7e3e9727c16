"""The registrar's own auto-renew, switched off once a domain is ours (registered or transferred in).

regq renews through its own scan (``REGQ_RENEW_WINDOW_DAYS``); a registrar auto-renew left on would renew
the domain a second time and bill the customer twice. The step never fails the job (the domain is ours):
a wait (our limiter, a 429, the breaker) goes up and the job resumes at the step; a failure becomes a
warning; a registrar without the switch (ROTLD: ``Unsupported``) answers ``None`` with a note.
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
        return {"autorenew_at_registrar": None, "warnings": [], "notes": [note]}
    except RegqError as exc:
        if exc.disposition == "wait":
            raise
        warning = (
            f"switching the registrar's own auto-renew off failed ({exc}): switch it off at "
            f"{ex.registrar.name}, or the domain may be renewed twice"
        )
        return {"autorenew_at_registrar": None, "warnings": [warning], "notes": []}
    return {"autorenew_at_registrar": False, "warnings": [], "notes": []}
