"""``regq api`` (serve the HTTP API) and ``regq api-token create|list|revoke|rotate-secret``.

Secrets are printed once, where a script that captures stdout gets them: ``create`` prints the token on
stdout and its webhook signing secret on stderr (``--json``: both in one object on stdout);
``rotate-secret`` prints the new signing secret on stdout. Nothing else goes to stdout.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from shared import defaults
from shared.durations import parse_duration
from shared.store.api_tokens import DEFAULT_SCOPES, SCOPES, TokenNameTaken
from workers import context
from workers.console import emit_json, errors, table

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]

tokens_app = typer.Typer(
    help="HTTP API tokens: create (shown once), list, revoke, rotate-secret.", no_args_is_help=True
)


def api(
    bind: Annotated[
        str, typer.Option(help="address to listen on (0.0.0.0 in a container)")
    ] = defaults.API_BIND,
    port: Annotated[int, typer.Option(help="TCP port")] = defaults.API_PORT,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(help="proxies trusted for X-Forwarded-For/-Proto (comma-separated IPs, or '*')"),
    ] = None,
) -> None:
    """Serve the HTTP API (POST /v1/jobs, GET /v1/jobs/{key}, ...; /openapi.json describes it)."""
    import uvicorn

    from tasks import runtime
    from workers.api.app import create_app
    from workers.api.logconfig import log_config

    rt = runtime.get()
    rt.store  # noqa: B018 - a bad REGQ_DATABASE_URL fails here, before the port is bound
    app = create_app(runtime.get)
    try:
        uvicorn.run(
            app,
            host=bind,
            port=port,
            proxy_headers=forwarded_allow_ips is not None,
            forwarded_allow_ips=forwarded_allow_ips,
            server_header=False,
            log_level="info",
            log_config=log_config(),  # every line redacted: a token in a URL never reaches the log
        )
    finally:
        runtime.get().close()


@tokens_app.command("create")
def create(
    name: str,
    scope: Annotated[
        str, typer.Option(help=f"comma-separated: {','.join(SCOPES)} (admin reads every producer's jobs)")
    ] = ",".join(DEFAULT_SCOPES),
    callback_url: Annotated[
        str | None, typer.Option(help="default completion webhook of the jobs this token submits")
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option(help="the producer (tenant) it acts for; its reads see only that owner's jobs [NAME]"),
    ] = None,
    expires_in: Annotated[
        str | None,
        typer.Option(help="the token stops working after this long: 30d, 12h, 90m, 1d12h [never]"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print {name, token, signing_secret, expires_at} on stdout")
    ] = False,
) -> None:
    """Create a token NAME and print its secret ONCE (only its SHA-256 is stored), and, on stderr, ONCE,
    the secret that signs its jobs' completion webhooks (both on stdout with --json)."""
    from shared.webhooks.outbound.targets import callback_problem

    store = context.store()
    try:
        lifetime = parse_duration(expires_in, "--expires-in") if expires_in is not None else None
        if callback_url is not None:
            problem = _url_problem(callback_url) or callback_problem(callback_url, context.settings())
            if problem:
                raise ValueError(f"callback URL: {problem}")
        token, secret = store.api_tokens.create(
            name, scope.split(","), callback_url=callback_url, owner=owner, expires_in=lifetime
        )
    except (TokenNameTaken, ValueError) as exc:
        errors.print(f"[red]refused[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    signing = store.api_tokens.webhook_secret(token.name)
    if as_json:
        emit_json(
            {
                "name": token.name,
                "token": secret,
                "signing_secret": signing,
                "expires_at": _iso(token.expires_at),
            }
        )
        return
    expiry = f"; expires {_iso(token.expires_at)}" if token.expires_at else ""
    errors.print(
        f"token {token.name} (owner: {token.owner}; scopes: {','.join(token.scopes)}{expiry}); "
        "store it now, it is not shown again:"
    )
    print(secret)
    errors.print(f"webhook signing secret (Regq-Signature; not shown again): {signing}", soft_wrap=True)


@tokens_app.command("rotate-secret")
def rotate_secret(
    name: str,
    window: Annotated[
        str,
        typer.Option(help="how long the old signing secret still signs beside the new one: 24h, 7d, 0s"),
    ] = "24h",
    as_json: Annotated[
        bool,
        typer.Option("--json", help="print {name, token, signing_secret, expires_at, ...} on stdout"),
    ] = False,
) -> None:
    """Give token NAME a new webhook signing secret, printed ONCE on stdout. For WINDOW every webhook
    carries a v1 signature by the old and by the new secret (switch your receiver meanwhile); then only
    by the new one. The API token itself is unchanged."""
    try:
        overlap = parse_duration(window, "--window", minimum=timedelta(0))
        rotated = context.store().api_tokens.rotate_secret(name, overlap)
    except ValueError as exc:
        errors.print(f"[red]refused[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    if rotated is None:
        errors.print(f"[red]no API token named {name!r}[/red]")
        raise typer.Exit(1)
    token, signing = rotated
    until = _iso(token.previous_secret_until)
    if as_json:
        emit_json(
            {
                "name": token.name,
                "token": None,  # unchanged, and never stored in clear: only create shows it
                "signing_secret": signing,
                "expires_at": _iso(token.expires_at),
                "previous_secret_valid_until": until,
            }
        )
        return
    errors.print(
        f"token {token.name}: new webhook signing secret (not shown again); the old one also signs until "
        f"{until}:",
        soft_wrap=True,
    )
    print(signing)


def _iso(moment: datetime | None) -> str | None:
    from shared.timestamps import rfc3339_or_none  # the one timestamp format (RFC 3339, UTC, ms, Z)

    return rfc3339_or_none(moment)


def _url_problem(url: str) -> str | None:
    from shared.jobs import check_callback_url

    try:
        check_callback_url(url)
    except ValueError as exc:
        return str(exc)
    return None


@tokens_app.command("list")
def list_tokens(as_json: JsonFlag = False) -> None:
    """Every token: name, scopes, created, expiry, revoked, state (never a secret)."""
    rows: list[dict[str, Any]] = [
        {
            "name": t.name,
            "owner": t.owner,
            "scopes": list(t.scopes),
            "created_at": _iso(t.created_at),
            "expires_at": _iso(t.expires_at),
            "revoked_at": _iso(t.revoked_at),
            "state": "revoked" if t.revoked_at else "expired" if t.expired() else "active",
        }
        for t in context.store().api_tokens.all()
    ]
    if as_json:
        emit_json(rows)
        return
    table(
        "API tokens",
        ["name", "owner", "scopes", "created", "expires", "revoked", "state"],
        [
            (r["name"], r["owner"], ",".join(r["scopes"]), r["created_at"], r["expires_at"] or "never")
            + (r["revoked_at"], r["state"])
            for r in rows
        ],
    )


@tokens_app.command("revoke")
def revoke(name: str) -> None:
    """Revoke token NAME: every request with it is 401 from now on."""
    if not context.store().api_tokens.revoke(name):
        errors.print(f"[red]no active token named {name!r}[/red]")
        raise typer.Exit(1)
    errors.print(f"token {name} revoked")
