"""``datadam stack up|down|status``: the local stack from the command line.

Mounted by ``pipelines/cli/__init__.py`` as ``app.add_typer(stack_app, name="stack")``. Services run detached
and keep running after the command exits.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.stack.core import SERVICES, ServiceStatus, down, status, up
from pipelines.stack.errors import StackError

stack_app = typer.Typer(
    help="The local stack: Label Studio, an S3 endpoint and an AIRFLOW_HOME on loopback.",
    no_args_is_help=True,
)
# Piped output (CI logs) would otherwise be cut at 80 columns, splitting the URLs people copy.
_console = Console(width=None if sys.stdout.isatty() else 140)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Stack home (default: $DATADAM_HOME or <repo>/.datadam)."),
]
ServiceOption = Annotated[
    list[str] | None,
    typer.Option("--service", "-s", help=f"Only these services (repeatable): {', '.join(SERVICES)}."),
]
ProductionOption = Annotated[
    bool,
    typer.Option(
        "--production-like",
        help="Airflow as in production: PostgreSQL metadata DB, Redis broker, scheduler, dag-processor, "
        "triggerer, api-server and Celery workers (see docs/deploy.md).",
    ),
]


def _table(rows: list[ServiceStatus]) -> Table:
    table = Table(title="datadam stack")
    table.add_column("service", no_wrap=True)
    table.add_column("URL", no_wrap=True)
    table.add_column("pid", no_wrap=True)
    table.add_column("health", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for row in rows:
        health = "[green]healthy[/green]" if row.healthy else "[red]down[/red]"
        table.add_row(row.name, row.url or "-", str(row.pid) if row.pid else "-", health, row.detail)
    return table


def _up_production(home: Path | None, workers: int, concurrency: int, timeout: float) -> None:
    from pipelines.stack import production

    began = time.monotonic()
    try:
        with _console.status("starting the production-like stack (Airflow on Celery, PostgreSQL, Redis)"):
            info = production.up(home=home, workers=workers, concurrency=concurrency, timeout=timeout)
    except (StackError, ValueError) as exc:
        _console.print(f"[red]stack up --production-like failed:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    started = ", ".join(info.started) or "nothing (all running)"
    _console.print(f"started {started} in {time.monotonic() - began:.1f} s; state in {info.home}")
    _console.print(_table(status(home=home) + production.status(home=home)))
    _console.print(
        f"Airflow UI and REST API: {info.api_url}  (user {info.admin_user}; password "
        f"`airflow_admin_password` in {info.home / 'secrets.json'})"
    )
    _console.print(
        f"QA gate: only user {production.INSPECTOR_USER} answers it (password `airflow_inspector_password`); "
        f"{production.CONTRACTOR_USER} runs DAGs (`airflow_contractor_password`)"
    )


@stack_app.command("up")
def up_cmd(
    *,
    home: HomeOption = None,
    service: ServiceOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for Label Studio.")] = 300.0,
    production_like: ProductionOption = False,
    workers: Annotated[int, typer.Option(help="Celery workers (with --production-like).")] = 2,
    concurrency: Annotated[int, typer.Option(help="Task slots per worker (with --production-like).")] = 1,
) -> None:
    """Start the stack (or reuse what already runs) and show where everything listens."""
    if production_like:
        _up_production(home, workers, concurrency, timeout)
        return
    began = time.monotonic()
    try:
        with _console.status("starting the local stack (the first Label Studio start takes a minute or two)"):
            info = up(home=home, services=tuple(service or SERVICES), timeout=timeout)
    except (StackError, ValueError) as exc:
        _console.print(f"[red]stack up failed:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    started = ", ".join(info.started) or "nothing (all running)"
    _console.print(f"started {started} in {time.monotonic() - began:.1f} s; state in {info.home}")
    _console.print(_table(status(home=home)))


@stack_app.command("down")
def down_cmd(
    *, home: HomeOption = None, service: ServiceOption = None, production_like: ProductionOption = False
) -> None:
    """Stop the services `up` started; with --production-like only the production-like Airflow processes."""
    from pipelines.stack import production

    try:
        # Airflow's processes first: they hold connections to Label Studio and the S3 endpoint.
        stopped = production.down(home=home) if production_like or not service else []
        if not production_like:
            stopped += down(home=home, services=tuple(service) if service else None)
    except ValueError as exc:
        _console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
    _console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack_app.command("status")
def status_cmd(home: HomeOption = None, production_like: ProductionOption = False) -> None:
    """Show each service, its URL, pid and health; exit 1 if any is down.

    With --production-like also PostgreSQL, Redis, each Airflow process and the Celery workers, and the
    dag-processor's last parse of the DAG file (DAGs, import errors, seconds).
    """
    rows = status(home=home)
    if production_like:
        from pipelines.stack import production

        rows += production.status(home=home)
    _console.print(_table(rows))
    if not all(row.healthy for row in rows):
        raise typer.Exit(code=1)
