"""A real ``regq api`` (uvicorn) process on a free port, for tests and benchmarks that speak HTTP to it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from shared.store import Store
from testkit.stacks import wait_for
from workers.embedded.redis_server import free_port


@dataclass
class Api:
    url: str
    env: dict[str, str]
    store: Store
    log: Path
    pid: int | None = None  # the uvicorn process (a profiler attaches to it)

    def token(self, scopes: str = "submit,read") -> str:
        _record, secret = self.store.api_tokens.create(f"t-{uuid.uuid4().hex[:10]}", scopes.split(","))
        return secret

    def call(
        self, method: str, path: str, token: str | None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)


@contextmanager
def running_api(
    stack_env: dict[str, str], var_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Api]:
    """``regq api`` with the stack's environment (plus ``extra_env``), up once /v1/health answers 200."""
    port = free_port()
    env = {**stack_env, **(extra_env or {})}
    log = var_dir / f"api-{port}.log"
    regq = str(Path(sys.executable).with_name("regq"))
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [regq, "api", "--port", str(port)], env=env, stdout=out, stderr=out, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"regq api exited: {log.read_text()}")
        try:
            return requests.get(url + "/v1/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    store = Store(env["REGQ_DATABASE_URL"])
    try:
        wait_for(up, 30, "regq api to answer /v1/health")
        yield Api(url, env, store, log, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        store.dispose()
