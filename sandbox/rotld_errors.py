"""The ROTLD answer envelope and the error raised by command handlers."""

from __future__ import annotations

from typing import Any

SUCCESS = "00200"
MISSING_PARAMETER = "10001"


class RotldError(Exception):
    """A ROTLD error envelope: ``{"error": 1, "result_code": code, "result_message": message}``."""

    def __init__(self, code: str, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.data = data or {}


def envelope(data: dict[str, Any] | None = None, message: str = "Command completed successfully") -> dict:
    return {"error": 0, "result_code": SUCCESS, "result_message": message, "data": data or {}}


def error_envelope(exc: RotldError) -> dict[str, Any]:
    return {"error": 1, "result_code": exc.code, "result_message": exc.message, "data": exc.data}


def require(form: dict[str, str], *names: str) -> None:
    """Raise 10001 naming the first required parameter that is missing or blank."""
    for name in names:
        if not form.get(name, "").strip():
            raise RotldError(MISSING_PARAMETER, f"Missing required parameter: {name}", {"parameter": name})
