"""The small helpers every router shares: a bad field's ``loc``, 422 answers (problems of type
``urn:regq:problem:validation``, built by :mod:`workers.api.problems`), a job's ``Location`` and JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import HTTPException

from shared.errors import FieldProblem
from shared.jobs import JobOutcome
from workers.api.problems import invalid

__all__ = ["Invalid", "invalid", "loc", "location", "outcome_json", "problems", "too_large"]


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


class Invalid(Exception):
    """Raised by a parameter check: answered 422 with its entries (:func:`workers.api.problems.install`)."""

    def __init__(self, where: str, name: str, msg: str) -> None:
        super().__init__(msg)
        self.entries = [{"loc": [where, name], "msg": msg}]


def too_large(cap: int) -> HTTPException:
    return HTTPException(413, f"request body larger than {cap} bytes")


def location(key: str) -> str:
    return f"/v1/jobs/{quote(key, safe=':')}"


def outcome_json(outcome: JobOutcome) -> dict[str, Any]:
    return outcome.model_dump(mode="json")
