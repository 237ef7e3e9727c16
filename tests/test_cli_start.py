"""``regq`` starts at once (issue 21): its commands are imported when they run (workers/commands/lazy.py).

Timing is bench/cli_start.py's; these tests check what is imported, which does not depend on the machine's
load: ``import workers.cli`` and ``regq --help`` pull in no database, broker, Redis or DNS library, and
``regq status KEY`` only what reading one job needs: the settings, SQLAlchemy Core and the database's driver
(shared/store/job_peek.py), never the ORM, the job models or the store's repositories."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest

from shared.store import Store
from workers.cli import RegqGroup

HEAVY = ("sqlalchemy", "alembic", "celery", "kombu", "dns", "redis", "requests", "tasks", "sandbox")


#: What ``regq status KEY`` no longer imports (issue 21): the ORM and the mapped schema, the job models
#: (pydantic models, contacts with phone numbers and countries), the store's repositories.
NOT_FOR_STATUS = {
    "sqlalchemy.orm",
    "shared.jobs",
    "shared.jobs_base",
    "shared.contact",
    "phonenumbers",
    "pycountry",
    "shared.store.schema",
    "shared.store.database",
    "shared.store.jobs",
    "shared.store.job_record",
}


def loaded_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages (and the ``workers.*``, ``shared.*`` and ``sqlalchemy.orm`` modules) a fresh
    interpreter holds after ``code``."""
    probe = (
        f"{code}\n"
        "import sys, json\n"
        "names = {m.split('.')[0] for m in sys.modules}\n"
        "names |= {m for m in sys.modules if m.startswith(('workers.', 'shared.', 'sqlalchemy.orm'))}\n"
        "print(json.dumps(sorted(names)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env or dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def run_main(*argv: str) -> str:
    return (
        "import sys\n"
        f"sys.argv = ['regq', *{list(argv)!r}]\n"
        "from workers.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )


def test_importing_the_cli_loads_no_heavy_library() -> None:
    loaded = loaded_after("import workers.cli")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_imports_no_command_module() -> None:
    loaded = loaded_after(run_main("--help"))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    commands = {m for m in loaded if m.startswith("workers.commands.")}
    assert commands == {"workers.commands.lazy"}, commands


def test_status_imports_only_what_reading_a_job_needs(store: Store, store_url: str) -> None:
    from shared.jobs import parse_job
    from testkit.factories import register

    store.jobs.create("status-key", parse_job(register("status-example.com")))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_")}
    env = {**clean, "REGQ_DATABASE_URL": store_url, "REGQ_STACK_FILE": ""}
    loaded = loaded_after(run_main("status", "status-key", "--json"), env)
    assert {"sqlalchemy", "shared.store.job_peek"} <= loaded  # it did read the job (the output is test_cli's)
    assert ("psycopg" in loaded) == store_url.startswith("postgresql")  # the driver of this database only
    unwanted = {"alembic", "celery", "kombu", "dns", "redis", "requests", "tasks", "sandbox", *NOT_FOR_STATUS}
    assert not loaded & unwanted, sorted(loaded & unwanted)
    assert {m for m in loaded if m.startswith("workers.commands.")} == {
        "workers.commands.lazy",
        "workers.commands.jobs",
    }


@pytest.mark.parametrize("name", sorted(RegqGroup.lazy))
def test_each_lazy_command_loads_and_its_help_line_is_its_own(name: str) -> None:
    entry = RegqGroup.lazy[name]
    command = entry.load(name)
    assert command.name == name
    own = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")
    assert entry.help == own, f"regq --help says {entry.help!r} for {name}, the command says {own!r}"


def test_a_typo_is_answered_with_the_names_of_unloaded_commands() -> None:
    from typer.testing import CliRunner

    from workers.cli import app

    result = CliRunner().invoke(app, ["statu"])
    assert result.exit_code == 2 and "Did you mean 'status'" in result.output, result.output
