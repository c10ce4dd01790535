"""`protoforge check-breaking`, `protoforge snapshot` and `protoforge diff`: the API gatekeeper.

Flags are parsed here, the work is done by `protoforge.breaking`, and only this module (with
cli.py) prints. Heavy modules are imported inside the command bodies.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from protoforge.cli._common import ConfigOption, load, run_guarded
from protoforge.errors import ExitCode


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"
    sarif = "sarif"
    markdown = "markdown"


class DiffFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


AgainstOption = Annotated[
    str,
    typer.Option(
        "--against",
        help="Baseline: a git ref (main, v1.2.0, HEAD~1, origin/main), a directory of contracts, "
        "or a snapshot file from `protoforge snapshot`. Prefix with git:, dir: or snapshot: "
        "to force the kind.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command("check-breaking")(check_breaking)
    app.command("snapshot")(snapshot)
    app.command("diff")(diff)


def check_breaking(
    against: AgainstOption,
    output_format: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="Output format.")
    ] = CheckFormat.text,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Compile and compare every contract on both sides, instead of only the packages "
            "that the change touches (the findings are the same; this is slower).",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Fail (exit 1) when the contracts break the API of the baseline, using buf's rules and the
    project's buf.yaml. Exit 2 when a side does not compile or the baseline cannot be found."""

    def body() -> int:
        from protoforge.breaking import check_breaking as check
        from protoforge.breaking.buf import rule_catalog
        from protoforge.breaking.formats import render

        settings = load(config)
        report = check(settings, against, full=full)
        typer.echo(render(report, output_format.value, rule_catalog), nl=False)
        return int(report.exit_code)

    raise typer.Exit(run_guarded(body))


def snapshot(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the snapshot (a FileDescriptorSet, .binpb).",
            dir_okay=False,
        ),
    ],
    config: ConfigOption = None,
) -> None:
    """Write today's contracts as a FileDescriptorSet with source info: the published API that
    later `check-breaking --against FILE` and `diff --against FILE` compare with."""

    def body() -> int:
        from protoforge.breaking import snapshot as take
        from protoforge.paths import display_path

        data = take(load(config))
        target = output.resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_bytes(data)
        temporary.replace(target)
        typer.echo(f"snapshot: wrote {display_path(target)}", err=True)
        return ExitCode.OK

    raise typer.Exit(run_guarded(body))


def diff(
    against: AgainstOption,
    semver: Annotated[
        str | None,
        typer.Option(
            "--semver",
            help="The current version (e.g. 1.4.2): print the recommended next version.",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="Output format.")
    ] = DiffFormat.text,
    breaking_bumps_major: Annotated[
        bool,
        typer.Option(
            "--breaking-bumps-major",
            help="With --semver 0.x: recommend a major bump (1.0.0) for breaking changes "
            "instead of semver's 0.x convention (breaking -> minor while the major is 0).",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """The API changelog against the baseline: every added, removed, renamed and changed
    service, RPC, message, field, enum and value, classified major (buf reports it as breaking
    under the project's buf.yaml, as check-breaking does) / minor / patch."""

    def body() -> int:
        from protoforge.breaking import changelog
        from protoforge.breaking.changelog import next_version, render

        settings = load(config)
        log = changelog(settings, against)
        recommended = (
            next_version(semver, log.level, major_in_zero=breaking_bumps_major)
            if semver is not None
            else None
        )
        typer.echo(render(log, output_format.value, semver, recommended), nl=False)
        return ExitCode.OK

    raise typer.Exit(run_guarded(body))
