"""The Celery configuration is built from Settings when the app needs it, and one router picks every queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from celeryconfig import celery_config
from shared.jobs import JobKind
from shared.settings import load_settings
from tasks.producer import producer_app
from tasks.routing import queue_for

# Run in a fresh interpreter: the app reads its configuration once per process, on first use.
_PROBE = """
import json, tasks.app
from shared.errors import ConfigError
print(json.dumps({"imported": True}), flush=True)
try:
    conf = tasks.app.app.conf
    tasks_ = tasks.app.app.tasks
    print(json.dumps({
        "broker_url": conf.broker_url,
        "sweep": conf.beat_schedule["sweep-stranded-jobs"]["schedule"],
        "rate_limits": {n: t.rate_limit for n, t in tasks_.items() if n.startswith("regq.")},
    }))
except ConfigError as exc:
    print(json.dumps({"config_error": exc.variable}))
"""


def _probe(**env: str) -> list[dict[str, object]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_")}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_importing_the_app_reads_no_setting_and_a_bad_one_fails_on_first_use() -> None:
    imported, used = _probe(REGQ_GANDI_RATE="bogus")
    assert imported == {"imported": True}
    assert used == {"config_error": "REGQ_GANDI_RATE"}


def test_the_worker_app_is_configured_from_the_environment_when_first_used() -> None:
    _, used = _probe(
        REGQ_REDIS_URL="redis://127.0.0.1:6399/4", REGQ_SWEEP_INTERVAL_SECONDS="7", REGQ_TASK_RATE_LIMIT="3/s"
    )
    assert used["broker_url"] == "redis://127.0.0.1:6399/4"
    assert used["sweep"] == 7
    limits = used["rate_limits"]
    assert isinstance(limits, dict)
    registrar_tasks = {"regq.register", "regq.renew", "regq.nameservers"}
    assert {name: limits.get(name) for name in registrar_tasks} == dict.fromkeys(registrar_tasks, "3/s")
    others = {name: limit for name, limit in limits.items() if name not in registrar_tasks}
    assert {"regq.lookup", "regq.sweep"} <= set(others) and set(others.values()) == {None}


@pytest.mark.parametrize(
    ("task", "kwargs", "queue"),
    [
        ("regq.register", {"registrar": "gandi"}, "registrar.gandi"),
        ("regq.renew", {"registrar": "rotld"}, "registrar.rotld"),
        ("regq.nameservers", {"registrar": "rotld"}, "registrar.rotld"),
        ("regq.transfer", {"registrar": "gandi"}, "registrar.gandi"),  # the day-2 kinds: the registrar's
        ("regq.lock", {"registrar": "rotld"}, "registrar.rotld"),
        ("regq.contacts", {"registrar": "gandi"}, "registrar.gandi"),
        ("regq.glue", {"registrar": "rotld"}, "registrar.rotld"),
        ("regq.sync", {"registrar": "gandi"}, "maintenance"),  # bulk reads wait behind no register
        ("regq.lookup", {"registrar": None}, "lookup"),
        ("regq.lookup", {"registrar": "gandi"}, "lookup"),
        ("regq.sweep", {}, "maintenance"),
        ("regq.purge", {}, "maintenance"),
        ("regq.renewal_scan", {}, "maintenance"),
    ],
)
def test_the_router_alone_picks_the_queue(task: str, kwargs: dict[str, str | None], queue: str) -> None:
    app = producer_app(load_settings(redis_url="redis://127.0.0.1:6399/0"))
    route = app.amqp.router.route({}, task, (), {"key": "k", "domain": "example.com", **kwargs})
    assert route["queue"].name == queue
    app.close()


def test_every_job_kind_has_a_queue_and_a_registrar_job_needs_a_registrar() -> None:
    elsewhere = {JobKind.LOOKUP: "lookup", JobKind.SYNC: "maintenance"}
    for kind in JobKind:
        registrar = None if kind is JobKind.LOOKUP else "gandi"
        assert queue_for(kind.value, registrar) == elsewhere.get(kind, "registrar.gandi")
    with pytest.raises(ValueError, match="registrar 'nope'"):
        queue_for("register", "nope")


def test_beat_entries_name_no_queue_and_are_routed_to_maintenance() -> None:
    settings = load_settings(redis_url="redis://127.0.0.1:6399/0")
    config = celery_config(settings)
    router = producer_app(settings).amqp.router
    for name, entry in config["beat_schedule"].items():
        options = dict(entry.get("options", {}))
        assert "queue" not in options, name
        assert router.route(options, entry["task"], (), {})["queue"].name == "maintenance", name
