"""Bad job payloads (issue 14): each is refused naming the field and the reason, nothing crashes, nothing is
stored or published for it, and the valid jobs around it are accepted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import JobValidationError
from shared.jobs import parse_job
from shared.script_policy import name_problem
from shared.settings import load_settings
from shared.store import Store
from tasks.producer import producer_app
from tasks.publish import submit, submit_many
from testkit.bad_input import Bad, bad_domains, bad_owner_fields, bad_payloads, owner_payload
from testkit.factories import person, register
from testkit.faults.broker import queued_kwargs

QUEUES = ("registrar.gandi", "registrar.rotld", "lookup", "maintenance")
#: A refusal's text stays short whatever it was given (a huge value is never echoed).
MAX_REASON = 400


def refused(data: Any) -> JobValidationError:
    try:
        parse_job(data)
    except JobValidationError as exc:
        return exc
    raise AssertionError(f"accepted: {str(data)[:200]}")


def check(bad: Bad, error: JobValidationError) -> None:
    fields = [p.field for p in error.problems]
    assert bad.field in fields, (bad.field, error.problems[:3])
    problem = next(p for p in error.problems if p.field == bad.field)
    assert problem.reason.strip()
    assert len(problem.reason) <= MAX_REASON, problem.reason[:100]
    if bad.reason is not None:
        assert bad.reason.lower() in problem.reason.lower(), problem
    if bad.secret is not None:
        assert bad.secret not in str(error)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_payloads())
def test_a_bad_payload_is_refused_naming_its_field_and_reason(bad: Bad) -> None:
    check(bad, refused(bad.value))
    if isinstance(bad.value, dict):  # the same payload as JSON text (what the API and --file receive)
        check(bad, refused(json.dumps(bad.value)))


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_domains(), st.sampled_from(["register", "renew", "sync"]))
def test_a_bad_name_is_refused_for_every_registrar_job(bad: Bad, kind: str) -> None:
    payload = {**register("example.com"), "domain": bad.value} if kind == "register" else {}
    payload = payload or {"kind": kind, "domain": bad.value}
    check(bad, refused(payload))


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_owner_fields())
def test_a_bad_contact_field_is_refused_without_echoing_personal_data(drawn: tuple[str, Bad]) -> None:
    country, bad = drawn
    check(bad, refused(owner_payload(country, bad.field, bad.value)))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("pаypal.com", "label 'pаypal' (xn--pypal-4ve) mixes scripts Latin and Cyrillic"),
        ("pαypal.com", "label 'pαypal' (xn--pypal-d9d) mixes scripts Latin and Greek"),
        ("аррӏе.com", "is Cyrillic made only of letters that look Latin (it reads as 'apple')"),
        ("한국ひら.com", "mixes scripts Hangul and Hiragana"),
    ],
)
def test_mixed_script_and_confusable_names_are_refused_naming_the_field(name: str, reason: str) -> None:
    error = refused(register(name))
    assert [(p.field, reason in p.reason) for p in error.problems] == [("domain", True)], error.problems


@pytest.mark.parametrize(
    "name",
    [
        "example.com",
        "bücher.com",  # Latin with a diacritic
        "пример.com",  # all Cyrillic, not all look-alikes
        "аррӏе.онлайн",  # look-alikes under a Cyrillic TLD are words (.рф is no TLD regq sells: issue 18)
        "ελληνικά.eu",
        "abc中文.com",  # Latin + Han
        "ラーメン.com",  # Katakana + the prolonged sound mark (Common to both kana)
        "abcひらがな漢字.com",  # Latin + Han + Hiragana (Japanese)
        "한국어abc.com",  # Latin + Han + Hangul set (Korean)
        "中文ㄅ.com",  # Han + Bopomofo
        "exemplu-2.ro",
    ],
)
def test_single_script_and_cjk_combinations_stay_allowed(name: str) -> None:
    assert name_problem(parse_job(register(name)).domain_unicode) is None


def test_lookups_of_any_registered_name_are_not_held_to_the_registration_policy() -> None:
    # A lookup reads what exists (a phishing name included); only names we register are policed.
    assert parse_job({"kind": "lookup", "domain": "pаypal.com"}).domain == "xn--pypal-4ve.com"


@pytest.fixture
def broker(redis_url: str) -> Iterator[tuple[Celery, redis.Redis, str]]:
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}:"
    app = producer_app(load_settings(redis_url=redis_url, broker_key_prefix=prefix))
    client = redis.Redis.from_url(redis_url)
    yield app, client, prefix
    app.close()
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'regq.db'}")
    store.upgrade()
    yield store
    store.dispose()


def test_bad_payloads_reach_no_store_and_no_broker_and_the_good_ones_around_them_go(
    sqlite_store: Store, broker: tuple[Celery, redis.Redis, str]
) -> None:
    app, client, prefix = broker
    payloads: list[Any] = [
        register("first-good.com"),
        register("pаypal.com"),
        register("x" * 70 + ".com"),
        register("xn--a.com"),
        register("example.de"),
        register("ex\x00ample.com"),
        register("huge.com", owner=person(given="A" * 1_000_000)),
        register("nul.com", owner=person(email="ana\x00@example.org")),
        register("second-good.ro"),
        register("bad-cnp.ro", owner=person("RO", cnp="1800101221140")),
        register("bad-phone.com", owner=person(phone="+999.123456")),
        register("bad-country.com", owner=person(country="UK")),
        {"kind": "register", "domain": 42},
        {**register("extra.com"), "colour": "red"},
        "not an object",
        {"kind": "lookup", "domain": "third-good.eu"},
        {"kind": "renew", "domain": "never-held.com"},  # valid, but no expiry known and no key
    ]
    jobs, refusals = [], []
    for index, payload in enumerate(payloads):
        try:
            jobs.append(parse_job(payload))
        except JobValidationError as exc:
            refusals.append((index, exc))
    assert [i for i, _ in refusals] == list(range(1, 8)) + list(range(9, 15))
    answers = submit_many(jobs, store=sqlite_store, app=app)
    accepted = [a.key for a in answers if a.ok]
    assert [a.ok for a in answers] == [True, True, True, False]
    assert accepted[:2] == ["register:first-good.com", "register:second-good.ro"]
    assert isinstance(answers[3].error, JobValidationError)
    assert answers[3].error.problems[0].field == "current_expiry"  # what the caller can send
    with pytest.raises(JobValidationError):
        submit(jobs[3], store=sqlite_store, app=app)
    # Rows and messages: exactly the accepted jobs, nothing for any refused one.
    assert sum(sqlite_store.jobs.counts().values()) == 3
    messages = queued_kwargs(client, prefix, QUEUES)
    assert sorted(m["key"] for m in messages) == sorted(accepted)
    assert {m["domain"] for m in messages} == {"first-good.com", "second-good.ro", "third-good.eu"}
