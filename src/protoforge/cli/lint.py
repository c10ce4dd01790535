"""`protoforge lint` and `protoforge format`: buf's linter and formatter on the contracts.

Flags are parsed here, the work is done by `protoforge.lint`; heavy modules are imported inside
the command bodies.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from protoforge.cli._common import ConfigOption, err, load, run_guarded
from protoforge.errors import ExitCode


class LintFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"
    sarif = "sarif"
    markdown = "markdown"


def register(app: typer.Typer) -> None:
    app.command("lint")(lint)
    app.command("format")(format_contracts)


def lint(
    output_format: Annotated[
        LintFormat, typer.Option("--format", "-f", help="Output format.")
    ] = LintFormat.text,
    config: ConfigOption = None,
) -> None:
    """Check the contracts against buf's lint rules and the project's buf.yaml lint section.
    Exit 1 on findings, 2 when the contracts do not compile or buf.yaml is invalid."""

    def body() -> int:
        from protoforge.breaking.formats import render
        from protoforge.lint import lint as run_lint

        report = run_lint(load(config))
        typer.echo(render(report, output_format.value), nl=False)
        return int(report.exit_code)

    raise typer.Exit(run_guarded(body))


def format_contracts(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing; list the files that would change and exit 1 if any."
        ),
    ] = False,
    diff: Annotated[
        bool,
        typer.Option(
            "--diff",
            help="Write nothing; print a unified diff and exit 1 if anything would change.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Format the contracts with `buf format`, in place (each file replaced atomically)."""

    def body() -> int:
        from protoforge.lint import reformat
        from protoforge.paths import atomic_write

        changed = reformat(load(config))
        if diff:
            for change in changed:
                typer.echo(change.unified_diff(), nl=False)
        if check:
            for change in changed:
                err(f"would reformat {change.display}")
        if check or diff:
            count = len(changed)
            err(
                f"{count} file{'s' * (count != 1)} would be reformatted"
                if count
                else "all formatted"
            )
            return ExitCode.FINDINGS if changed else ExitCode.OK
        for change in changed:
            atomic_write(change.path, change.after)
            err(f"reformatted {change.display}")
        return ExitCode.OK

    raise typer.Exit(run_guarded(body))
