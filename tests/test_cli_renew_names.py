"""One name per field: ``regq submit renew --current-expiry`` is the job's ``current_expiry``
(``--expiry`` is a hidden, deprecated alias), and a renew whose expiry is unknown names
``current_expiry``, the field the caller can send (not ``idempotency_key``). The real binary on a
SQLite store; nothing reaches Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.store import Store

REGQ = str(Path(sys.executable).with_name("regq"))


def regq(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_") and k != "FORCE_COLOR"}
    env = {
        **clean,
        "REGQ_REDIS_URL": "redis://127.0.0.1:1/0",  # the renew is refused before anything is published
        "REGQ_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "COLUMNS": "200",
    }
    return subprocess.run([REGQ, *args], env=env, capture_output=True, text=True, timeout=60)


def test_renew_names_current_expiry_in_the_option_and_the_error(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'cli.db'}")
    store.upgrade()
    store.dispose()
    helped = regq(tmp_path, "submit", "renew", "--help")
    assert "--current-expiry" in helped.stdout and "--expiry " not in helped.stdout, helped.stdout
    unknown = regq(tmp_path, "submit", "renew", "renew-names.com", "--json")
    assert unknown.returncode == 2, unknown.stderr
    (error,) = json.loads(unknown.stdout)["errors"]
    assert error["field"] == "current_expiry" and "give current_expiry" in error["reason"], error
    for option in ("--current-expiry", "--expiry"):
        bad = regq(tmp_path, "submit", "renew", "renew-names.com", option, "2027-13-01")
        assert bad.returncode == 2 and "current_expiry: expected a date YYYY-MM-DD" in bad.stderr, bad.stderr
        assert ("deprecated" in bad.stderr) is (option == "--expiry"), bad.stderr
