"""Domain names: IDNA 2008 normalisation, public-suffix knowledge, special-use TLDs, the registrars.

The Public Suffix List comes from tldextract's bundled snapshot; nothing here touches the network.
Which registrar sells a TLD is the TLD catalogue's answer (:func:`shared.tlds.registrar_for`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

import idna

if TYPE_CHECKING:
    import tldextract

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class Registrar(StrEnum):
    GANDI = "gandi"
    ROTLD = "rotld"


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # Imported on first use: tldextract pulls in requests (about 100 ms), which a CLI command that
    # parses no name (``regq --help``, ``regq status KEY``) should not pay.
    import tldextract

    # suffix_list_urls=() keeps tldextract on its bundled snapshot: never the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@dataclass(frozen=True)
class DomainName:
    """A validated name: ``ascii`` is the lower-cased A-label form, ``unicode`` the U-label form."""

    ascii: str
    unicode: str
    suffix: str
    registrable: str

    @property
    def tld(self) -> str:
        return self.ascii.rsplit(".", 1)[-1]

    @property
    def is_registrable(self) -> bool:
        """True for an eTLD+1 such as ``example.com`` or ``example.com.ro``."""
        return self.ascii == self.registrable

    def __str__(self) -> str:
        return self.ascii


def parse_domain(text: str) -> DomainName:
    """Validate and normalise a domain name. Raises ValueError with the reason."""
    if not isinstance(text, str):
        raise ValueError("must be a string")
    return _parse_domain(text)


@lru_cache(maxsize=4096)
def _parse_domain(text: str) -> DomainName:
    # Cached: a job's validation parses its domain again (field, then model validator, then ``.name``),
    # and IDNA plus the suffix lookup is most of a job's validation time. A refusal is not cached.
    name = text.strip().rstrip(".")
    if not name:
        raise ValueError("must not be empty")
    if len(name) > 4 * MAX_NAME_LENGTH:
        raise ValueError(f"longer than {MAX_NAME_LENGTH} characters")
    try:
        ascii_name = idna.encode(name, uts46=True, transitional=False).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise ValueError(f"not a valid IDNA 2008 name ({exc})") from None
    if len(ascii_name) > MAX_NAME_LENGTH:
        raise ValueError(f"longer than {MAX_NAME_LENGTH} characters in its A-label form")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise ValueError("needs at least two labels (name and TLD)")
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH:
            raise ValueError(f"label {label[:20]!r}... is longer than {MAX_LABEL_LENGTH} characters")
        if not _HOSTNAME_LABEL.match(label):
            raise ValueError(f"label {label!r} is not a valid host name label")
    parts = _extractor()(ascii_name)
    if not parts.suffix:
        raise ValueError(f"{ascii_name.rsplit('.', 1)[-1]!r} is not a known public suffix")
    if not parts.domain:
        raise ValueError(f"{ascii_name!r} is itself a public suffix")
    try:
        unicode_name = idna.decode(ascii_name)
    except idna.IDNAError:
        unicode_name = ascii_name
    return DomainName(
        ascii=ascii_name,
        unicode=unicode_name,
        suffix=parts.suffix,
        registrable=f"{parts.domain}.{parts.suffix}",
    )


def parse_hostname(text: str) -> str:
    """A host name (e.g. a nameserver): IDNA-normalised A-label form, at least two labels."""
    name = text.strip().rstrip(".")
    if len(name) > 4 * MAX_NAME_LENGTH:  # never echo (or IDNA-process) a huge string
        raise ValueError(f"{text[:40]!r}... is not a valid host name (longer than {MAX_NAME_LENGTH})")
    try:
        ascii_name = idna.encode(name, uts46=True, transitional=False).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise ValueError(f"{text!r} is not a valid host name ({exc})") from None
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > MAX_NAME_LENGTH
        or len(labels) < 2
        or not all(_HOSTNAME_LABEL.match(x) for x in labels)
    ):
        raise ValueError(f"{text!r} is not a valid host name")
    return ascii_name


#: Special-use TLDs (IANA's Special-Use Domain Names registry) -> why: no registry delegates a name under
#: them, so no registrar can sell one (RFC 6761 6.2-6.5; mDNS; Tor; the ALT namespace; .arpa).
SPECIAL_USE: dict[str, str] = {
    "test": "RFC 6761 6.2: reserved for testing",
    "localhost": "RFC 6761 6.3: the loopback name",
    "invalid": "RFC 6761 6.4: guaranteed never to exist",
    "example": "RFC 6761 6.5: reserved for documentation",
    "local": "RFC 6762: multicast DNS, link-local names",
    "onion": "RFC 7686: Tor onion services, resolved by Tor, not DNS",
    "alt": "RFC 9476: the .alt namespace for non-DNS resolution systems",
    # in-addr.arpa/ip6.arpa (reverse mapping; RFC 6761 6.1 for the private ranges), home.arpa (RFC 8375)
    "arpa": "RFC 3172: the infrastructure domain of reverse DNS and home.arpa, assigned by the IAB",
}


def special_use(tld: str) -> str | None:
    """Why ``tld`` (a TLD or a suffix: its last label counts) is special-use, else None."""
    return SPECIAL_USE.get(tld.strip().strip(".").lower().rsplit(".", 1)[-1])


def normalise_tld(text: str) -> str:
    """A TLD (or a multi-label suffix such as ``co.uk``) in lower-case A-label form, without dots around
    it; ValueError naming it when it is not one."""
    raw = str(text).strip().strip(".")
    try:
        name = idna.encode(raw, uts46=True, transitional=False).decode("ascii").lower() if raw else ""
    except idna.IDNAError:
        name = ""
    if not name or not all(_HOSTNAME_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"{str(text)[:40]!r} is not a TLD")
    return name
