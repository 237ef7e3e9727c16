"""API tokens (issue 21): an expiry (``--expires-in``) that makes a token answer 401 like an unknown one,
rotation of the webhook signing secret (old and new both sign for the window, then only the new one),
``--json`` on create and rotate-secret (secrets on stdout, nothing else there), and the embedded stack
(``make up``/``make demo``) revoking the token it made when it stops: against a real ``regq api`` process
and a real HTTP receiver."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from typer.testing import CliRunner

from shared.durations import parse_duration
from shared.jobs import JobStatus, parse_job
from shared.settings import load_settings
from shared.store import Store
from shared.store.schema import ApiTokenRow, utcnow
from shared.webhooks.outbound.dispatcher import Dispatcher
from shared.webhooks.signature import verify
from testkit.factories import register
from testkit.stacks import running_stack
from testkit.webhook_receiver import Receiver, running_receiver
from workers.cli import app as cli_app

runner = CliRunner()


def _cli(*args: str) -> Any:
    return runner.invoke(cli_app, list(args))


def _name() -> str:
    return f"tok-{uuid.uuid4().hex[:8]}"


def _backdate(store: Store, name: str, **values: Any) -> None:
    """Move a token's expiry or rotation window into the past (what the clock would do, now)."""
    with store.db.session() as session:
        session.execute(sa.update(ApiTokenRow).where(ApiTokenRow.name == name).values(**values))


# --- durations ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("45s", 45), ("2w", 14 * 86400), ("1d12h", 129600)],
)
def test_durations_as_typed(text: str, seconds: int) -> None:
    assert parse_duration(text, "--expires-in") == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("30", "not a duration"),
        ("d", "not a duration"),
        ("-1d", "not a duration"),
        ("1.5h", "not a duration"),
        ("1 d", "not a duration"),
        ("0s", "shorter than the minimum"),
        ("4000d", "longer than the maximum"),
    ],
)
def test_a_bad_duration_names_the_field_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^--expires-in: .*{reason}"):
        parse_duration(text, "--expires-in")


# --- the store: expiry and rotation (SQLite and Postgres) ---------------------------------------------------
def test_an_expired_token_is_refused_and_listed_as_expired(store: Store) -> None:
    forever, _ = store.api_tokens.create("forever", ["read"])
    record, secret = store.api_tokens.create("brief", ["read"], expires_in=timedelta(hours=12))
    assert forever.expires_at is None and record.expires_at is not None
    assert timedelta(hours=11, minutes=59) < record.expires_at - utcnow() <= timedelta(hours=12)
    found = store.api_tokens.verify(secret)
    assert found is not None and found.name == "brief" and found.active
    _backdate(store, "brief", expires_at=utcnow() - timedelta(seconds=1))
    assert store.api_tokens.verify(secret) is None
    [brief] = [t for t in store.api_tokens.all() if t.name == "brief"]
    assert brief.expired() and not brief.active and brief.revoked_at is None
    with pytest.raises(ValueError, match="expires in"):
        store.api_tokens.create("never-born", ["read"], expires_in=timedelta(0))


def test_rotation_keeps_the_old_secret_for_the_window_only(store: Store) -> None:
    store.api_tokens.create("panel", ["submit"])
    old = store.api_tokens.webhook_secret("panel")
    assert old is not None and store.api_tokens.signing_secrets("panel") == [old]
    rotated = store.api_tokens.rotate_secret("panel", timedelta(hours=24))
    assert rotated is not None
    token, new = rotated
    assert new.startswith("whsec_") and new != old and store.api_tokens.webhook_secret("panel") == new
    assert token.previous_secret_until is not None
    assert store.api_tokens.signing_secrets("panel") == [new, old]
    assert store.api_tokens.signing_secrets("panel", now=token.previous_secret_until) == [new]
    _backdate(store, "panel", previous_secret_until=utcnow() - timedelta(seconds=1))
    assert store.api_tokens.signing_secrets("panel") == [new]
    assert store.api_tokens.rotate_secret("nobody", timedelta(hours=1)) is None
    # a window of 0: the replaced secret stops signing at once
    _token, newest = store.api_tokens.rotate_secret("panel", timedelta(0)) or (None, "")
    assert store.api_tokens.signing_secrets("panel") == [newest]


