"""`protoforge gen`: plan the generated tree, compare it with the disk, write or report."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from protoforge.cli._common import (
    ConfigOption,
    QuietOption,
    err,
    load,
    run_guarded,
    stopping_cleanly,
)
from protoforge.errors import ExitCode

if TYPE_CHECKING:
    from protoforge.output.plan import Outcome


def register(app: typer.Typer) -> None:
    app.command()(gen)


def gen(
    config: ConfigOption = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing; exit 1 if the generated tree is stale, 0 if current."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff of changes.")] = False,
    quiet: QuietOption = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List unchanged files too.")
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Regenerate everything; ignore and do not update .protoforge-cache."
        ),
    ] = False,
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            help="Seconds to wait for another gen running on the same project (then exit 2).",
            min=0,
        ),
    ] = 60.0,
) -> None:
    """Generate typed messages, stubs, servers and clients from the contracts."""

    def body() -> int:
        from protoforge.output.lock import gen_lock
        from protoforge.output.plan import compare
        from protoforge.pipeline import generate, write

        started = time.perf_counter()
        settings = load(config)

        def waiting() -> None:
            if not quiet:
                err(f"protoforge: waiting for another gen on this project ({lock_timeout:g} s)")

        writes = not (check or dry_run)
        lock = gen_lock(
            settings.project_dir, timeout=lock_timeout, on_wait=waiting, exclusive=writes
        )
        with lock:
            with compile_progress(quiet=quiet) as progress:
                plan = generate(settings, use_cache=not no_cache, progress=progress)
            for warning in plan.warnings:
                if not quiet:
                    err(str(warning))
            if plan.provided and not quiet:
                from protoforge.source.provided import describe_copies

                typer.echo(describe_copies(plan.provided), err=check)
            outcome = compare(plan)
            if writes:
                write(settings, plan, outcome)
        if not quiet:
            report(outcome, verbose=verbose, diff=diff, dry=not writes)
            elapsed = time.perf_counter() - started
            for line in skipped_lines(outcome):  # before the summary, which stays last
                typer.echo(line, err=check)
            typer.echo(summary(outcome, elapsed, dry=not writes), err=check)
        if check and outcome.stale:
            err(
                f"protoforge: {len(outcome.stale)} generated file(s) are stale; "
                "run `protoforge gen` and commit the result"
            )
            return ExitCode.FINDINGS
        return ExitCode.OK

    with stopping_cleanly():
        code = run_guarded(body)
    raise typer.Exit(code)


@contextmanager
def compile_progress(*, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal (rich), a plain line per step in CI, and
    nothing for small runs (a single protoc process) or with --quiet."""
    if quiet:
        yield None
        return
    if not sys.stderr.isatty():

        def plain(done: int, total: int) -> None:
            if done < total or total >= 500:
                err(f"  compiled {done}/{total} contracts")

        yield plain
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bar = Progress(
        "compiling", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    )
    task = bar.add_task("compile", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def report(outcome: Outcome, *, verbose: bool, diff: bool, dry: bool) -> None:
    from protoforge.output.plan import Status, unified_diff
    from protoforge.paths import display_path

    verb = "would be " if dry else ""
    changes = outcome.changes + (outcome.kept_changes() if verbose else [])
    for change in sorted(changes, key=lambda change: str(change.path)):
        if change.status in (Status.UNCHANGED, Status.SKIPPED) and not verbose:
            continue
        stream_err = dry  # in --check/--dry-run mode the report is diagnostics, not output
        label = f"{verb}{change.status.value}"
        shown = display_path(change.path)
        typer.echo(f"  {label:<20} {shown}", err=stream_err)
        if diff and change.is_change:
            # The same path in the diff headers as in the status line above it.
            typer.echo(unified_diff(change, Path(shown).as_posix()), nl=False, err=stream_err)


def summary(outcome: Outcome, elapsed: float, *, dry: bool) -> str:
    from protoforge.output.plan import Status

    counts = ", ".join(f"{outcome.count(s)} {s.value}" for s in Status)
    prefix = "gen (dry run)" if dry else "gen"
    return f"{prefix}: {counts} in {elapsed:.2f}s"


SKIPPED_SHOWN = 3  # paths named per reason; the rest are counted (`-v` lists them all)


def skipped_lines(outcome: Outcome) -> list[str]:
    """One line per reason files were skipped: how many, why, and the first few paths."""
    from protoforge.paths import display_path

    lines = []
    for reason, names in outcome.skipped_by_reason().items():
        shown = ", ".join(display_path(Path(name)) for name in names[:SKIPPED_SHOWN])
        more = f", and {len(names) - SKIPPED_SHOWN} more" if len(names) > SKIPPED_SHOWN else ""
        lines.append(f"  skipped {len(names)}: {reason}: {shown}{more}")
    return lines
