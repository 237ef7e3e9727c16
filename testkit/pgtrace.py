"""Counting what a libpq protocol trace (``PGconn.trace``) shows: round trips and synchronous commits.

Shared by ``bench.api_costs`` (per-request costs of ``POST /v1/jobs``) and ``tests/test_store_hot_path.py``
(the producer's hot path stays one round trip per unit): tests and benchmarks never import each other.

A round trip is a frontend message that waits for the server's answer: a simple ``Query`` (BEGIN, COMMIT,
ROLLBACK, a ping) or the ``Sync`` closing an extended-protocol statement. A synchronous commit (a WAL
flush waited for) is a COMMIT after a write, or a write statement in autocommit, unless its transaction
turned ``synchronous_commit`` off.
"""

from __future__ import annotations

import re
from collections import Counter

_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b")


def count_trace(text: str) -> Counter[str]:
    """Round trips and synchronous commits in a libpq trace (one line a protocol message)."""
    counts: Counter[str] = Counter()
    in_transaction = written = relaxed = False
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 4 or parts[1] != "F":
            continue
        message, rest = parts[3], (parts[4] if len(parts) > 4 else "").upper()
        if message not in ("Sync", "Query", "Parse"):
            continue
        if message != "Parse":
            counts["round_trips"] += 1
        control = rest.strip().strip('"').split(" ")[0] if message == "Query" else ""
        if control == "BEGIN":
            counts["begin"] += 1
            in_transaction, written, relaxed = True, False, False
        elif control in ("COMMIT", "ROLLBACK"):
            counts[control.lower()] += 1
            counts["sync_commits"] += control == "COMMIT" and written and not relaxed
            in_transaction = written = relaxed = False
        elif message in ("Parse", "Query"):  # a statement (Parse: extended protocol, its Sync follows)
            if _WRITE.search(rest):
                counts["writes"] += 1
                written, relaxed = True, relaxed or "SYNCHRONOUS_COMMIT" in rest
        if not in_transaction and message != "Parse" and control not in ("COMMIT", "ROLLBACK"):
            counts["sync_commits"] += written and not relaxed  # an autocommit write ends here
            written = relaxed = False
    return counts