# --- rotation, as a receiver sees it ------------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def _deliver_one(store: Store, url: str, token: str) -> bytes:
    """A job submitted with ``token`` finishes; one dispatcher attempt: the header it signed."""
    key = f"rot-{uuid.uuid4().hex[:8]}"
    store.jobs.create(key, parse_job(register(f"{key}.com", callback_url=url)).submitted_as(token))
    store.jobs.claim(key, "w1", 30)
    store.jobs.finish(key, "w1", JobStatus.SUCCEEDED, {"expires_at": "2027-12-03"})
    dispatcher = Dispatcher(store, load_settings(webhook_allow_private=True, webhook_secret=None))
    try:
        assert dispatcher.sweep() == {"delivered": 1}
    finally:
        dispatcher.close()
    return key.encode()


def test_during_the_window_webhooks_verify_with_old_and_new_secret_after_it_only_new(
    tmp_path: Path, receiver: Receiver
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'regq.db'}")
    store.upgrade()
    try:
        store.api_tokens.create("panel", ["submit"])
        old = store.api_tokens.webhook_secret("panel")
        assert old is not None
        _token, new = store.api_tokens.rotate_secret("panel", timedelta(hours=1)) or (None, "")

        key = _deliver_one(store, receiver.url, "panel").decode()
        during = receiver.wait_for_key(key, 5)
        header = during.headers["Regq-Signature"]
        assert header.count("v1=") == 2
        assert verify(during.body, header, old) and verify(during.body, header, new)
        assert verify(during.body, header, [new, "whsec_unrelated"])
        assert not verify(during.body, header, "whsec_unrelated")

        _backdate(store, "panel", previous_secret_until=utcnow() - timedelta(seconds=1))
        key = _deliver_one(store, receiver.url, "panel").decode()
        after = receiver.wait_for_key(key, 5)
        header = after.headers["Regq-Signature"]
        assert header.count("v1=") == 1
        assert verify(after.body, header, new) and not verify(after.body, header, old)
    finally:
        store.dispose()


# --- the CLI: --expires-in, --json, list, rotate-secret ----------------------------------------------
def test_create_and_rotate_print_json_on_stdout_and_list_shows_expiry(cli_env: dict[str, str]) -> None:
    name = _name()
    created = _cli("api-token", "create", name, "--expires-in", "12h", "--json")
    assert created.exit_code == 0, created.output
    made = json.loads(created.stdout)
    assert set(made) == {"name", "token", "signing_secret", "expires_at"}
    assert made["name"] == name and made["token"].startswith("regq_")
    assert made["signing_secret"].startswith("whsec_") and made["expires_at"] is not None
    store = Store(cli_env["REGQ_DATABASE_URL"])
    try:
        assert store.api_tokens.verify(made["token"]) is not None
        assert store.api_tokens.webhook_secret(name) == made["signing_secret"]

        rotated = _cli("api-token", "rotate-secret", name, "--window", "1h", "--json")
        assert rotated.exit_code == 0, rotated.output
        turn = json.loads(rotated.stdout)
        assert turn["name"] == name and turn["token"] is None and turn["expires_at"] == made["expires_at"]
        assert (
            turn["signing_secret"].startswith("whsec_") and turn["signing_secret"] != made["signing_secret"]
        )
        assert turn["previous_secret_valid_until"] is not None
        assert store.api_tokens.signing_secrets(name) == [turn["signing_secret"], made["signing_secret"]]

        plain = _cli("api-token", "rotate-secret", name, "--window", "0s")
        assert plain.exit_code == 0, plain.output
        assert plain.stdout.strip() == store.api_tokens.webhook_secret(name)  # stdout: the secret, only

        listed = {r["name"]: r for r in json.loads(_cli("api-token", "list", "--json").stdout)}
        assert listed[name]["expires_at"] == made["expires_at"] and listed[name]["state"] == "active"
        _backdate(store, name, expires_at=utcnow() - timedelta(minutes=1))
        listed = {r["name"]: r for r in json.loads(_cli("api-token", "list", "--json").stdout)}
        assert listed[name]["state"] == "expired" and listed[name]["revoked_at"] is None
        table = _cli("api-token", "list")
        assert table.exit_code == 0 and "expired" in table.stdout
        assert made["token"] not in table.stdout and made["signing_secret"] not in table.stdout
    finally:
        store.dispose()


