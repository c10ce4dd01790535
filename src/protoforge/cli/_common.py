"""What every command shares: the common options, error reporting and exit codes, the signal
handling, config loading. The only place (with the command modules) that prints."""

from __future__ import annotations

import signal
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

ISSUES_URL = "https://github.com/protoforge/protoforge/issues"

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
        report_interrupt(signum)
        raise typer.Exit(128 + signum) from None
    except typer.Exit:
        raise
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        err(f"protoforge: internal error: {type(exc).__name__}: {exc}")
        err(f"  at {Path(last.filename).name}:{last.lineno}")
        err(f"  this is a bug in protoforge {__version__}; please report it at {ISSUES_URL}")
        raise typer.Exit(ExitCode.INTERNAL) from None


_interrupt_reported = False


def report_interrupt(signum: int = signal.SIGINT) -> None:
    """Say once that the run was stopped by a signal."""
    global _interrupt_reported
    if not _interrupt_reported:
        _interrupt_reported = True
        err(f"protoforge: {'terminated' if signum == signal.SIGTERM else 'interrupted'}")


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
    from protoforge.source.protoc import stop_subprocesses

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
    print_error(error)
    raise typer.Exit(error.exit_code)


def print_error(error: ProtoforgeError) -> None:
    """`path:line:col: error: message` per diagnostic, the error, its hint (stderr)."""
    for diagnostic in error.diagnostics:
        err(str(diagnostic))
    err(f"protoforge: error: {error.message}")
    if error.hint:
        err(f"  hint: {error.hint}")


def load(config_path: Path | None) -> Config:
    from protoforge.config import load_config

    return load_config(config_path)
