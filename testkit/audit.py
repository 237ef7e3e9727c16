"""``python -m testkit.audit [-r requirements.txt]``: known vulnerabilities in the installed dependencies.

``make test`` runs it (CI too). It freezes what the virtualenv holds (``pip freeze --exclude-editable``:
every pinned version, the project itself left out) and gives that file to ``pip-audit --no-deps
--disable-pip``, so the audit is of exactly what is installed, without pip resolving anything again.

* a known vulnerability: exit 1, naming each package, version, advisory and the fixed versions;
* the advisory database cannot be reached (offline, DNS, timeout, the service down): a WARNING saying
  nothing was checked, exit 0 — a laptop without network still runs ``make test``;
* anything else (pip-audit missing or failing in another way): exit 2, with its error.

An advisory that cannot be fixed within the project's pins may be ignored: add it to :data:`IGNORED`
with the reason; it is passed as ``--ignore-vuln ID`` and printed on every run.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Advisory ID -> why it is ignored (the package, and why no version within the pins fixes it).
IGNORED: dict[str, str] = {}

TIMEOUT_SECONDS = 600  # the whole audit: one PyPI request per package, ~150 packages, cached by pip
_NETWORK = re.compile(
    r"ConnectionError|Connection refused|Max retries exceeded|NewConnectionError|NameResolutionError|"
    r"Temporary failure in name resolution|Network is unreachable|timed out|ReadTimeout|ConnectTimeout|"
    r"ProxyError|SSLError|ServiceError|HTTPError: 5\d\d",
)


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory: str
    fixed_in: tuple[str, ...]

    def __str__(self) -> str:
        fix = ", ".join(self.fixed_in) or "no fixed version yet"
        return f"{self.package} {self.version}: {self.advisory} (fixed in: {fix})"


def freeze(python: str = sys.executable) -> str:
    """``pip freeze --exclude-editable`` of the running interpreter's environment."""
    done = subprocess.run(
        [python, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def findings(report: dict[str, Any]) -> list[Finding]:
    """Every vulnerability of pip-audit's JSON report (``-f json``)."""
    found = []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            found.append(
                Finding(dep["name"], dep.get("version", "?"), vuln["id"], tuple(vuln.get("fix_versions", [])))
            )
    return found


def skipped(report: dict[str, Any]) -> list[str]:
    """Packages pip-audit could not look up (not on PyPI, ...), with its reason."""
    return [
        f"{d['name']}: {d['skip_reason']}" for d in report.get("dependencies", []) if d.get("skip_reason")
    ]


def audit(requirements: Path, ignored: dict[str, str] | None = None) -> int:
    """Run pip-audit over ``requirements``; print the verdict; the exit code (0, 1 or 2)."""
    ignored = IGNORED if ignored is None else ignored
    argv = [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--no-deps", "--disable-pip"]
    argv += ["--format", "json", "--progress-spinner", "off", "--timeout", "30"]
    for advisory, reason in sorted(ignored.items()):
        argv += ["--ignore-vuln", advisory]
        print(f"audit: ignoring {advisory}: {reason}")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        print(
            f"WARNING: pip-audit took over {TIMEOUT_SECONDS} s (advisory database unreachable?): "
            "dependencies NOT checked for known vulnerabilities"
        )
        return 0
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = None
    if not isinstance(report, dict):
        error = done.stderr.strip()
        if "No module named pip_audit" in error:
            print("audit: pip-audit is not installed: pip install -e '.[dev]'", file=sys.stderr)
            return 2
        if _NETWORK.search(error):
            last = error.splitlines()[-1] if error else "no answer"
            print(
                f"WARNING: the advisory database could not be reached ({last[:300]}): "
                "dependencies NOT checked for known vulnerabilities"
            )
            return 0
        print(f"audit: pip-audit failed (exit {done.returncode}):\n{error[-3000:]}", file=sys.stderr)
        return 2
    return verdict(report)


def verdict(report: dict[str, Any]) -> int:
    """Print what pip-audit's JSON report says; the exit code (0 or 1)."""
    dependencies = report.get("dependencies", [])
    missing = skipped(report)
    found = findings(report)
    if found:
        print(f"audit: {len(found)} known vulnerabilit{'y' if len(found) == 1 else 'ies'}:")
        for finding in found:
            print(f"  {finding}")
        print("upgrade within the pins (pyproject.toml), or ignore with a reason in testkit/audit.py IGNORED")
        return 1
    if dependencies and len(missing) == len(dependencies):
        # The PyPI JSON API answered "not found" for every package: no advisory data here (a mirror).
        print(
            f"WARNING: no advisory data for any of the {len(dependencies)} packages ({missing[0]}): "
            "dependencies NOT checked for known vulnerabilities"
        )
        return 0
    if missing:
        print(f"WARNING: {len(missing)} packages not audited: " + "; ".join(missing))
    print(f"audit: {len(dependencies) - len(missing)} packages audited, no known vulnerability")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.audit", description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--requirement", type=Path, help="audit this file (default: pip freeze)")
    parser.add_argument("--report", type=Path, help="judge a saved `pip-audit -f json` report instead")
    args = parser.parse_args(argv)
    if args.report is not None:
        return verdict(json.loads(args.report.read_text(encoding="utf-8")))
    if args.requirement is not None:
        return audit(args.requirement)
    with tempfile.TemporaryDirectory(prefix="regq-audit-") as tmp:
        requirements = Path(tmp) / "installed.txt"
        requirements.write_text(freeze(), encoding="utf-8")
        return audit(requirements)


if __name__ == "__main__":
    sys.exit(main())
