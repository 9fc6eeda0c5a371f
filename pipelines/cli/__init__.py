"""`datadam`: one command for contractors, QA inspectors and AI developers."""

from __future__ import annotations

import typer

from pipelines.cli import datasets, deid, label, qa, quarantine, run, specs, sweep
from pipelines.stack.cli import stack_app

app = typer.Typer(
    name="datadam",
    help="Build AI training datasets the Data Dam way: spec -> collect -> annotate -> verify -> publish.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
)
# Each module of pipelines/cli exposes one typer `app`: a command group is added under its name, the modules of
# top-level commands (`run`/`demo`, `sweep`, `download` with the `datasets` group) without one, which merges them.
app.add_typer(run.app)
app.add_typer(sweep.app)
app.add_typer(datasets.app)
app.add_typer(specs.app, name="specs")
app.add_typer(stack_app, name="stack")
app.add_typer(label.app, name="label")
app.add_typer(qa.app, name="qa")
app.add_typer(deid.app, name="deid")
app.add_typer(quarantine.app, name="quarantine")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