def test_plain_create_keeps_the_token_alone_on_stdout(cli_env: dict[str, str]) -> None:
    created = _cli("api-token", "create", _name(), "--expires-in", "30d")
    assert created.exit_code == 0, created.output
    assert created.stdout.strip().startswith("regq_") and len(created.stdout.split()) == 1
    said = " ".join(created.stderr.split())  # rich wraps at the console's width
    assert "; expires 20" in said and "not shown again): whsec_" in said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "x-bad", "--expires-in", "30"], "--expires-in: '30' is not a duration"),
        (["create", "x-bad", "--expires-in", "0m"], "--expires-in: '0m' is shorter than the minimum"),
        (["rotate-secret", "x-bad", "--window", "soon"], "--window: 'soon' is not a duration"),
        (["rotate-secret", "nobody-here"], "no API token named 'nobody-here'"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    cli_env: dict[str, str], args: list[str], message: str
) -> None:
    answer = _cli("api-token", *args)
    assert answer.exit_code == 1 and answer.stdout == ""
    assert message in " ".join(answer.stderr.split())


# --- against a real regq api: expiry is a 401 like any bad token; the stack revokes its own token -----------
def test_an_expired_token_answers_401_like_an_unknown_one_and_the_stack_revokes_its_token(
    redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    store = Store(postgres_url)
    store.upgrade()
    try:
        with running_stack(redis_url, postgres_url, tmp_path, groups=(), api=True) as stack:
            assert stack.api_url is not None and stack.api_token and stack.api_token_name

            def get(token: str) -> requests.Response:
                return requests.get(
                    f"{stack.api_url}/v1/jobs/no-such-job",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )

            assert get(stack.api_token).status_code == 404  # the stack's token works while it runs
            name = _name()
            _record, secret = store.api_tokens.create(name, ["read"], expires_in=timedelta(hours=1))
            assert get(secret).status_code == 404
            _backdate(store, name, expires_at=utcnow() - timedelta(seconds=1))
            expired, unknown = get(secret), get("regq_" + "x" * 43)
            assert expired.status_code == unknown.status_code == 401
            assert expired.json() == unknown.json()
            assert expired.headers.get("WWW-Authenticate") == unknown.headers.get("WWW-Authenticate")
            assert secret not in expired.text
            stack_token, stack_name = stack.api_token, stack.api_token_name
        # stopped: the token it made is revoked (make up / make demo stop through Stack.stop)
        assert store.api_tokens.verify(stack_token) is None
        [row] = [t for t in store.api_tokens.all() if t.name == stack_name]
        assert row.revoked_at is not None
        assert stack.api_token_name is None  # a second stop has nothing left to revoke
    finally:
        store.dispose()


def test_a_stack_whose_start_fails_revokes_the_token_it_made(
    redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    from workers.embedded.stack import Stack

    store = Store(postgres_url)
    store.upgrade()
    before = {t.name for t in store.api_tokens.all()}
    env = {"REGQ_REDIS_URL": redis_url, "REGQ_DATABASE_URL": postgres_url}
    # the API fails to start after the token is made: start() stops what it started, the token too
    stack = Stack(var_dir=tmp_path, groups=(), beat=False, flower=False, api=True, extra_env=env)
    original = stack._spawn

    def failing_spawn(name: str, args: list[str], **kwargs: Any) -> Any:
        if name == "api":
            raise RuntimeError("the API did not start")
        return original(name, args, **kwargs)

    stack._spawn = failing_spawn  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="the API did not start"):
            stack.start()
        made = [t for t in store.api_tokens.all() if t.name not in before and t.name.startswith("stack-")]
        assert len(made) == 1 and made[0].revoked_at is not None
        assert not stack.children  # the sandbox it had started is stopped too
    finally:
        store.dispose()
