"""Which gateway class serves which registrar: a plain dict, and :func:`gateway_for` to build one.

Its caller, :class:`shared.services.Services`, builds one gateway per registrar and process on first use
(a forked pool child builds its own) and passes its own pieces in:

* ``audit``: an :class:`~shared.audit.AuditSink` (the store's audit log, or MemoryAudit in tests);
* ``contacts``: a :class:`~shared.gateways.base.ContactDirectory` (``Store.contacts``) for ROTLD.
"""

from __future__ import annotations

from typing import Any

from shared.audit import AuditSink
from shared.errors import UnknownRegistrar
from shared.gateways.base import ContactDirectory, Gateway
from shared.gateways.gandi import GandiGateway
from shared.gateways.rotld import RotldGateway
from shared.names import Registrar
from shared.settings import Settings

GATEWAYS: dict[str, type[Gateway]] = {
    Registrar.GANDI.value: GandiGateway,
    Registrar.ROTLD.value: RotldGateway,
}


def gateway_for(
    registrar: Registrar | str,
    settings: Settings,
    audit: AuditSink,
    contacts: ContactDirectory | None = None,
    **options: Any,
) -> Gateway:
    """A new gateway for ``registrar``; ``options`` (``sleep``, ``rng``, ...) go to its constructor.

    Raises UnknownRegistrar (a ConfigError) for a name with no gateway, ConfigError for missing credentials.
    """
    name = registrar.value if isinstance(registrar, Registrar) else str(registrar).strip().lower()
    cls = GATEWAYS.get(name)
    if cls is None:
        raise UnknownRegistrar(name, sorted(GATEWAYS))
    return cls(settings, audit, contacts, **options)  # type: ignore[call-arg]
