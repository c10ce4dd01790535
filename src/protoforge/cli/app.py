"""The typer application: the root callback and one `register` call per command module. Each
command lives in its own module (gen, init, breaking, lint) and depends only on `_common`, so the
command modules cannot import each other."""

from __future__ import annotations

import signal
import sys
from typing import Annotated, NoReturn

import typer

from protoforge import __version__
from protoforge.cli import breaking, gen, init, lint
from protoforge.cli._common import report_interrupt

app = typer.Typer(
    name="protoforge",
    help="Contract-first gRPC for Python: typed packages, servers and clients from .proto files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rendering it with rich costs ~170 ms of imports on every `--help`.
    rich_markup_mode=None,
)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"protoforge {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Contract-first gRPC for Python."""


gen.register(app)
init.register(app)
breaking.register(app)  # check-breaking, snapshot, diff
lint.register(app)  # lint, format


def main() -> NoReturn:
    # Typer/click exit 2 for usage errors already, which matches our table.
    try:
        app()
    except SystemExit as exc:
        if exc.code == 128 + signal.SIGINT:
            # Ctrl-C before a command body ran (while Python and typer start up): typer turns
            # it into a silent exit 130; say what happened, as a command body does.
            report_interrupt()
        sys.exit(exc.code)
    sys.exit(0)
