"""A rate such as ``20/s`` or ``1000/m``, parsed once and carried as tokens per second."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Rate:
    """``amount`` requests per ``period`` seconds."""

    amount: float
    period: float

    @property
    def per_second(self) -> float:
        return self.amount / self.period

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Parse ``N/s``, ``N/m``, ``N/h`` (also ``N/10s``). Raises ValueError naming what is expected."""
        match = _PATTERN.match(text.lower())
        if not match or match.group(3) not in _UNITS:
            raise ValueError(f"expected a rate like '20/s', '1000/m' or '3600/h', got {text!r}")
        amount = float(match.group(1))
        multiplier = float(match.group(2) or 1)
        if amount <= 0 or multiplier <= 0:
            raise ValueError(f"a rate must be positive, got {text!r}")
        return cls(amount=amount, period=_UNITS[match.group(3)] * multiplier)

    def __str__(self) -> str:
        amount = int(self.amount) if self.amount.is_integer() else self.amount
        for unit, seconds in (("s", 1.0), ("m", 60.0), ("h", 3600.0)):
            if self.period == seconds:
                return f"{amount}/{unit}"
        return f"{amount}/{int(self.period)}s"
