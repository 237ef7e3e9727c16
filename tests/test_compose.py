"""docker-compose.yml, .env.example, the Dockerfile and deploy/ cannot rot: no Docker engine runs here, so
every queue, module, CLI command, option and REGQ_ setting they name is checked against the code, and
every metric the dashboards and alert rules use against the exporter's catalogue."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from celery import Celery

from shared.metrics import sample_names
from shared.settings import Settings
from tasks.routing import ALL_QUEUES
from workers.cli import app as regq_app

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SERVICES = {
    "redis",
    "postgres",
    "migrate",
    "worker-gandi",
    "worker-rotld",
    "worker-lookup",
    "worker-maintenance",
    "beat",
    "flower",
    "exporter",
    "api",
}
WORKERS = {name for name in SERVICES if name.startswith("worker-")}
_SETTING = re.compile(r"\bREGQ_[A-Z0-9_]+\b")
_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(:?[?-][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command")
    if cmd is None:
        return []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def option(argv: list[str], *names: str) -> str | None:
    """The value of ``-X value`` / ``--x value`` / ``--x=value`` in ``argv``."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_the_services_are_the_ones_the_fleet_needs(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == SERVICES
    beats = [n for n, s in services(compose).items() if command(s)[3:4] == ["beat"]]
    assert beats == ["beat"]  # exactly one beat, never scaled
    assert services(compose)["beat"].get("deploy", {}).get("replicas", 1) == 1
    redis_cmd = command(services(compose)["redis"])
    assert option(redis_cmd, "--appendonly") == "yes"
    for name, mount in (("redis", "/data"), ("postgres", "/var/lib/postgresql/data")):
        volumes = services(compose)[name]["volumes"]
        assert any(v.split(":")[0] in compose["volumes"] and v.endswith(mount) for v in volumes), name
    migrate = services(compose)["migrate"]
    assert migrate["restart"] == "no" and command(migrate) == ["regq", "db", "upgrade"]
    for name, service in services(compose).items():
        if name not in ("redis", "postgres", "migrate"):  # everything else waits for the schema
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name


def test_every_celery_command_names_a_real_module_and_real_queues(compose: dict[str, Any]) -> None:
    consumed: set[str] = set()
    for name, service in services(compose).items():
        argv = command(service)
        if argv[:1] != ["celery"]:
            continue
        module, _, attribute = (option(argv, "-A", "--app") or "").partition(":")
        celery_app = getattr(importlib.import_module(module), attribute or "app")
        assert isinstance(celery_app, Celery), name
        if argv[3] == "worker":
            queues = (option(argv, "-Q", "--queues") or "").split(",")
            assert set(queues) <= set(ALL_QUEUES), (name, queues)
            consumed.update(queues)
    assert consumed == set(ALL_QUEUES)  # no queue is left without a worker


def test_worker_healthchecks_ping_their_own_worker(compose: dict[str, Any]) -> None:
    for name in WORKERS:
        service = services(compose)[name]
        node = option(command(service), "-n", "--hostname")
        assert node is not None and node.endswith("@%h"), name
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL"
        argv = shlex.split(test[1])
        assert argv[:4] == ["celery", "-A", "tasks.app", "inspect"] and argv[4] == "ping", name
        # %h is the container's host name, $HOSTNAME in its shell ($$ escapes compose's interpolation).
        assert option(argv, "-d", "--destination") == node.replace("%h", "$$HOSTNAME"), name


def _regq_command(argv: list[str]) -> Any:
    """The (click) command ``regq argv...`` names; every option given must be one it takes."""
    cmd: Any = typer.main.get_command(regq_app)
    rest = list(argv)
    while hasattr(cmd, "commands") and rest and not rest[0].startswith("-"):
        sub = cmd.get_command(typer.Context(cmd), rest.pop(0))  # regq's group imports a command lazily
        assert sub is not None, f"regq has no command {' '.join(argv)!r}"
        cmd = sub
    known = {opt for param in cmd.params for opt in getattr(param, "opts", [])}
    for arg in rest:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in known, f"regq {' '.join(argv)}: no option {arg}"
    return cmd


def test_every_regq_command_is_a_real_cli_command(compose: dict[str, Any]) -> None:
    used = []
    for name, service in services(compose).items():
        argv = command(service)
        if argv[:1] == ["regq"]:
            _regq_command(argv[1:])
            used.append(name)
    assert sorted(used) == ["api", "exporter", "migrate"]
    with pytest.raises(AssertionError, match="no command"):
        _regq_command(["nonsense"])
    with pytest.raises(AssertionError, match="no option"):
        _regq_command(["exporter", "--nonsense", "1"])


