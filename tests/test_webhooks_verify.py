"""The copyable signature module (``shared/webhooks/signature.py``): its signer against its verifier:
good, tampered body, wrong secret, stale or future ``t``, several ``v1`` values (rotation), malformed
headers; and that the verifier needs nothing but the standard library (receivers copy it)."""

from __future__ import annotations

import ast
import hashlib
import hmac
import sys
from pathlib import Path

import pytest

from shared.store.webhooks import new_secret
from shared.webhooks import signature as verify_module
from shared.webhooks.signature import signature, signature_header, signature_problem, verify

BODY = b'{"event":"job.succeeded","key":"order-17","status":"succeeded"}'
NOW = 1_800_000_000
SECRET = "whsec_current"
OLD = "whsec_previous"


def test_a_good_signature_verifies_and_is_the_documented_hmac() -> None:
    header = signature_header([SECRET], BODY, timestamp=NOW)
    assert verify(BODY, header, SECRET, now=NOW)
    # the README's formula, computed independently: hex HMAC-SHA256(secret, "<t>.<body>")
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"
    assert signature(SECRET, NOW, BODY) == expected


def test_a_tampered_body_or_timestamp_or_wrong_secret_fails() -> None:
    header = signature_header([SECRET], BODY, timestamp=NOW)
    assert signature_problem(BODY + b" ", header, SECRET, now=NOW) == "no v1 signature matches"
    assert not verify(BODY.replace(b"succeeded", b"failed"), header, SECRET, now=NOW)
    assert not verify(BODY, header, "whsec_other", now=NOW)
    moved = header.replace(f"t={NOW}", f"t={NOW + 1}")  # the timestamp is signed too
    assert not verify(BODY, moved, SECRET, now=NOW)


def test_the_tolerance_is_five_minutes_either_way() -> None:
    header = signature_header([SECRET], BODY, timestamp=NOW)
    assert verify(BODY, header, SECRET, now=NOW + 300)
    assert verify(BODY, header, SECRET, now=NOW - 300)  # a receiver's clock a little behind
    stale = signature_problem(BODY, header, SECRET, now=NOW + 301)
    assert stale is not None and "tolerance" in stale
    assert not verify(BODY, header, SECRET, now=NOW - 301)
    assert verify(BODY, header, SECRET, tolerance=3600, now=NOW + 3000)


def test_several_v1_values_and_several_receiver_secrets_for_rotation() -> None:
    both = signature_header([SECRET, OLD], BODY, timestamp=NOW)
    assert both.count("v1=") == 2
    assert verify(BODY, both, SECRET, now=NOW) and verify(BODY, both, OLD, now=NOW)
    assert not verify(BODY, both, "whsec_neither", now=NOW)
    only_old = signature_header([OLD], BODY, timestamp=NOW)
    assert verify(BODY, only_old, [SECRET, OLD], now=NOW)  # a receiver rotating its own
    assert not verify(BODY, only_old, [SECRET], now=NOW)
    # an unknown scheme next to v1 is ignored, not an error
    assert verify(BODY, both + ",v0=abc", SECRET, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "v1=" + "a" * 64,  # no timestamp
        f"t={NOW}",  # no signature
        f"t={NOW},v1=zz",  # not hex
        f"t={NOW},v1={'A' * 64}",  # upper-case hex is not what is sent
        f"t=soon,v1={'a' * 64}",
        f"t={NOW},t={NOW},v1={'a' * 64}",
        f"t={NOW},v1={'a' * 64}," + "x" * 5000,
    ],
)
def test_malformed_headers_are_refused_with_a_reason(header: str | None) -> None:
    problem = signature_problem(BODY, header, SECRET, now=NOW)
    assert problem is not None and ("signature" in problem or "header" in problem)
    assert not verify(BODY, header, SECRET, now=NOW)


def test_the_verifier_is_standard_library_only_and_never_sends_unsigned() -> None:
    tree = ast.parse(Path(verify_module.__file__).read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    imported.discard("__future__")
    assert imported and imported <= set(sys.stdlib_module_names), imported
    with pytest.raises(ValueError):
        signature_header([], BODY)
    fresh = new_secret()
    assert fresh.startswith("whsec_") and len(fresh) > 40 and fresh != new_secret()
