"""``python -m sandbox``: serve both stand-ins until SIGTERM/SIGINT.

Prints one JSON line ``{"gandi_url", "rotld_url", "gandi_admin", "rotld_admin", "rdap_url",
"rdap_bootstrap_dir", "whois_iana_server", "whois_servers", "dns_nameservers"}`` on stdout once all
listen (the DNS stand-in seeded with the nameservers of the RDAP stand-in's domains).
Credentials: flags, else REGQ_GANDI_TOKEN / REGQ_ROTLD_USER / REGQ_ROTLD_PASSWORD, else the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from types import FrameType

from sandbox.stack import DEFAULT_GANDI_TOKEN, DEFAULT_ROTLD_PASSWORD, DEFAULT_ROTLD_USER, Sandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--gandi-port", type=int, default=0)
    parser.add_argument("--rotld-port", type=int, default=0)
    parser.add_argument("--token", default=env.get("REGQ_GANDI_TOKEN") or DEFAULT_GANDI_TOKEN)
    parser.add_argument("--rotld-user", default=env.get("REGQ_ROTLD_USER") or DEFAULT_ROTLD_USER)
    parser.add_argument("--rotld-password", default=env.get("REGQ_ROTLD_PASSWORD") or DEFAULT_ROTLD_PASSWORD)
    parser.add_argument("--visibility-delay", type=float, default=None, help="Gandi read-after-create delay")
    parser.add_argument("--create-status", type=int, choices=(201, 202), default=None)
    parser.add_argument("--log-requests", action="store_true", help="log method, path and status to stderr")
    parser.add_argument(
        "--whois-faults",
        type=json.loads,
        default=None,
        help="WHOIS fault rules from the start, a JSON list (sandbox/whois.py): the WHOIS stand-in has no "
        'admin route, so a stack test sets them here, e.g. [{"server": "whois.dreamhost.com", "kind": '
        '"throttle", "text": "nl", "count": 1}]',
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    gandi_config = {}
    if args.visibility_delay is not None:
        gandi_config["visibility_delay"] = args.visibility_delay
    if args.create_status is not None:
        gandi_config["create_status"] = args.create_status
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sandbox = Sandbox(
        gandi_token=args.token,
        rotld_user=args.rotld_user,
        rotld_password=args.rotld_password,
        host=args.host,
        gandi_port=args.gandi_port,
        rotld_port=args.rotld_port,
        gandi_config=gandi_config,
        log_requests=args.log_requests,
    )
    if args.whois_faults is not None:
        try:
            sandbox.whois.set_faults(args.whois_faults)
        except (ValueError, AttributeError, TypeError) as exc:
            sandbox.close()
            raise SystemExit(f"--whois-faults: {exc}") from None
    with sandbox:
        sandbox.seed_lookup_world()
        sys.stdout.write(json.dumps(sandbox.urls()) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
