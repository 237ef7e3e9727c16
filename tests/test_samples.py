"""Each real upstream answer is kept once: in sandbox/data/ when the sandbox serves it, else tests/data/."""

from __future__ import annotations

import hashlib
from pathlib import Path

from testkit.samples import IN_SANDBOX, IN_SANDBOX_AS, SANDBOX, TESTS, sample


def test_shared_samples_live_in_the_sandbox_only() -> None:
    for kind, names in IN_SANDBOX.items():
        for name in names:
            assert sample(kind, name).parent == SANDBOX / kind
            assert not (TESTS / kind / name).exists(), f"{kind}/{name} kept twice"
    for kind, renamed in IN_SANDBOX_AS.items():
        for name, file in renamed.items():
            assert sample(kind, name) == SANDBOX / kind / file
            assert not (TESTS / kind / name).exists(), f"{kind}/{name} kept twice (as sandbox {file})"


def test_no_file_is_kept_twice_under_the_same_name() -> None:
    for kind in ("rdap", "whois"):
        ours = {p.name for p in (TESTS / kind).iterdir() if p.is_file() and p.name != "SOURCES.md"}
        theirs = {p.name for p in (SANDBOX / kind).iterdir() if p.is_file()}
        assert ours & theirs == set()


def test_no_file_is_kept_twice_under_another_name() -> None:
    """Byte-identical copies count too, whatever their names or folders (throttled-cz.txt once was)."""
    by_digest: dict[str, list[Path]] = {}
    for path in sorted([*TESTS.rglob("*"), *SANDBOX.rglob("*")]):
        if path.is_file() and path.name not in ("SOURCES.md", "__init__.py"):
            by_digest.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), []).append(path)
    assert [paths for paths in by_digest.values() if len(paths) > 1] == []
