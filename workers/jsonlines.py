"""Lines of a JSON-lines text (``regq submit --file``, ``POST /v1/jobs:batch`` as NDJSON)."""

from __future__ import annotations


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, ended by ``"\\n"`` only (a trailing ``"\\r"`` dropped).

    Not :meth:`str.splitlines`: it also splits at U+2028, U+0085, ``\\x0b`` and other breaks that may
    stand inside a JSON string, and every later line number would be wrong."""
    return [line.removesuffix("\r") for line in text.split("\n")]
