"""The API's error bodies: 422 as ``{"detail": [{"loc", "msg"}, ...]}`` (one entry per bad field, FastAPI's
shape without its ``type``), and the small helpers every router shares."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import HTTPException
from fastapi.responses import JSONResponse

from shared.errors import FieldProblem
from shared.jobs import JobOutcome


def loc(field: str) -> list[str]:
    """``owner.email`` -> ["body", "owner", "email"]; a glue host stays one part (it has dots)."""
    head, _, rest = field.partition(".")
    if not rest:
        return ["body", head]
    if head == "glue":
        return ["body", head, rest]
    return ["body", *field.split(".")]


def problems(found: list[FieldProblem]) -> list[dict[str, Any]]:
    return [{"loc": loc(p.field), "msg": p.reason} for p in found]


def invalid(entries: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": entries}, status_code=422)


class Invalid(Exception):
    """Raised by a parameter check: answered 422 with its entries (``app.py`` installs the handler)."""

    def __init__(self, where: str, name: str, msg: str) -> None:
        super().__init__(msg)
        self.entries = [{"loc": [where, name], "msg": msg}]


def too_large(cap: int) -> HTTPException:
    return HTTPException(413, f"request body larger than {cap} bytes")


def location(key: str) -> str:
    return f"/v1/jobs/{quote(key, safe=':')}"


def outcome_json(outcome: JobOutcome) -> dict[str, Any]:
    return outcome.model_dump(mode="json")
