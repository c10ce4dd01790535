"""The command line. It parses flags, calls the library, prints, and maps outcomes to exit codes;
nothing else prints. Heavy modules are imported inside the commands (fast `--help`)."""

from __future__ import annotations

import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from protoforge import __version__
from protoforge.errors import ExitCode, ProtoforgeError

if TYPE_CHECKING:
    from protoforge.config import Config
    from protoforge.plan import Outcome

ISSUES_URL = "https://github.com/protoforge/protoforge/issues"

app = typer.Typer(
    name="protoforge",
    help="Contract-first gRPC for Python: typed packages, servers and clients from .proto files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rendering it with rich costs ~170 ms of imports on every `--help`.
    rich_markup_mode=None,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="pyproject.toml or protoforge.toml (default: found from the current directory up).",
        dir_okay=False,
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]

T = TypeVar("T")


def err(message: str) -> None:
    typer.echo(message, err=True)


def run_guarded(action: Callable[[], T]) -> T:
    """Run a command body: user errors become `path:line:col: message` plus a hint and exit 2;
    anything else is a bug, reported briefly with where to report it (exit 3)."""
    try:
        return action()
    except ProtoforgeError as error:
        fail(error)
    except KeyboardInterrupt as interrupt:
        # 128 + the signal's number, as shells report it: 130 for SIGINT, 143 for SIGTERM.
        signum = interrupt.signum if isinstance(interrupt, Terminated) else signal.SIGINT
        err(f"protoforge: {'terminated' if signum == signal.SIGTERM else 'interrupted'}")
        raise typer.Exit(128 + signum) from None
    except typer.Exit:
        raise
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        err(f"protoforge: internal error: {type(exc).__name__}: {exc}")
        err(f"  at {Path(last.filename).name}:{last.lineno}")
        err(f"  this is a bug in protoforge {__version__}; please report it at {ISSUES_URL}")
        raise typer.Exit(ExitCode.INTERNAL) from None


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that every cleanup path (rollback,
    temporary directories, subprocesses) treats the two alike."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stopping_cleanly() -> Iterator[None]:
    """SIGINT and SIGTERM stop gen the same way: protoc and mypy-protobuf processes are killed
    at once (they run in process groups of their own, which a terminal's Ctrl-C does not
    reach), then an exception unwinds the main thread through every cleanup (temporary
    directories, write rollback) and run_guarded exits with 130 or 143."""
    from protoforge.compile import stop_subprocesses

    def handler(signum: int, frame: object) -> None:
        stop_subprocesses()
        raise Terminated(signum) if signum == signal.SIGTERM else KeyboardInterrupt()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def fail(error: ProtoforgeError) -> NoReturn:
    for diagnostic in error.diagnostics:
        err(str(diagnostic))
    err(f"protoforge: error: {error.message}")
    if error.hint:
        err(f"  hint: {error.hint}")
    raise typer.Exit(error.exit_code)


def load(config_path: Path | None) -> Config:
    from protoforge.config import load_config

    return load_config(config_path)


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


@app.command()
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
        from protoforge.generate import generate, write
        from protoforge.lock import gen_lock
        from protoforge.plan import compare

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
                from protoforge.provided import describe_copies

                typer.echo(describe_copies(plan.provided), err=check)
            outcome = compare(plan)
            if writes:
                write(settings, plan, outcome, use_cache=not no_cache)
        if not quiet:
            report(outcome, settings, verbose=verbose, diff=diff, dry=not writes)
            elapsed = time.perf_counter() - started
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


def report(outcome: Outcome, settings: Config, *, verbose: bool, diff: bool, dry: bool) -> None:
    from protoforge.config import display_path
    from protoforge.plan import Status, unified_diff

    verb = "would be " if dry else ""
    changes = outcome.changes + (outcome.kept_changes() if verbose else [])
    for change in sorted(changes, key=lambda change: str(change.path)):
        if change.status in (Status.UNCHANGED, Status.SKIPPED) and not verbose:
            continue
        stream_err = dry  # in --check/--dry-run mode the report is diagnostics, not output
        label = f"{verb}{change.status.value}"
        typer.echo(f"  {label:<20} {display_path(change.path)}", err=stream_err)
        if diff and change.is_change:
            typer.echo(unified_diff(change, settings.out), nl=False, err=stream_err)


def summary(outcome: Outcome, elapsed: float, *, dry: bool) -> str:
    from protoforge.plan import Status

    counts = ", ".join(f"{outcome.count(s)} {s.value}" for s in Status)
    prefix = "gen (dry run)" if dry else "gen"
    return f"{prefix}: {counts} in {elapsed:.2f}s"


@app.command()
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
) -> None:
    """Create a runnable contract-first project: config, a sample contract, buf.yaml, a working
    implementation and a test. Refuses (exit 2, writing nothing) if anything would be
    overwritten."""

    def body() -> int:
        from protoforge.config import display_path
        from protoforge.init import TargetRequest, init_project

        targets = tuple(TargetRequest.parse(text) for text in target or ())
        result = init_project(directory, package, service, targets)
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


from protoforge.cli_breaking import register as register_breaking  # noqa: E402

register_breaking(app)  # check-breaking, snapshot, diff


def main() -> NoReturn:
    # Typer/click exit 2 for usage errors already, which matches our table.
    try:
        app()
    except SystemExit as exc:
        sys.exit(exc.code)
    sys.exit(0)
