"""``regq api`` (serve the HTTP API) and ``regq api-token create|list|revoke``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shared import defaults
from shared.store.api_tokens import DEFAULT_SCOPES, SCOPES, TokenNameTaken
from workers import context
from workers.console import emit_json, errors, table

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]

tokens_app = typer.Typer(help="HTTP API tokens: create (shown once), list, revoke.", no_args_is_help=True)


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
) -> None:
    """Create a token NAME and print its secret ONCE (only its SHA-256 is stored), and, on stderr, ONCE,
    the secret that signs its jobs' completion webhooks."""
    from shared.webhooks.outbound.targets import callback_problem

    store = context.store()
    try:
        if callback_url is not None:
            problem = _url_problem(callback_url) or callback_problem(callback_url, context.settings())
            if problem:
                raise ValueError(f"callback URL: {problem}")
        token, secret = store.api_tokens.create(
            name, scope.split(","), callback_url=callback_url, owner=owner
        )
    except (TokenNameTaken, ValueError) as exc:
        errors.print(f"[red]refused[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    errors.print(
        f"token {token.name} (owner: {token.owner}; scopes: {','.join(token.scopes)}); "
        "store it now, it is not shown again:"
    )
    print(secret)
    signing = store.api_tokens.webhook_secret(token.name)
    errors.print(f"webhook signing secret (Regq-Signature; not shown again): {signing}", soft_wrap=True)


def _url_problem(url: str) -> str | None:
    from shared.jobs import check_callback_url

    try:
        check_callback_url(url)
    except ValueError as exc:
        return str(exc)
    return None


@tokens_app.command("list")
def list_tokens(as_json: JsonFlag = False) -> None:
    """Every token: name, scopes, created, revoked (never the secret)."""
    rows: list[dict[str, Any]] = [
        {
            "name": t.name,
            "owner": t.owner,
            "scopes": list(t.scopes),
            "created_at": t.created_at.isoformat(),
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
        }
        for t in context.store().api_tokens.all()
    ]
    if as_json:
        emit_json(rows)
        return
    table(
        "API tokens",
        ["name", "owner", "scopes", "created", "revoked"],
        [(r["name"], r["owner"], ",".join(r["scopes"]), r["created_at"], r["revoked_at"]) for r in rows],
    )


@tokens_app.command("revoke")
def revoke(name: str) -> None:
    """Revoke token NAME: every request with it is 401 from now on."""
    if not context.store().api_tokens.revoke(name):
        errors.print(f"[red]no active token named {name!r}[/red]")
        raise typer.Exit(1)
    errors.print(f"token {name} revoked")
