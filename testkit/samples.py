"""The real upstream answers tests read, each kept once.

Answers the sandbox serves verbatim live in ``sandbox/data/`` (packaged: the stand-ins read them at run
time); answers only tests read live in ``tests/data/``. :func:`sample` and :func:`samples` look in both,
so a test never needs to know which, and no file is kept twice (``tests/test_samples.py`` checks it).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests" / "data"
SANDBOX = ROOT / "sandbox" / "data"

#: The samples tests share with the sandbox, by kind: kept in ``sandbox/data/<kind>/`` only. The other
#: files there are the sandbox's own cuts and constructions (see its SOURCES.md), not samples.
IN_SANDBOX: dict[str, tuple[str, ...]] = {
    "rdap": (
        "0_2_192_in-addr_arpa.json",
        "2001_db8__.json",
        "entity-rfc9083-fig15.json",
        "openrdap__cz__domain-example.cz.json",
        "whoisit__domain1.json",
        "whoisit__domain2.json",
        "whoisit__domain3.json",
        "whoisit__ip_v4.json",
        "whoisit__ip_v4_2.json",
        "whoisit__ip_v4_3.json",
        "whoisit__ip_v6.json",
        "xn--fo-5ja_example.json",
    ),
    "whois": ("eurid.eu.txt", "google.de.txt", "google.ro.txt", "urlowl.com.txt", "yahoo.co.jp.txt"),
}

#: Samples tests know by their source's name (sub-folder included) that the sandbox keeps under a name of
#: its own: test name -> file in ``sandbox/data/<kind>/``. Kept there only.
IN_SANDBOX_AS: dict[str, dict[str, str]] = {
    "whois": {
        "throttled/whois.pir.org__org__response_throttled.txt": "throttled-org.txt",
        "throttled/whois.nic.cz__cz__response_throttled.txt": "throttled-cz.txt",
        "throttled/whois.nic.uk__uk__response_throttled.txt": "throttled-uk.txt",
        "throttled/whois.denic.de__de__response_throttled.txt": "throttled-de.txt",
        "notfound/weppos__whois.verisign-grs.com__com__status_available.txt": "verisign-not-found.txt",
        "iana/whois.iana.org__tld__status_not_assigned.txt": "iana-not-assigned.txt",
    },
}


def sample(kind: str, name: str) -> Path:
    """The sample ``name`` of ``kind`` (``rdap``, ``whois``; ``name`` may hold a sub-folder)."""
    renamed = IN_SANDBOX_AS.get(kind, {}).get(name)
    if renamed is not None:
        path = SANDBOX / kind / renamed
    else:
        path = (SANDBOX if name in IN_SANDBOX.get(kind, ()) else TESTS) / kind / name
    if not path.is_file():
        raise FileNotFoundError(f"no sample {kind}/{name} at {path.relative_to(ROOT)}")
    return path


def _matches(name: str, pattern: str) -> bool:
    """``name`` (relative, maybe with a sub-folder) matches ``pattern`` as a whole, not just its tail."""
    path, glob = PurePosixPath(name), PurePosixPath(pattern)
    return len(path.parts) == len(glob.parts) and path.match(pattern)


def samples(kind: str, pattern: str) -> list[Path]:
    """Every sample of ``kind`` whose name matches ``pattern`` (relative to the folder, e.g. ``*.txt`` or
    ``throttled/*.txt``), sorted by name."""
    shared = [SANDBOX / kind / name for name in IN_SANDBOX.get(kind, ()) if _matches(name, pattern)]
    shared += [
        SANDBOX / kind / file for name, file in IN_SANDBOX_AS.get(kind, {}).items() if _matches(name, pattern)
    ]
    found = [p for p in (TESTS / kind).glob(pattern) if p.is_file()] + shared
    return sorted(found, key=lambda p: p.name)
