"""`protoforge gen`: plan the generated tree, compare it with the disk, write or report."""

from __future__ import annotations

import contextlib
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
    Terminated,
    err,
    load,
    print_error,
    run_guarded,
    stopping_cleanly,
)
from protoforge.errors import ExitCode, ProtoforgeError

if TYPE_CHECKING:
    from protoforge.output.plan import Outcome
    from protoforge.watch.events import Watcher
    from protoforge.watch.session import Changes, Run, Session


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
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep running: regenerate whenever a contract, the config or a template is "
            "saved (Ctrl-C stops).",
        ),
    ] = False,
) -> None:
    """Generate typed messages, stubs, servers and clients from the contracts."""
    if watch:
        refused = [flag for flag, on in WATCH_CONFLICTS.items() if on(check, dry_run, no_cache)]
        if refused:
            err(
                f"protoforge: error: --watch cannot be combined with {', '.join(refused)}: "
                "it writes the tree on every change and records it in the cache"
            )
            raise typer.Exit(ExitCode.USER_ERROR)
        with stopping_cleanly():
            code = run_guarded(
                lambda: watch_loop(
                    config, quiet=quiet, verbose=verbose, diff=diff, lock_timeout=lock_timeout
                )
            )
        raise typer.Exit(code)

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


# -- gen --watch ------------------------------------------------------------------------------

# The flags --watch refuses, and how to tell each is given (check, dry_run, no_cache).
WATCH_CONFLICTS: dict[str, Callable[[bool, bool, bool], bool]] = {
    "--check": lambda check, dry_run, no_cache: check,
    "--dry-run": lambda check, dry_run, no_cache: dry_run,
    "--no-cache": lambda check, dry_run, no_cache: no_cache,
}


def watch_loop(
    config: Path | None, *, quiet: bool, verbose: bool, diff: bool, lock_timeout: float
) -> int:
    """Run gen, then again for every batch of saved files, until SIGINT or SIGTERM (exit 0).
    A failed run is reported as gen reports it, and the watch goes on."""
    from protoforge.config import find_config_file
    from protoforge.watch.session import Changes, Session

    found = config.resolve() if config is not None else find_config_file(Path.cwd())
    if found is None or not found.is_file():
        load(config)  # raises gen's error for a missing config (exit 2)
        raise AssertionError("load_config accepted a missing config")

    def waiting() -> None:
        if not quiet:
            err(f"protoforge: waiting for another gen on this project ({lock_timeout:g} s)")

    session = Session(found, lock_timeout=lock_timeout, on_lock_wait=waiting)
    with contextlib.suppress(ProtoforgeError):
        session.load()  # to watch the roots during the first run; its errors are the run's
    watcher: Watcher | None = None
    try:
        watcher, watched = _rewatch(session, None, None)[:2]  # before the first run starts
        changes = Changes()
        announced = quiet
        while True:
            _watch_run(session, changes, quiet=quiet, verbose=verbose, diff=diff)
            watcher, watched, changes = _rewatch(session, watcher, watched)
            if not announced:  # once every watch is in place (the output tree's too)
                err(f"protoforge: watching {_watch_scope(session)} (Ctrl-C to stop)")
                announced = True
            while not changes:
                changes = session.classify(watcher.batch(timeout=1.0))
    except KeyboardInterrupt as interrupt:
        signal_name = "SIGTERM" if isinstance(interrupt, Terminated) else "SIGINT"
        if not quiet:
            err(f"protoforge: watch stopped ({signal_name})")
        return ExitCode.OK
    finally:
        if watcher is not None:
            watcher.close()


def _watch_run(
    session: Session, changes: Changes, *, quiet: bool, verbose: bool, diff: bool
) -> None:
    """One run, reported: a status line as soon as the files are written, or the error
    exactly as gen prints it."""
    try:
        session.run(
            changes,
            written=None if quiet else lambda run: _report_run(run, verbose=verbose, diff=diff),
        )
    except ProtoforgeError as error:
        print_error(error)
        if not quiet:
            err("protoforge: still watching; save a fix to regenerate")


def _report_run(run: Run, *, verbose: bool, diff: bool) -> None:
    for warning in run.plan.warnings:
        err(str(warning))
    if run.reason == "first run" and run.plan.provided:
        from protoforge.source.provided import describe_copies

        typer.echo(describe_copies(run.plan.provided))
    if verbose or diff:  # the files written (not the thousands left unchanged), their diff
        report(run.outcome, verbose=False, diff=diff, dry=False)
    typer.echo(watch_status(run.reason, run.outcome, run.seconds))


def _rewatch(
    session: Session,
    watcher: Watcher | None,
    watched: tuple[tuple[Path, ...], tuple[Path, ...]] | None,
) -> tuple[Watcher, tuple[tuple[Path, ...], tuple[Path, ...]], Changes]:
    """The watcher for what the session watches now (a run can create the output tree, a
    config change move the roots), and the changes the old one saw before it was closed."""
    from protoforge.watch.events import Watcher, watchable
    from protoforge.watch.session import Changes

    recursive, flat = session.watched()
    wanted = (watchable(recursive), watchable(flat))
    if watcher is not None and wanted == watched:
        return watcher, watched, Changes()
    replacement = Watcher(*wanted)  # started before the old one stops: no save is missed
    if watcher is None:
        return replacement, wanted, Changes()
    watcher.close()
    return replacement, wanted, session.classify(watcher.batch(timeout=0))


def _watch_scope(session: Session) -> str:
    from protoforge.paths import display_path

    config = session.config
    if config is None:
        return display_path(session.config_path)
    roots = ", ".join(display_path(root) for root in config.proto_roots)
    return f"{roots} and {display_path(session.config_path)}"


def watch_status(reason: str, outcome: Outcome, seconds: float) -> str:
    """`watch: <what changed>: <what was written> in <time>`, one line per run."""
    from protoforge.output.plan import Status

    written = [
        f"{outcome.count(status)} {status.value}"
        for status in (Status.CREATED, Status.UPDATED, Status.REMOVED)
        if outcome.count(status)
    ]
    return f"watch: {reason}: {', '.join(written) or 'nothing to write'} in {seconds:.2f}s"
