"""Domain names: IDNA 2008 normalisation, public-suffix knowledge, registrar inference.

The Public Suffix List comes from tldextract's bundled snapshot; nothing here touches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import idna
import tldextract

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class Registrar(StrEnum):
    GANDI = "gandi"
    ROTLD = "rotld"


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
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


def registrar_for(domain: DomainName) -> Registrar:
    """.ro goes to ROTLD; .eu and generic TLDs to Gandi. Other country codes are not supported."""
    tld = domain.tld
    if tld == "ro":
        return Registrar.ROTLD
    if tld == "eu" or len(tld) > 2:
        return Registrar.GANDI
    raise ValueError(
        f"TLD .{tld} is not supported (supported: .ro through rotld; .eu and gTLDs through gandi)"
    )
