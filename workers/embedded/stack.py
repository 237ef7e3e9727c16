"""The embedded stack: Redis (embedded unless REGQ_REDIS_URL), SQLite (unless REGQ_DATABASE_URL), the
sandbox upstreams, real Celery workers per queue group, beat, Flower, and (``api``, ``exporter``) ``regq api``
with a generated token and ``regq exporter``. Everything it starts it stops (the token: revoked); everything
it serves listens on 127.0.0.1 only, and Flower never starts without basic auth (:func:`flower_command`).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import requests
from celery import Celery
from sqlalchemy.exc import SQLAlchemyError

from shared import defaults
from shared.errors import ConfigError
from shared.settings import STACK_FILE_VARIABLE, Settings, load_settings
from shared.store import Store
from tasks.producer import producer_app
from workers.embedded import stack_file
from workers.embedded.ports import preferred_port
from workers.embedded.processes import Child
from workers.embedded.redis_server import EmbeddedRedis, free_port
from workers.embedded.supervisor import Supervisor

if TYPE_CHECKING:  # the sandbox is imported only where a stack starts it, never on the production path
    from sandbox.stack import SandboxClient

SANDBOX_TOKEN = "sandbox-token"
SANDBOX_USER = "sandbox-user"
SANDBOX_PASSWORD = "sandbox-pass"
LOOPBACK = "127.0.0.1"  # what the stack's Flower, API and exporter listen on: nothing else can reach them
REGQ = str(Path(sys.executable).with_name("regq"))


def flower_command(port: int, basic_auth: str, address: str = LOOPBACK) -> tuple[list[str], dict[str, str]]:
    """(celery flower arguments, environment) for a Flower that always asks for ``user:password``.

    Raises :class:`ConfigError` for a missing or half-given ``basic_auth``: Flower never starts open.
    The credentials go in FLOWER_BASIC_AUTH (as in compose), not on the command line that ``ps`` shows."""
    user, sep, password = basic_auth.partition(":")
    if not (user.strip() and sep and password.strip()):
        raise ConfigError("FLOWER_BASIC_AUTH", "Flower never starts without basic auth: give user:password")
    argv = ["flower", f"--address={address}", f"--port={port}", "--persistent=False"]
    argv.append(f"--tasks_columns={defaults.FLOWER_TASKS_COLUMNS}")  # each row says which job and domain
    return argv, {"FLOWER_BASIC_AUTH": basic_auth}


@dataclass(frozen=True)
class WorkerGroup:
    """One ``celery worker`` process (plus its pool) consuming ``queues``."""

    name: str
    queues: tuple[str, ...]
    concurrency: int = 2


DEFAULT_GROUPS = (
    WorkerGroup("gandi", ("registrar.gandi",), 2),
    WorkerGroup("rotld", ("registrar.rotld",), 1),
    WorkerGroup("misc", ("lookup", "maintenance"), 2),
)


@dataclass
class Stack:
    """Start with ``with Stack(...) as stack:``. ``env`` is what every child process sees."""

    var_dir: Path = Path("var")
    groups: tuple[WorkerGroup, ...] = DEFAULT_GROUPS
    beat: bool = True
    flower: bool = True
    api: bool = False
    exporter: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    sandbox_args: tuple[str, ...] = ()
    #: restart workers and beat that exit on their own (regq up/demo; tests that kill on purpose don't)
    supervise: bool = False
    #: the README's ports (API 8080, Flower 5555, exporter 9808) when free (regq up/demo); else any free
    preferred_ports: bool = False

    env: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # holds credentials
    children: dict[str, Child] = field(default_factory=dict, init=False)
    flower_url: str | None = field(default=None, init=False)
    flower_auth: tuple[str, str] | None = field(default=None, init=False, repr=False)
    api_url: str | None = field(default=None, init=False)
    api_token: str | None = field(default=None, init=False, repr=False)
    #: the name of the token this start created: revoked by stop() (make up/demo leave no live token)
    api_token_name: str | None = field(default=None, init=False)
    exporter_url: str | None = field(default=None, init=False)
    #: the settings file a second terminal's regq reads (workers/embedded/stack_file.py), while running
    stack_env_file: Path | None = field(default=None, init=False)
    sandbox: SandboxClient | None = field(default=None, init=False)
    supervisor: Supervisor | None = field(default=None, init=False, repr=False)
    _redis: EmbeddedRedis | None = field(default=None, init=False)
    _settings: Settings | None = field(default=None, init=False, repr=False)

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self, on_step: Callable[[str], object] | None = None) -> Stack:
        step = on_step or (lambda _msg: None)
        try:
            self._start(step)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, step: Callable[[str], object]) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()}
        env.update(self.extra_env)
        env[STACK_FILE_VARIABLE] = ""  # the children's settings are this environment, never a stack file
        if not env.get("REGQ_REDIS_URL"):
            step("starting embedded Redis")
            self._redis = EmbeddedRedis().start()
            env["REGQ_REDIS_URL"] = self._redis.url
        env.setdefault("REGQ_DATABASE_URL", f"sqlite:///{(self.var_dir / 'regq.db').resolve()}")
        step("starting sandbox upstreams")
        urls = self._start_sandbox(env)
        env.update(
            REGQ_GANDI_API_URL=urls["gandi_url"],
            REGQ_GANDI_TOKEN=SANDBOX_TOKEN,
            REGQ_ROTLD_API_URL=urls["rotld_url"],
            REGQ_ROTLD_USER=SANDBOX_USER,
            REGQ_ROTLD_PASSWORD=SANDBOX_PASSWORD,
            REGQ_OUTBOUND_ALLOW_PRIVATE="true",
            REGQ_RDAP_BOOTSTRAP_URL=urls["rdap_bootstrap_dir"],
            REGQ_WHOIS_IANA_SERVER=urls["whois_iana_server"],
            REGQ_WHOIS_SERVERS=urls["whois_servers"],
            REGQ_DNS_NAMESERVERS=urls["dns_nameservers"],
        )
        # Every sandbox role listens on 127.0.0.1, so all RDAP and WHOIS traffic shares one limiter key.
        env.setdefault("REGQ_RDAP_RATE", "50/s")
        env.setdefault("REGQ_RDAP_BURST", "20")
        env.setdefault("REGQ_WHOIS_RATE", "50/s")
        env.setdefault("REGQ_WHOIS_BURST", "20")
        self.env = env
        step("migrating the database")
        store = Store(env["REGQ_DATABASE_URL"])
        store.upgrade()
        if self.api:  # a fresh token per start (the name is never reused, the var dir's database stays)
            record, self.api_token = store.api_tokens.create(
                f"stack-{secrets.token_hex(4)}", ["submit", "read"]
            )
            self.api_token_name = record.name
        store.dispose()
        for group in self.groups:
            step(f"starting worker {group.name}")
            self.start_worker(group)
        if self.beat:
            step("starting beat")
            schedule = self.var_dir / "celerybeat-schedule"
            self._spawn("beat", ["beat", "--schedule", str(schedule), "--loglevel", "INFO"])
        if self.flower:
            step("starting Flower")
            port = self._port(defaults.FLOWER_PORT)
            user, password = "regq", secrets.token_urlsafe(12)
            argv, flower_env = flower_command(port, f"{user}:{password}")
            # only our FLOWER_ settings: an inherited FLOWER_UNAUTHENTICATED_API or FLOWER_AUTH weakens it
            clean = {k: v for k, v in self.env.items() if not k.startswith("FLOWER_")}
            self._spawn("flower", argv, env={**clean, **flower_env})
            self.flower_url, self.flower_auth = f"http://{LOOPBACK}:{port}", (user, password)
        if self.api:
            step("starting the API")
            port = self._port(defaults.API_PORT)
            self._spawn("api", ["api", "--bind", LOOPBACK, "--port", str(port)], regq=True)
            self.api_url = f"http://{LOOPBACK}:{port}"
        if self.exporter:
            step("starting the exporter")
            port = self._port(defaults.EXPORTER_PORT)
            self._spawn("exporter", ["exporter", "--bind", LOOPBACK, "--port", str(port)], regq=True)
            self.exporter_url = f"http://{LOOPBACK}:{port}"
        step("waiting for workers")
        self.wait_for_workers([g.name for g in self.groups])
        if self.api_url:
            step("waiting for the API")
            self._wait_http("api", self.api_url + "/v1/health")
        if self.exporter_url:
            step("waiting for the exporter")
            self._wait_http("exporter", self.exporter_url + "/metrics")
        if self.supervise:
            names = [g.name for g in self.groups] + (["beat"] if self.beat else [])
            self.supervisor = Supervisor(self.children, names).start()
        effective = self.settings()  # the defaults the children use, written out: the file says it all
        served: dict[str, str | None] = {"REGQ_REDIS_PREFIX": effective.redis_prefix}
        served.update(REGQ_BROKER_URL=effective.effective_broker_url, REGQ_API_URL=self.api_url)
        served.update(REGQ_FLOWER_URL=self.flower_url, REGQ_EXPORTER_URL=self.exporter_url)
        self.stack_env_file = stack_file.write(self.var_dir, self.env, served)

    def _port(self, preferred: int) -> int:
        return preferred_port(preferred, LOOPBACK) if self.preferred_ports else free_port()

    def _start_sandbox(self, env: dict[str, str]) -> dict[str, str]:
        from sandbox.stack import SandboxClient

        child = Child(
            "sandbox",
            [sys.executable, "-m", "sandbox", *self.sandbox_args],
            env,
            self.var_dir / "logs" / "sandbox.log",
        )
        child.start(stdout=subprocess.PIPE)
        self.children["sandbox"] = child
        assert child.proc is not None and child.proc.stdout is not None
        line = child.proc.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"the sandbox did not start: see {child.log_path}")
        urls = json.loads(line)
        self.sandbox = SandboxClient(urls["gandi_admin"], urls["rotld_admin"], rdap_admin=urls["rdap_url"])
        return urls

    def _celery(self, args: list[str]) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "tasks.app", *args]

    def _spawn(
        self, name: str, args: list[str], env: dict[str, str] | None = None, regq: bool = False
    ) -> Child:
        """Start ``celery -A tasks.app ARGS`` (or ``regq ARGS``) as child ``name``, logging to its file."""
        argv = [REGQ, *args] if regq else self._celery(args)
        child = Child(name, argv, env or self.env, self.var_dir / "logs" / f"{name}.log").start()
        self.children[name] = child
        return child

    def _wait_http(self, name: str, url: str, timeout: float = 60.0) -> None:
        """Until ``url`` answers 200; a child that exited meanwhile fails at once, naming its log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            child = self.children[name]
            if not child.alive:
                raise RuntimeError(f"{name} exited early: see {child.log_path}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{name} did not answer {url} within {timeout} s")

    def start_worker(self, group: WorkerGroup) -> Child:
        return self._spawn(
            group.name,
            [
                "worker",
                "-Q",
                ",".join(group.queues),
                "-n",
                f"{group.name}@%h",
                "-c",
                str(group.concurrency),
                "-E",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
        )

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker's whole process group (main process and pool): no requeue by Celery."""
        self.children[name].kill()

    def wait_for_workers(self, names: list[str], timeout: float = 60.0) -> None:
        app = self.producer()
        wanted = {f"{n}@{os.uname().nodename}" for n in names}
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                for name, child in self.children.items():
                    if not child.alive:
                        raise RuntimeError(f"{name} exited early: see {child.log_path}")
                replies = app.control.ping(timeout=1.0) or []
                seen = {name for reply in replies for name in reply}
                if wanted <= seen:
                    return
            raise TimeoutError(f"workers {sorted(wanted)} did not answer within {timeout} s")
        finally:
            app.close()

    def settings(self) -> Settings:
        """The settings every child process sees (read once: the environment is fixed at start)."""
        if self._settings is None:
            saved = dict(os.environ)
            try:
                os.environ.clear()
                os.environ.update(self.env)
                self._settings = load_settings()
            finally:
                os.environ.clear()
                os.environ.update(saved)
        return self._settings

    def producer(self) -> Celery:
        return producer_app(self.settings())

    def stop(self) -> None:
        stack_file.remove(self.var_dir)  # first: a second terminal's regq no longer finds a stopping stack
        self.stack_env_file = None
        self._revoke_token()
        if self.supervisor is not None:
            self.supervisor.stop()
        # SIGTERM every child but the sandbox at once, so their warm shutdowns overlap; then reap each
        # (Child.stop: wait, SIGKILL what is left) and the sandbox last (a worker may call it meanwhile).
        for name, child in self.children.items():
            if name != "sandbox" and child.alive and child.proc is not None:
                try:
                    os.killpg(child.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name in [n for n in self.children if n != "sandbox"] + ["sandbox"]:
            if name in self.children:
                self.children.pop(name).stop()
        if self._redis is not None:
            self._redis.stop()
            self._redis = None

    def _revoke_token(self) -> None:
        """Revoke the token this start created, first (the API refuses it from now on, before the rest
        stops). A store that does not answer leaves it active: said on stderr, with the command to run."""
        name, self.api_token_name = self.api_token_name, None
        if name is None:
            return
        try:
            store = Store(self.env["REGQ_DATABASE_URL"])
            try:
                store.api_tokens.revoke(name)
            finally:
                store.dispose()
        except (SQLAlchemyError, OSError) as exc:  # stopping goes on: the children stop regardless
            print(
                f"could not revoke the stack's API token {name} ({type(exc).__name__}): "
                f"run `regq api-token revoke {name}`",
                file=sys.stderr,
            )

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
