"""Messages on a regq queue that are not ours or are malformed, published raw (issue 14).

Each :class:`BadMessage` carries a unique ``marker`` that the worker's log shows once when the message is
rejected, so a test (or a benchmark) can count how often each one was logged. Nothing here is used by the
product: the worker must cope with these messages on its own.
"""

from __future__ import annotations

import json
import pathlib
import pickle
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery
from kombu import Exchange, Queue

TASK_EXCHANGE = ""  # Celery's default: the queue's name is the routing key


@dataclass(frozen=True)
class BadMessage:
    """One message to publish; ``marker`` appears in the worker's log line about it, ``expect`` is a
    fragment of that line (what the worker says it did)."""

    name: str
    marker: str
    expect: str
    publish: Callable[[Celery, str], None]


class _Touch:
    """Unpickling this creates ``path``: the proof a pickled body was (never) loaded."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (pathlib.Path(self.path).touch, ())  # type: ignore[return-value]


def _headers(task: str, task_id: str) -> dict[str, Any]:
    """Celery protocol 2 headers, as ``send_task`` writes them."""
    return {
        "lang": "py",
        "task": task,
        "id": task_id,
        "root_id": task_id,
        "parent_id": None,
        "group": None,
        "argsrepr": "()",
        "kwargsrepr": "{}",
        "origin": "testkit",
        "retries": 0,
        "eta": None,
        "expires": None,
        "timelimit": [None, None],
    }


def unrouted(app: Celery) -> Celery:
    """A producer like ``app`` without regq's router (which refuses what these messages carry)."""
    raw = Celery("regq-bad-messages", set_as_current=False)
    raw.conf.update(
        broker_url=app.conf.broker_url,
        broker_transport_options=dict(app.conf.broker_transport_options),
        task_serializer="json",
    )
    return raw


def _raw(app: Celery, queue: str, body: bytes, content_type: str, headers: dict[str, Any]) -> None:
    with app.connection_for_write() as connection:
        producer = connection.Producer(exchange=Exchange(TASK_EXCHANGE))
        producer.publish(
            body,
            routing_key=queue,
            content_type=content_type,
            content_encoding="binary" if content_type != "application/json" else "utf-8",
            headers=headers,
            declare=[Queue(queue)],
            serializer=None,
        )


def bad_messages(queue: str, pickle_marker_file: pathlib.Path) -> list[BadMessage]:
    """Every kind of bad message issue 14 names, for a registrar queue (``regq.register`` lives there)."""

    def marker(kind: str) -> str:
        return f"bad-{kind}-{uuid.uuid4().hex[:10]}"

    wrong_args, wrong_types, missing = marker("args"), marker("types"), marker("nokey")
    unknown_task, pickled, garbage, foreign = (
        marker("task"),
        marker("pickle"),
        marker("garbage"),
        marker("foreign"),
    )
    unknown_key = f"no-such-job-{uuid.uuid4().hex[:10]}"
    return [
        BadMessage(
            "wrong task args",
            wrong_args,
            "TypeError",
            lambda app, q: app.send_task("regq.register", args=[1, 2, 3, 4, 5], task_id=wrong_args, queue=q),
        ),
        BadMessage(
            "wrong argument types",
            wrong_types,
            "malformed message (no job key): acked without action",
            lambda app, q: app.send_task(
                "regq.register",
                kwargs={"key": {"not": "a key"}, "domain": 7, "registrar": None},
                task_id=wrong_types,
                queue=q,
            ),
        ),
        BadMessage(
            "no key at all",
            missing,
            "TypeError",
            lambda app, q: app.send_task(
                "regq.register", kwargs={"domain": "x.com", "registrar": "gandi"}, task_id=missing, queue=q
            ),
        ),
        BadMessage(
            "unknown job key",
            unknown_key,
            "acked without action",
            lambda app, q: app.send_task(
                "regq.register",
                kwargs={"key": unknown_key, "domain": "not-ours.com", "registrar": "gandi"},
                queue=q,
            ),
        ),
        BadMessage(
            "unregistered task name",
            unknown_task,
            "unregistered task",
            lambda app, q: app.send_task("regq.explode", kwargs={"key": "k"}, task_id=unknown_task, queue=q),
        ),
        BadMessage(
            "pickle-serialized body",
            pickled,
            "decode",
            lambda app, q: _raw(
                app,
                q,
                pickle.dumps(((_Touch(str(pickle_marker_file)),), {"key": pickled}, {})),
                "application/x-python-serialize",
                _headers("regq.register", pickled),
            ),
        ),
        BadMessage(
            "non-JSON garbage",
            garbage,
            "decode",
            lambda app, q: _raw(
                app,
                q,
                b"\xff\x00{not json " + garbage.encode(),
                "application/json",
                _headers("regq.register", garbage),
            ),
        ),
        BadMessage(
            "not a Celery message",
            foreign,
            "unknown message",
            lambda app, q: _raw(
                app, q, json.dumps({"hello": foreign}).encode(), "application/json", {"x-from": "elsewhere"}
            ),
        ),
    ]


def queue_state(client: redis.Redis, prefix: str, queue: str) -> dict[str, int]:
    """What the Redis transport still holds: the queue's length and the unacked (delivered, not yet
    acknowledged) messages, which it would redeliver after the visibility timeout."""
    return {
        "queued": int(client.llen(f"{prefix}{queue}")),
        "unacked": int(client.hlen(f"{prefix}unacked")),
        "unacked_index": int(client.zcard(f"{prefix}unacked_index")),
    }


#: The start of a Celery worker log record: ``[2026-12-03 06:38:27,080: ERROR/MainProcess] ...``.
_RECORD = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: (\w+)/[^\]]*\] ", re.M)


def log_records(text: str) -> list[tuple[str, str]]:
    """(level, text) of every record of a worker log; a record's continuation lines (a traceback, the
    message body Celery prints) stay with it."""
    starts = list(_RECORD.finditer(text))
    return [
        (match.group(1), text[match.start() : starts[i + 1].start() if i + 1 < len(starts) else len(text)])
        for i, match in enumerate(starts)
    ]