def test_the_exporter_binds_for_the_container_and_its_healthcheck_scrapes_metrics(
    compose: dict[str, Any],
) -> None:
    exporter = services(compose)["exporter"]
    argv = command(exporter)
    port = option(argv, "--port")
    assert option(argv, "--bind") == "0.0.0.0" and port
    assert exporter["ports"] == [f"127.0.0.1:{port}:{port}"]  # published on the host's loopback only
    probe = " ".join(exporter["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/metrics" in probe


def test_the_api_binds_for_the_container_is_published_on_loopback_and_checks_health(
    compose: dict[str, Any],
) -> None:
    api = services(compose)["api"]
    argv = command(api)
    assert argv[:2] == ["regq", "api"]
    port = option(argv, "--port")
    assert option(argv, "--bind") == "0.0.0.0" and port  # inside the container network
    assert api["ports"] == [f"127.0.0.1:{port}:{port}"]  # published on the host's loopback only
    probe = " ".join(api["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/v1/health" in probe
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"


def test_nothing_is_published_beyond_the_hosts_loopback(compose: dict[str, Any]) -> None:
    published = {name: s["ports"] for name, s in services(compose).items() if s.get("ports")}
    assert set(published) == {"flower", "exporter", "api"}
    for name, ports in published.items():
        for mapping in ports:
            assert str(mapping).startswith("127.0.0.1:"), (name, mapping)


def test_flower_always_has_basic_auth(compose: dict[str, Any]) -> None:
    flower = services(compose)["flower"]
    assert command(flower)[3] == "flower"
    # Flower reads FLOWER_BASIC_AUTH; ${VAR:?...} makes compose refuse to start when it is unset or empty.
    auth = flower["environment"]["FLOWER_BASIC_AUTH"]
    assert _INTERPOLATION.fullmatch(auth) and ":?" in auth
    assert "--basic-auth" not in " ".join(command(flower))  # not on the command line (ps, inspect)
    assert flower["ports"] == ["127.0.0.1:5555:5555"]


def test_every_setting_named_exists_and_the_env_example_holds_no_secret(compose: dict[str, Any]) -> None:
    named = set(_SETTING.findall(COMPOSE.read_text())) | set(_SETTING.findall(ENV_EXAMPLE.read_text()))
    known = {f"REGQ_{field.upper()}" for field in Settings.model_fields}
    assert named and named <= known, sorted(named - known)
    example = env_example()
    assert {k: v for k, v in example.items() if v} == {}  # every value is left for the operator
    # Every variable compose interpolates is documented in the example.
    interpolated = {m.group(1) for m in _INTERPOLATION.finditer(COMPOSE.read_text())}
    assert interpolated <= set(example), sorted(interpolated - set(example))
    for secret in ("REGQ_GANDI_TOKEN", "REGQ_ROTLD_USER", "REGQ_ROTLD_PASSWORD", "FLOWER_BASIC_AUTH"):
        assert secret in example
    # A credential in compose is only ever an interpolation from .env, never a literal.
    urls_with_password = 0
    for name, service in services(compose).items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET|AUTH", key):
                assert _INTERPOLATION.fullmatch(str(value)), (name, key)
            for credentials in re.findall(r"://[^/@:]*:(.*?)@", str(value)):
                assert _INTERPOLATION.fullmatch(credentials), (name, key)
                urls_with_password += 1
    assert urls_with_password >= 1  # the database URL's password, checked above


def test_the_dockerfile_copies_every_package_the_project_installs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("shared", "tasks", "workers", "sandbox"):
        assert re.search(rf"^COPY {package} {package}$", dockerfile, re.M), package
    assert "celeryconfig.py" in dockerfile and "pyproject.toml" in dockerfile


# --- deploy/: every metric a dashboard or an alert uses is one the exporter exports -------------------
_METRIC = re.compile(r"\bregq_[a-z0-9_]+\b")


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads((ROOT / "deploy/grafana/regq-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _alert_expressions() -> list[str]:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_deploy_metrics_are_exported() -> None:
    exported = sample_names()
    dashboard, alerts = _dashboard_expressions(), _alert_expressions()
    used = {m for expr in dashboard + alerts for m in _METRIC.findall(expr)}
    assert used and used <= exported, sorted(used - exported)
    assert len(dashboard) >= 10
    # The three alerts the issue asks for are there.
    assert any("regq_breaker_state" in e and "open" in e for e in alerts)
    assert any("regq_renewals_failed" in e for e in alerts)
    assert any("regq_jobs_oldest_age_seconds" in e and "waiting" in e for e in alerts)


def test_the_name_check_catches_a_metric_the_exporter_does_not_have() -> None:
    assert "regq_jobs_total" not in sample_names()  # a gauge: no _total
    assert "regq_upstream_calls" not in sample_names()  # a counter: only regq_upstream_calls_total
