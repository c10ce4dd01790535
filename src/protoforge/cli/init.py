"""`protoforge init`: a new runnable contract-first project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from protoforge.cli._common import run_guarded
from protoforge.errors import ExitCode


def register(app: typer.Typer) -> None:
    app.command()(init)


def init(
    directory: Annotated[
        Path, typer.Argument(help="The project directory (created if absent).", file_okay=False)
    ] = Path("."),
    package: Annotated[
        str | None,
        typer.Option(
            "--package",
            help="Proto package and top-level Python package, lower_snake_case "
            "(default: from the directory name).",
            show_default=False,
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(
            "--service",
            help="The sample service's name, PascalCase (default: <Package>Service).",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="Also generate for another language: NAME (plugin protoc-gen-NAME, or a "
            "generator built into protoc) or NAME=PLUGIN_PATH. Repeatable.",
            show_default=False,
        ),
    ] = None,
    web: Annotated[
        bool,
        typer.Option(
            "--web",
            help="Also a TypeScript client (protoc-gen-es) and a web page that calls the "
            "server's gRPC-Web/Connect endpoint with it (npm, esbuild).",
        ),
    ] = False,
) -> None:
    """Create a runnable contract-first project: config, a sample contract, buf.yaml, a working
    implementation and a test. Refuses (exit 2, writing nothing) if anything would be
    overwritten."""

    def body() -> int:
        from protoforge.paths import display_path
        from protoforge.scaffold import TargetRequest, init_project

        targets = tuple(TargetRequest.parse(text) for text in target or ())
        result = init_project(directory, package, service, targets, web=web)
        for planned in result.files:
            typer.echo(f"  {planned.status.value:<20} {display_path(planned.path)}")
        names = result.names
        typer.echo(
            f"init: {names.proto_package}.{names.service} in {display_path(result.project)}"
            "\n\nNext steps:"
        )
        for step in result.next_steps:
            typer.echo(f"  {step}")
        return ExitCode.OK

    raise typer.Exit(run_guarded(body))
