"""What a Redis broker holds for a set of jobs: the keys of messages queued or fetched-but-unacked."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

import redis


def task_kwargs(message: dict[str, Any]) -> dict[str, Any]:
    """The kwargs of a Celery task message (protocol 2, JSON, base64 body) as the Redis transport holds it."""
    kwargs: dict[str, Any] = json.loads(base64.b64decode(message["body"]))[1]
    return kwargs


def queued_kwargs(client: redis.Redis, key_prefix: str, queues: Iterable[str]) -> list[dict[str, Any]]:
    """The kwargs of every message waiting in ``queues``, queue by queue, in list order."""
    return [
        task_kwargs(json.loads(raw))
        for queue in queues
        for raw in client.lrange(f"{key_prefix}{queue}", 0, -1)
    ]


def _job_key(raw: bytes | str) -> str | None:
    """The job key a task message carries (its body's kwargs), or None for anything else."""
    try:
        envelope: Any = json.loads(raw)
        message = envelope[0] if isinstance(envelope, list) else envelope  # unacked entries: [msg, ...]
        key = task_kwargs(message).get("key")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return key if isinstance(key, str) else None


def held_keys(redis_url: str, key_prefix: str, queues: Iterable[str]) -> dict[str, set[str]]:
    """``{"queued": keys, "unacked": keys}``: job keys whose message is waiting in one of ``queues`` or
    was delivered to a worker that has not acked it yet (``key_prefix`` is REGQ_BROKER_KEY_PREFIX)."""
    client = redis.Redis.from_url(redis_url)
    try:
        queued: set[str] = set()
        for queue in queues:
            for raw in client.lrange(f"{key_prefix}{queue}", 0, -1):
                if (key := _job_key(raw)) is not None:
                    queued.add(key)
        unacked = {k for raw in client.hvals(f"{key_prefix}unacked") if (k := _job_key(raw)) is not None}
    finally:
        client.close()
    return {"queued": queued, "unacked": unacked}
