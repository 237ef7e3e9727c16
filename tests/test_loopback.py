"""Issue 14: Flower, the exporter and the API listen on 127.0.0.1 unless told otherwise, and Flower never
starts without basic auth. Each is started for real with its default bind; which address its port
listens on is read from /proc/net/tcp{,6} (no traffic to any other address)."""

from __future__ import annotations

import socket
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from shared import defaults
from shared.errors import ConfigError
from shared.store import Store
from testkit.sockets import is_loopback_only, listening_addresses
from testkit.stacks import wait_for
from workers.embedded.processes import Child
from workers.embedded.redis_server import free_port
from workers.embedded.stack import REGQ, flower_command


@dataclass
class Server:
    child: Child
    port: int

    def listening(self) -> set[str]:
        if not self.child.alive:
            raise AssertionError(f"exited: {self.child.log_path.read_text(errors='replace')[-3000:]}")
        return listening_addresses(self.port)


@pytest.fixture(scope="module")
def servers(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """``regq exporter``, ``regq api`` and the stack's Flower, started at once, each with its default bind."""
    var = Path(tmp_path_factory.mktemp("loopback"))
    database = f"sqlite:///{var / 'regq.db'}"
    store = Store(database)
    store.upgrade()
    store.dispose()
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    env = {
        "PATH": "/usr/bin:/bin",
        "REGQ_REDIS_URL": redis_url,
        "REGQ_DATABASE_URL": database,
        "REGQ_REDIS_PREFIX": prefix,
        "REGQ_BROKER_KEY_PREFIX": f"{prefix}:",
    }
    ports = {name: free_port() for name in ("exporter", "api", "flower")}
    flower_argv, flower_env = flower_command(ports["flower"], "ops:loopback-test")
    commands = {
        "exporter": ([REGQ, "exporter", "--port", str(ports["exporter"])], env),
        "api": ([REGQ, "api", "--port", str(ports["api"])], env),
        "flower": ([sys.executable, "-m", "celery", "-A", "tasks.app", *flower_argv], {**env, **flower_env}),
    }
    started: dict[str, Server] = {}
    try:
        for name, (argv, child_env) in commands.items():
            started[name] = Server(Child(name, argv, child_env, var / f"{name}.log").start(), ports[name])
        yield started
    finally:
        for server in started.values():  # all at once, then each waited for (and its group swept)
            assert server.child.proc is not None
            server.child.proc.terminate()
        for server in started.values():
            server.child.stop(timeout=10)


@pytest.mark.parametrize("name", ["exporter", "api", "flower"])
def test_the_default_bind_is_loopback_only(servers: dict[str, Server], name: str) -> None:
    server = servers[name]
    addresses = wait_for(server.listening, 30, f"{name} to listen on {server.port}")
    assert is_loopback_only(addresses), (name, addresses)  # type: ignore[arg-type]
    assert addresses == {"127.0.0.1"}, (name, addresses)


def test_the_commands_default_to_loopback() -> None:
    assert defaults.EXPORTER_BIND == "127.0.0.1" and defaults.API_BIND == "127.0.0.1"
    argv, _env = flower_command(5555, "ops:secret")
    assert "--address=127.0.0.1" in argv


def test_flower_answers_only_with_its_credentials(servers: dict[str, Server]) -> None:
    server = servers["flower"]
    wait_for(server.listening, 30, "Flower to listen")
    url = f"http://127.0.0.1:{server.port}"
    assert requests.get(url + "/api/workers", timeout=10).status_code == 401
    assert requests.get(url + "/tasks", auth=("ops", "wrong"), timeout=10).status_code == 401
    assert requests.get(url + "/api/workers", auth=("ops", "loopback-test"), timeout=10).status_code == 200


@pytest.mark.parametrize("auth", ["", "ops", "ops:", ":secret", " : "])
def test_flower_never_starts_without_basic_auth(auth: str) -> None:
    with pytest.raises(ConfigError, match="FLOWER_BASIC_AUTH"):
        flower_command(5555, auth)


def test_flower_credentials_stay_off_its_command_line() -> None:
    argv, env = flower_command(5555, "ops:hunter2-secret")
    assert not any("hunter2" in arg for arg in argv)
    assert env == {"FLOWER_BASIC_AUTH": "ops:hunter2-secret"}


def test_the_check_sees_a_socket_open_to_every_address() -> None:
    with socket.socket() as sock:  # bound, listening, never connected to
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        addresses = listening_addresses(sock.getsockname()[1])
    assert addresses == {"0.0.0.0"} and not is_loopback_only(addresses)
    assert not is_loopback_only(set())
