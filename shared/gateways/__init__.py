"""Registrar gateways: one class per registrar behind :class:`~shared.gateways.base.Gateway`."""

from shared.gateways.base import (
    Availability,
    ContactDirectory,
    DomainInfo,
    DryRunResult,
    Gateway,
    RegisteredDomain,
    RenewedDomain,
)
from shared.gateways.registry import GATEWAYS, gateway_for

__all__ = [
    "GATEWAYS",
    "Availability",
    "ContactDirectory",
    "DomainInfo",
    "DryRunResult",
    "Gateway",
    "RegisteredDomain",
    "RenewedDomain",
    "gateway_for",
]
