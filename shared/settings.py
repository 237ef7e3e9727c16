"""Runtime settings from ``REGQ_*`` environment variables (pydantic-settings), and below them from the
settings file of an embedded stack running in the current directory (``var/stack.env``, which ``make up``
writes and removes: :func:`stack_file`), so a second terminal's ``regq`` reaches that stack.

A bad value fails at start-up with :class:`~shared.errors.ConfigError` naming the variable and what is
expected. Defaults live in :mod:`shared.defaults`.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from shared import defaults
from shared.errors import ConfigError
from shared.names import Registrar, normalise_tld, special_use
from shared.ratelimit.rate import Rate

ENV_PREFIX = "REGQ_"
#: Names the running embedded stack's settings file (:func:`stack_file`); empty: read none.
STACK_FILE_VARIABLE = f"{ENV_PREFIX}STACK_FILE"
#: The line of the stack file naming the process that wrote it (a file whose writer is gone is stale).
STACK_PID_VARIABLE = f"{ENV_PREFIX}STACK_PID"


def stack_file(path: Path | None = None) -> Path | None:
    """The settings file of an embedded stack running now (``make up``; written by
    ``workers/embedded/stack_file.py``), or None.

    The file is ``path``, else REGQ_STACK_FILE, else ``var/stack.env`` under the current directory (where
    ``make up`` runs); REGQ_STACK_FILE set but empty means none. A file whose writer (its REGQ_STACK_PID
    line) is no longer running is the leftover of a killed stack, and is ignored: its ports are gone.
    """
    named = os.environ.get(STACK_FILE_VARIABLE)
    if path is None and named == "":
        return None
    path = path or Path(named or defaults.STACK_FILE)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    pids = [
        line.partition("=")[2].strip().strip("'\"")
        for line in text.splitlines()
        if line.startswith(f"{STACK_PID_VARIABLE}=")
    ]
    if not pids or not pids[0].isdigit() or not _running(int(pids[0])):
        return None
    return path


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def _rate(value: Any) -> Rate:
    return value if isinstance(value, Rate) else Rate.parse(str(value))


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"expected host[:port], got {text!r}")
    if port and not port.isdigit():
        raise ValueError(f"port must be a number in {text!r}")
    return host, int(port) if port else default_port


def _nameservers(value: Any) -> list[tuple[str, int]]:
    if isinstance(value, list):
        return [v if isinstance(v, tuple) else _host_port(str(v), 53) for v in value]
    return [_host_port(item, 53) for item in str(value).split(",") if item.strip()]


def _whois_servers(value: Any) -> dict[str, tuple[str, int]]:
    if isinstance(value, dict):
        return {k: v if isinstance(v, tuple) else _host_port(str(v), 43) for k, v in value.items()}
    result: dict[str, tuple[str, int]] = {}
    for item in str(value).split(","):
        if not item.strip():
            continue
        name, sep, target = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected name=host[:port], got {item.strip()!r}")
        result[name.strip().lower().lstrip(".")] = _host_port(target, 43)
    return result


def _tlds_extra(value: Any) -> dict[str, str]:
    """REGQ_TLDS_EXTRA ``registrar:tld,...`` as {TLD: registrar}: a known registrar, a TLD (A-label form),
    never a special-use one, each TLD once."""
    items: list[tuple[str, str]] = []
    if isinstance(value, dict):
        items = [(str(registrar), str(tld)) for tld, registrar in value.items()]
    else:
        for item in str(value or "").split(","):
            registrar, sep, tld = item.partition(":")
            if item.strip() and not sep:
                raise ValueError(f"expected registrar:tld, got {item.strip()[:40]!r}")
            if item.strip():
                items.append((registrar, tld))
    known = sorted(r.value for r in Registrar)
    extra: dict[str, str] = {}
    for registrar, raw in items:
        name = registrar.strip().lower()
        if name not in known:
            raise ValueError(f"unknown registrar {name[:20]!r} (known: {', '.join(known)})")
        tld = normalise_tld(raw)
        why = special_use(tld)
        if why is not None:
            raise ValueError(f".{tld} is a special-use name ({why}): no registrar can sell it")
        if extra.setdefault(tld, name) != name:
            raise ValueError(f".{tld} is given to two registrars")
    return extra


RateSetting = Annotated[Rate, BeforeValidator(_rate), NoDecode]


class Settings(BaseSettings):
    """All of regq's configuration. Field ``x`` is read from ``REGQ_X``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Where values come from, first wins: arguments, the environment, then the file of an embedded
        stack running here (:func:`stack_file`: what a second terminal's ``regq`` needs to reach
        ``make up``'s Redis, database and sandbox upstreams), then the defaults."""
        path = stack_file()
        stack = (DotEnvSettingsSource(settings_cls, env_file=path),) if path is not None else ()
        return (init_settings, env_settings, *stack, dotenv_settings, file_secret_settings)

    redis_url: str | None = Field(None, description="Redis for limiter, breaker, caches; unset = embedded")
    broker_url: str | None = Field(None, description="Celery broker; default: the Redis URL; amqp:// works")
    database_url: str = Field(defaults.DATABASE_URL, description="SQLAlchemy URL (Postgres in production)")
    redis_prefix: str = Field(defaults.REDIS_PREFIX, description="prefix of every Redis key regq writes")
    broker_key_prefix: str = Field("", description="kombu global_keyprefix: several fleets on one Redis")

    gandi_api_url: str = defaults.GANDI_API_URL
    gandi_token: SecretStr | None = None
    gandi_sharing_id: str | None = None
    rotld_api_url: str = defaults.ROTLD_API_URL
    rotld_user: str | None = None
    rotld_password: SecretStr | None = None
    rotld_ca_bundle: str | None = None  # PEM file of a private CA for the ROTLD endpoint; TLS stays verified

    gandi_rate: RateSetting = Field(Rate.parse(defaults.GANDI_RATE))
    gandi_burst: int = Field(defaults.GANDI_BURST, ge=1)
    rotld_rate: RateSetting = Field(Rate.parse(defaults.ROTLD_RATE))
    rotld_burst: int = Field(defaults.ROTLD_BURST, ge=1)
    rdap_rate: RateSetting = Field(Rate.parse(defaults.RDAP_RATE))
    rdap_burst: int = Field(defaults.RDAP_BURST, ge=1)
    whois_rate: RateSetting = Field(Rate.parse(defaults.WHOIS_RATE))
    whois_burst: int = Field(defaults.WHOIS_BURST, ge=1)
    task_rate_limit: str = defaults.TASK_RATE_LIMIT

    breaker_failures: int = Field(defaults.BREAKER_FAILURES, ge=1)
    breaker_window_calls: int = Field(defaults.BREAKER_WINDOW_CALLS, ge=0, le=1000)
    breaker_min_calls: int = Field(defaults.BREAKER_MIN_CALLS, ge=1)
    breaker_failure_rate: float = Field(defaults.BREAKER_FAILURE_RATE, gt=0, le=100)
    breaker_reset_seconds: float = Field(defaults.BREAKER_RESET_SECONDS, gt=0)
    breaker_probes: int = Field(defaults.BREAKER_PROBES, ge=1)
    breaker_probe_timeout_seconds: float = Field(defaults.BREAKER_PROBE_TIMEOUT_SECONDS, gt=0)

    rdap_bootstrap_url: str = defaults.RDAP_BOOTSTRAP_URL
    whois_iana_server: Annotated[tuple[str, int], NoDecode] = _host_port(defaults.WHOIS_IANA_SERVER, 43)
    whois_servers: Annotated[dict[str, tuple[str, int]], NoDecode] = Field(default_factory=dict)
    dns_nameservers: Annotated[list[tuple[str, int]], NoDecode] = Field(default_factory=list)
    dns_timeout_seconds: float = Field(defaults.DNS_TIMEOUT_SECONDS, gt=0)
    lookup_domain_ttl_seconds: float = Field(defaults.LOOKUP_DOMAIN_TTL_SECONDS, gt=0)
    lookup_ns_ttl_seconds: float = Field(defaults.LOOKUP_NS_TTL_SECONDS, gt=0)
    lookup_ipreg_ttl_seconds: float = Field(defaults.LOOKUP_IPREG_TTL_SECONDS, gt=0)
    lookup_negative_ttl_seconds: float = Field(defaults.LOOKUP_NEGATIVE_TTL_SECONDS, gt=0)
    lookup_flight_lease_seconds: float = Field(defaults.LOOKUP_FLIGHT_LEASE_SECONDS, gt=0)
    lookup_flight_wait_seconds: float = Field(defaults.LOOKUP_FLIGHT_WAIT_SECONDS, gt=0)

    outbound_allow_private: bool = defaults.OUTBOUND_ALLOW_PRIVATE
    connect_timeout_seconds: float = Field(defaults.CONNECT_TIMEOUT_SECONDS, gt=0)
    read_timeout_seconds: float = Field(defaults.READ_TIMEOUT_SECONDS, gt=0)
    read_deadline_seconds: float = Field(defaults.READ_DEADLINE_SECONDS, gt=0)
    http_tries: int = Field(defaults.HTTP_TRIES, ge=1, le=10)
    gandi_visibility_wait_seconds: float = Field(defaults.GANDI_VISIBILITY_WAIT_SECONDS, ge=0)

    max_attempts: int = Field(defaults.MAX_ATTEMPTS, ge=1)
    max_inline_wait_ms: int = Field(defaults.MAX_INLINE_WAIT_MS, ge=0)
    # the visibility timeout before the countdown: the countdown's check reads it
    visibility_timeout_seconds: int = Field(defaults.VISIBILITY_TIMEOUT_SECONDS, ge=60)
    max_countdown_seconds: int = Field(defaults.MAX_COUNTDOWN_SECONDS, ge=1)
    lease_seconds: float = Field(defaults.LEASE_SECONDS, gt=0)
    sweep_interval_seconds: float = Field(defaults.SWEEP_INTERVAL_SECONDS, gt=0)
    republish_grace_seconds: float = Field(defaults.REPUBLISH_GRACE_SECONDS, gt=0)
    republish_after_seconds: float = Field(defaults.REPUBLISH_AFTER_SECONDS, gt=0)
    retention_days: int = Field(defaults.RETENTION_DAYS, ge=1)
    retry_backoff_seconds: float = Field(defaults.RETRY_BACKOFF_SECONDS, gt=0)
    renew_window_days: int = Field(defaults.RENEW_WINDOW_DAYS, ge=1)
    transfer_follow_seconds: float = Field(defaults.TRANSFER_FOLLOW_SECONDS, gt=0)
    transfer_max_days: float = Field(defaults.TRANSFER_MAX_DAYS, gt=0)
    renewal_scan_cron: str = defaults.RENEWAL_SCAN_CRON  # celeryconfig parses it into a crontab

    api_rate: RateSetting = Field(Rate.parse(defaults.API_RATE), description="per API token, fleet-wide")
    api_burst: int = Field(defaults.API_BURST, ge=1)
    api_max_body_bytes: int = Field(defaults.API_MAX_BODY_BYTES, ge=1024)
    api_max_batch_bytes: int = Field(defaults.API_MAX_BATCH_BYTES, ge=1024)
    api_auth_failure_rate: RateSetting = Field(
        Rate.parse(defaults.API_AUTH_FAILURE_RATE), description="failed authentications per source address"
    )
    api_auth_failure_burst: int = Field(defaults.API_AUTH_FAILURE_BURST, ge=1)
    # Completion webhooks. webhook_secret: the fleet's signing secret(s) for jobs submitted without an
    # API token (comma-separated while rotating: each signs, one v1 value each); a token signs with its own.
    webhook_allow_private: bool = defaults.WEBHOOK_ALLOW_PRIVATE
    webhook_secret: SecretStr | None = None
    webhook_connect_timeout_seconds: float = Field(defaults.WEBHOOK_CONNECT_TIMEOUT_SECONDS, gt=0)
    webhook_read_timeout_seconds: float = Field(defaults.WEBHOOK_READ_TIMEOUT_SECONDS, gt=0)
    webhook_max_response_bytes: int = Field(defaults.WEBHOOK_MAX_RESPONSE_BYTES, ge=0)
    webhook_retry_base_seconds: float = Field(defaults.WEBHOOK_RETRY_BASE_SECONDS, gt=0)
    webhook_retry_max_seconds: float = Field(defaults.WEBHOOK_RETRY_MAX_SECONDS, gt=0)
    webhook_retry_horizon_seconds: float = Field(defaults.WEBHOOK_RETRY_HORIZON_SECONDS, gt=0)
    webhook_sweep_interval_seconds: float = Field(defaults.WEBHOOK_SWEEP_INTERVAL_SECONDS, gt=0)
    gandi_webhook_secret: SecretStr | None = None  # signs POST /v1/hooks/gandi; unset: that hook is off
    rotld_webhook_secret: SecretStr | None = None  # signs POST /v1/hooks/rotld; unset: that hook is off
    hook_tolerance_seconds: float = Field(defaults.HOOK_TOLERANCE_SECONDS, gt=0)
    hook_rate: RateSetting = Field(Rate.parse(defaults.HOOK_RATE), description="per source address")
    hook_burst: int = Field(defaults.HOOK_BURST, ge=1)
    # The TLD catalogue (shared/tlds): ``registrar:tld,...`` sold besides the registrars' lists, and
    # ``tld,...`` refused although listed. A special-use name in the first is a ConfigError.
    tlds_extra: Annotated[dict[str, str], NoDecode] = Field(defaults.TLDS_EXTRA, validate_default=True)
    tlds_deny: Annotated[tuple[str, ...], NoDecode] = Field(defaults.TLDS_DENY, validate_default=True)

    @field_validator("tlds_extra", mode="before")
    @classmethod
    def _parse_tlds_extra(cls, value: Any) -> dict[str, str]:
        return _tlds_extra(value)

    @field_validator("tlds_deny", mode="before")
    @classmethod
    def _parse_tlds_deny(cls, value: Any, info: ValidationInfo) -> tuple[str, ...]:
        items = value if isinstance(value, list | tuple) else str(value or "").split(",")
        deny = tuple(sorted({normalise_tld(item) for item in items if str(item).strip()}))
        both = sorted(set(deny) & set(info.data.get("tlds_extra") or {}))
        if both:
            raise ValueError(f".{both[0]} is also in REGQ_TLDS_EXTRA: give it in one of them")
        return deny

    @field_validator("whois_iana_server", mode="before")
    @classmethod
    def _parse_iana(cls, value: Any) -> tuple[str, int]:
        return value if isinstance(value, tuple) else _host_port(str(value), 43)

    @field_validator("whois_servers", mode="before")
    @classmethod
    def _parse_whois(cls, value: Any) -> dict[str, tuple[str, int]]:
        return _whois_servers(value)

    @field_validator("dns_nameservers", mode="before")
    @classmethod
    def _parse_ns(cls, value: Any) -> list[tuple[str, int]]:
        return _nameservers(value)

    @field_validator("renewal_scan_cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {value!r}")
        return " ".join(value.split())

    @field_validator("max_countdown_seconds")
    @classmethod
    def _countdown_below_visibility(cls, value: int, info: ValidationInfo) -> int:
        """At most a quarter of the configured REGQ_VISIBILITY_TIMEOUT_SECONDS (not checked when that one
        is invalid itself: its own error is reported)."""
        visibility = info.data.get("visibility_timeout_seconds")
        if visibility is not None and value > visibility // 4:
            raise ValueError(
                f"must stay far below the broker visibility timeout (at most a quarter of its {visibility} s)"
            )
        return value

    # --- derived values ---------------------------------------------------------------------------------
    @property
    def effective_broker_url(self) -> str:
        """The broker URL: REGQ_BROKER_URL, else the Redis URL."""
        url = self.broker_url or self.redis_url
        if not url:
            raise ConfigError("REGQ_REDIS_URL", "no Redis configured (the embedded stack sets it)")
        return url

    @property
    def effective_redis_url(self) -> str:
        if not self.redis_url:
            raise ConfigError("REGQ_REDIS_URL", "no Redis configured (the embedded stack sets it)")
        return self.redis_url

    def rate_for(self, provider: str) -> tuple[Rate, int]:
        """(rate, burst) for a registrar name or an upstream class (rdap, whois)."""
        try:
            return getattr(self, f"{provider}_rate"), getattr(self, f"{provider}_burst")
        except AttributeError:
            raise ConfigError(f"{ENV_PREFIX}{provider.upper()}_RATE", "unknown provider") from None


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; a bad value raises ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        reason = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{ENV_PREFIX}{field.upper()}", reason) from None
    except SettingsError as exc:  # a value that could not even be decoded
        match = re.search(r'field "(\w+)"', str(exc))
        field = match.group(1) if match else "?"
        raise ConfigError(f"{ENV_PREFIX}{field.upper()}", "malformed value") from None


def get_settings() -> Settings:
    """The settings the environment names now, parsed again only when a ``REGQ_*`` variable or the
    running stack's file changed.

    Cheap enough to call on every use (``tasks.runtime.get()`` does), so nothing needs reading at import
    and nothing needs resetting: a bad value fails the command or process that uses it, as a ConfigError
    naming the variable.
    """
    return _settings_for(_regq_environment(), _stack_file_identity())


def _regq_environment() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)))


def _stack_file_identity() -> tuple[str, int, int] | None:
    """The stack file in use as (path, mtime, size): a stack that starts, stops or restarts changes it."""
    path = stack_file()
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path.resolve()), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=8)
def _settings_for(
    environment: tuple[tuple[str, str], ...], stack: tuple[str, int, int] | None = None
) -> Settings:
    # The arguments are the cache key only: Settings reads os.environ and the stack file itself. A bad
    # value raises and so is never cached.
    return load_settings()
