"""``python -m sandbox`` as a real subprocess: its JSON line, credentials from env, clean SIGTERM exit."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import requests
from requests.auth import HTTPDigestAuth

from sandbox import SandboxClient


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if ready:
            return proc.stdout.readline()
        assert proc.poll() is None, "sandbox exited early"
    raise AssertionError("no line from python -m sandbox in time")


def test_python_m_sandbox_serves_and_exits_on_sigterm() -> None:
    env = {**os.environ, "REGQ_GANDI_TOKEN": "env-token", "REGQ_ROTLD_USER": "env-user"}
    env["REGQ_ROTLD_PASSWORD"] = "env-pass"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--visibility-delay", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        urls = json.loads(read_line(proc, timeout=15))
        assert set(urls) == {
            "gandi_url",
            "rotld_url",
            "gandi_admin",
            "rotld_admin",
            "rdap_url",
            "rdap_bootstrap_dir",
            "whois_iana_server",
            "whois_servers",
            "dns_nameservers",
        }
        assert urls["gandi_url"].endswith("/v5") and urls["gandi_url"].startswith("http://127.0.0.1:")
        headers = {"Authorization": "Bearer env-token"}
        r = requests.get(
            f"{urls['gandi_url']}/domain/check", params={"name": "a.com"}, headers=headers, timeout=5
        )
        assert r.status_code == 200
        r = requests.post(
            urls["rotld_url"],
            data={"command": "hello"},
            auth=HTTPDigestAuth("env-user", "env-pass"),
            timeout=5,
        )
        assert r.json()["result_code"] == "00200"
        client = SandboxClient(urls["gandi_admin"], urls["rotld_admin"])
        by_operation = client.stats("gandi")["by_operation"]
        assert by_operation["check"] == 1 and by_operation["create"] == 0
        assert client.config("gandi")["visibility_delay"] == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        _, stderr = proc.communicate(timeout=5)
        assert "env-token" not in stderr and "env-pass" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
