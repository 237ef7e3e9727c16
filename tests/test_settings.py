"""Settings: defaults, parsing, and a clear error naming the variable on a bad value."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.ratelimit.rate import Rate
from shared.settings import get_settings, load_settings


def test_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REGQ_GANDI_RATE", "REGQ_BROKER_URL", "REGQ_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert s.gandi_api_url == "https://api.gandi.net/v5" and s.rotld_api_url == "https://rest2.rotld.ro:6080"
    assert s.gandi_rate == Rate(1000, 60) and s.breaker_failures == 15 and s.breaker_reset_seconds == 60
    assert (s.breaker_window_calls, s.breaker_min_calls, s.breaker_failure_rate) == (100, 50, 50.0)
    assert s.whois_iana_server == ("whois.iana.org", 43) and s.outbound_allow_private is False
    assert s.database_url.startswith("sqlite:///var/")


def test_broker_defaults_to_the_redis_url_and_amqp_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGQ_REDIS_URL", "redis://127.0.0.1:6379/3")
    assert load_settings().effective_broker_url == "redis://127.0.0.1:6379/3"
    monkeypatch.setenv("REGQ_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    assert load_settings().effective_broker_url.startswith("amqp://")


def test_lists_and_maps_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGQ_WHOIS_SERVERS", "ro=whois.rotld.ro, whois.eu=127.0.0.1:4343")
    monkeypatch.setenv("REGQ_DNS_NAMESERVERS", "127.0.0.1:5353,[::1]:53,9.9.9.9")
    monkeypatch.setenv("REGQ_ROTLD_RATE", "300/m")
    s = load_settings()
    assert s.whois_servers == {"ro": ("whois.rotld.ro", 43), "whois.eu": ("127.0.0.1", 4343)}
    assert s.dns_nameservers == [("127.0.0.1", 5353), ("::1", 53), ("9.9.9.9", 53)]
    assert s.rotld_rate.per_second == 5


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("REGQ_GANDI_RATE", "fast", "expected a rate like '20/s'"),
        ("REGQ_ROTLD_BURST", "0", "greater than or equal to 1"),
        ("REGQ_BREAKER_FAILURES", "five", "valid integer"),
        ("REGQ_WHOIS_SERVERS", "ro", "name=host[:port]"),
        ("REGQ_DNS_NAMESERVERS", "1.1.1.1:dns", "port must be a number"),
        ("REGQ_OUTBOUND_ALLOW_PRIVATE", "perhaps", "boolean"),
        ("REGQ_MAX_COUNTDOWN_SECONDS", "3000", "visibility timeout"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.variable == variable
    assert fragment in info.value.reason


def test_settings_are_read_when_asked_for_not_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGQ_GANDI_BURST", "3")
    first = get_settings()
    assert first.gandi_burst == 3 and get_settings() is first  # parsed once while nothing changes
    monkeypatch.setenv("REGQ_GANDI_BURST", "4")  # no reset needed: a changed variable is read again
    assert get_settings().gandi_burst == 4
    monkeypatch.setenv("REGQ_GANDI_BURST", "none")
    with pytest.raises(ConfigError) as info:
        get_settings()
    assert info.value.variable == "REGQ_GANDI_BURST"


def test_the_countdown_is_checked_against_the_configured_visibility_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REGQ_VISIBILITY_TIMEOUT_SECONDS", "8000")
    monkeypatch.setenv("REGQ_MAX_COUNTDOWN_SECONDS", "2000")  # above a quarter of the default 3600
    assert load_settings().max_countdown_seconds == 2000
    monkeypatch.setenv("REGQ_VISIBILITY_TIMEOUT_SECONDS", "600")
    monkeypatch.setenv("REGQ_MAX_COUNTDOWN_SECONDS", "300")  # below a quarter of the default
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.variable == "REGQ_MAX_COUNTDOWN_SECONDS" and "600 s" in info.value.reason
