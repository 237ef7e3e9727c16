"""``regq submit transfer|nameservers|lock|contacts|glue|owner-change ...``: the day-2 kinds (issue 20),
on the same typer app as :mod:`workers.commands.submit` (``workers/cli.py`` imports the app from here, so
they register).

A transfer's (or a .ro owner change's) auth code is a secret: never an argv value (``ps`` shows argv to
every user of the host). It is read from ``--auth-code-file F`` or from stdin (``--auth-code -``), and
never printed back.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.errors import FieldProblem
from workers.commands.submit import JsonFlag, _errno_name, _fail, _owner, _submit_one, app

__all__ = ["app"]

#: More than any auth code (255 characters) plus line endings: a larger input is refused unread.
_AUTH_CODE_READ_LIMIT = 1024
_AUTH_CODE_HELP = "'-': read the auth code from stdin (a code given here would show in ps)"

Key = Annotated[str | None, typer.Option(help="idempotency key (default: derived from the job)")]
Registrar = Annotated[str | None, typer.Option(help="inferred from the TLD when omitted")]
Contact = Annotated[str | None, typer.Option(help="a JSON object, or a file holding one")]


def _submit(as_json: bool, **fields: Any) -> None:
    """Submit the job of ``fields`` (those given: a None is left out, the model's default applies)."""
    _submit_one({k: v for k, v in fields.items() if v is not None}, as_json)


def _auth_code(auth_code_file: Path | None, auth_code: str | None, as_json: bool) -> str:
    """The auth code from the file or from stdin; a refusal names ``auth_code`` and never shows the code."""
    if (auth_code_file is None) == (auth_code is None):
        reason = "give --auth-code-file F or --auth-code - (stdin), one of them"
        _fail([(None, FieldProblem("auth_code", reason))], as_json)
    if auth_code is not None and auth_code != "-":
        reason = "not taken on the command line (ps shows it): give --auth-code - and the code on stdin"
        _fail([(None, FieldProblem("auth_code", reason))], as_json)
    try:
        if auth_code_file is not None:
            with auth_code_file.open("rb") as stream:
                data = stream.read(_AUTH_CODE_READ_LIMIT + 1)
        else:
            data = sys.stdin.buffer.read(_AUTH_CODE_READ_LIMIT + 1)
    except OSError as exc:
        _fail([(None, FieldProblem("auth_code", f"cannot read it ({_errno_name(exc)})"))], as_json)
    if len(data) > _AUTH_CODE_READ_LIMIT:
        _fail([(None, FieldProblem("auth_code", f"more than {_AUTH_CODE_READ_LIMIT} bytes"))], as_json)
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        _fail([(None, FieldProblem("auth_code", "not UTF-8 text"))], as_json)


def _contacts(as_json: bool, **roles: str | None) -> dict[str, dict[str, Any]]:
    return {role: _owner(value, as_json, role) for role, value in roles.items() if value is not None}


def _host_addresses(field: str, values: list[str], as_json: bool) -> dict[str, list[str]]:
    """``HOST=IP[,IP...]`` options as ``{host: [ip, ...]}`` (the job model checks hosts and addresses)."""
    hosts: dict[str, list[str]] = {}
    for value in values:
        host, sep, addresses = value.partition("=")
        if not sep or not host.strip() or not addresses.strip():
            _fail([(None, FieldProblem(field, f"expected HOST=IP[,IP...], got {value[:80]!r}"))], as_json)
        if host.strip() in hosts:
            _fail([(None, FieldProblem(f"{field}.{host.strip()[:80]}", "given twice"))], as_json)
        hosts[host.strip()] = [a.strip() for a in addresses.split(",")]
    return hosts


@app.command()
def transfer(
    domain: str,
    auth_code_file: Annotated[
        Path | None, typer.Option("--auth-code-file", help="a file holding the auth code (one line)")
    ] = None,
    auth_code: Annotated[str | None, typer.Option("--auth-code", help=_AUTH_CODE_HELP)] = None,
    owner: Annotated[str | None, typer.Option(help="registrant (gandi: required): JSON or a file")] = None,
    admin: Contact = None,
    bill: Contact = None,
    tech: Contact = None,
    years: int = 1,
    nameserver: Annotated[list[str] | None, typer.Option("--ns", "--nameserver", help="repeat")] = None,
    registrar: Registrar = None,
    key: Key = None,
    as_json: JsonFlag = False,
) -> None:
    """Transfer DOMAIN in with its auth code (read from a file or stdin, never shown)."""
    code = _auth_code(auth_code_file, auth_code, as_json)
    _submit(
        as_json,
        kind="transfer",
        domain=domain,
        auth_code=code,
        **_contacts(as_json, owner=owner, admin=admin, bill=bill, tech=tech),
        years=years,
        nameservers=nameserver or None,
        registrar=registrar,
        idempotency_key=key,
    )


@app.command()
def nameservers(
    domain: str,
    ns: Annotated[list[str], typer.Option("--ns", "--nameserver", help="repeat for each nameserver")],
    glue: Annotated[
        list[str] | None, typer.Option(help="HOST=IP[,IP...] for a nameserver inside DOMAIN; repeat")
    ] = None,
    registrar: Registrar = None,
    key: Key = None,
    as_json: JsonFlag = False,
) -> None:
    """Make DOMAIN's nameservers (and the glue of those inside it) what is given."""
    _submit(
        as_json,
        kind="nameservers",
        domain=domain,
        nameservers=ns,
        glue=_host_addresses("glue", glue or [], as_json),
        registrar=registrar,
        idempotency_key=key,
    )


@app.command()
def lock(
    domain: str,
    locked: Annotated[bool, typer.Option("--on/--off", help="lock against transfers out, or unlock")],
    registrar: Registrar = None,
    key: Key = None,
    as_json: JsonFlag = False,
) -> None:
    """Lock (--on) or unlock (--off) DOMAIN against transfers out."""
    _submit(as_json, kind="lock", domain=domain, locked=locked, registrar=registrar, idempotency_key=key)


@app.command()
def contacts(
    domain: str,
    admin: Contact = None,
    bill: Contact = None,
    tech: Contact = None,
    owner: Annotated[
        str | None, typer.Option(help="rotld: the registrant's address data (JSON or a file)")
    ] = None,
    registrar: Registrar = None,
    key: Key = None,
    as_json: JsonFlag = False,
) -> None:
    """Change DOMAIN's contacts (gandi: admin, bill, tech; rotld: the registrant's address data)."""
    _submit(
        as_json,
        kind="contacts",
        domain=domain,
        **_contacts(as_json, owner=owner, admin=admin, bill=bill, tech=tech),
        registrar=registrar,
        idempotency_key=key,
    )


@app.command()
def glue(
    domain: str,
    host: Annotated[list[str] | None, typer.Option(help="HOST=IP[,IP...] to set; repeat")] = None,
    delete: Annotated[list[str] | None, typer.Option(help="a host whose glue goes; repeat")] = None,
    registrar: Registrar = None,
    key: Key = None,
    as_json: JsonFlag = False,
) -> None:
    """Create, change or delete the glue (addresses) of hosts under DOMAIN."""
    _submit(
        as_json,
        kind="glue",
        domain=domain,
        hosts=_host_addresses("hosts", host or [], as_json),
        delete=delete or [],
        registrar=registrar,
        idempotency_key=key,
    )


@app.command("owner-change")
def owner_change(
    domain: str,
    owner: Annotated[
        str, typer.Option("--owner-file", "--owner", help="the new registrant: a file holding JSON, or JSON")
    ],
    auth_code_file: Annotated[
        Path | None,
        typer.Option("--auth-code-file", help="rotld: a file holding the registrant's authorization key"),
    ] = None,
    auth_code: Annotated[str | None, typer.Option("--auth-code", help=_AUTH_CODE_HELP)] = None,
    years: Annotated[int | None, typer.Option(help="rotld: the trade's period (domain_period)")] = None,
    registrar: Registrar = None,
    key: Key = None,
    as_json: JsonFlag = False,
) -> None:
    """Give DOMAIN a new owner (gandi: changeowner, confirmed by e-mail; rotld: a trade, paid, with the
    registrant's authorization key read from a file or stdin, never shown)."""
    code = (
        None
        if auth_code_file is None and auth_code is None
        else _auth_code(auth_code_file, auth_code, as_json)
    )
    _submit(
        as_json,
        kind="owner_change",
        domain=domain,
        owner=_owner(owner, as_json),
        auth_code=code,
        years=years,
        registrar=registrar,
        idempotency_key=key,
    )
