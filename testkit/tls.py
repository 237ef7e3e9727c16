"""Throwaway TLS certificates for tests that need a real https peer (openssl; no skip when it is missing)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path


def throwaway_certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed P-256 certificate for DNS name ``name``, valid a day: ``(cert.pem, key.pem)`` in
    ``folder``. The cert is its own CA: pass it as a client's CA bundle. RuntimeError without openssl."""
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is needed to make a throwaway certificate")
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context presenting ``cert``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
