"""``/openapi.json``: FastAPI's document with the job models ``regq schema`` prints as ``Job``.

Open: it is the public contract. The constraints the handlers enforce are declared on the parameters
(patterns, lengths, ranges, enums), so a client generator and schemathesis see the real contract.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from shared.jobs import Job


def install(app: FastAPI) -> None:
    """Serve ``app``'s document with the job models as components (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            job = TypeAdapter(Job).json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(job.pop("$defs", {}))
            components["Job"] = job
            if "ValidationError" in components:  # our 422 entries are {loc, msg}; FastAPI's add "type"
                components["ValidationError"]["required"] = ["loc", "msg"]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
