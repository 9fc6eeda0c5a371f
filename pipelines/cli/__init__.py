"""`datadam`: one command for contractors, QA inspectors and AI developers."""

from __future__ import annotations

import typer

from pipelines.cli import datasets as cli_datasets
from pipelines.cli import run as cli_run
from pipelines.cli import sweep as cli_sweep
from pipelines.cli.deid import deid_app
from pipelines.cli.label import label_app
from pipelines.cli.qa import qa_app
from pipelines.cli.quarantine import quarantine_app
from pipelines.cli.specs import specs_app
from pipelines.stack.cli import stack_app

app = typer.Typer(
    name="datadam",
    help="Build AI training datasets the Data Dam way: spec -> collect -> annotate -> verify -> publish.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
)
app.add_typer(specs_app, name="specs")
app.add_typer(stack_app, name="stack")
app.add_typer(label_app, name="label")
app.add_typer(qa_app, name="qa")
cli_run.register(app)
cli_sweep.register(app)
app.add_typer(deid_app, name="deid")
app.add_typer(quarantine_app, name="quarantine")
cli_datasets.register(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
