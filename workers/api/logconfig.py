"""``regq api``'s logging: uvicorn's own configuration with every line redacted.

uvicorn's access log prints the request line with its query string, so a secret a client put in a URL
(``?access_token=regq_...``) would be written verbatim: the access handler redacts the record's
arguments (:class:`shared.http.redact.ArgsRedactingFilter`), the error handler and regq's own loggers
redact their messages (:class:`shared.http.redact.RedactingFilter`). Such a request is refused (400)
anyway; the log must not keep it either.
"""

from __future__ import annotations

import copy
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from shared.http.redact import ArgsRedactingFilter, RedactingFilter


def log_config() -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {
        "redact": {"()": RedactingFilter},
        "redact_args": {"()": ArgsRedactingFilter},
    }
    config["handlers"]["default"]["filters"] = ["redact"]
    config["handlers"]["access"]["filters"] = ["redact_args"]
    config["loggers"]["regq"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
