"""`protoforge check-breaking` without typer: the console entry point's first stop.

A breaking check in CI is one short command, and on a small tree most of its time used to be
the CLI framework: importing typer and building its (pydantic) parameter adapters cost more than
buf's whole comparison. So `main` parses the plain check-breaking command line itself (the flags
`--against`, `--format`/`-f`, `--full`, `--config`/`-c`) and runs it directly; anything else, or
anything it does not recognise exactly (`--help`, an unknown flag, a missing value, an unknown
format), goes to the typer application in cli.py, which prints help and usage errors as for
every other command. Output and exit codes are the same on both routes.

On this route buf is started before anything else is imported (see breaking/early.py), and the
process ends with `os._exit` once its output is flushed: tearing down the interpreter (freeing
every module's objects one by one) cost about a tenth of a small tree's run and nothing is left
to do at that point (buf has exited, the temporary pipes are removed, no atexit hook is ours).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from typing import NoReturn

    from protoforge.breaking.early import EarlyBuf

FORMATS = ("text", "json", "github", "junit", "sarif", "markdown")
_VALUED = {"--against": "against", "--format": "format", "-f": "format", "--config": "config",
           "-c": "config"}  # fmt: skip


def main() -> NoReturn:
    options = parse_check_breaking(sys.argv[1:])
    if options is not None:
        _exit_now(run_check_breaking(options))
    try:
        from protoforge.cli.app import main as typer_main
    except KeyboardInterrupt:
        # Ctrl-C while the CLI's modules load: nothing has started yet.
        _err("protoforge: interrupted")
        sys.exit(130)
    typer_main()


def parse_check_breaking(argv: list[str]) -> dict[str, str] | None:
    """The options of a plain `check-breaking` command line, None for anything else."""
    if not argv or argv[0] != "check-breaking":
        return None
    options: dict[str, str] = {}
    rest = argv[1:]
    while rest:
        argument = rest.pop(0)
        name, has_value, value = argument.partition("=")
        if argument == "--full":
            options["full"] = "1"
        elif name in _VALUED and name.startswith("--") and has_value:
            options[_VALUED[name]] = value
        elif argument in _VALUED and rest and not rest[0].startswith("-"):
            options[_VALUED[argument]] = rest.pop(0)
        else:
            return None
    if "against" not in options or options.get("format", "text") not in FORMATS:
        return None
    return options


def run_check_breaking(options: dict[str, str]) -> int:
    # buf first, before anything else is imported: its start-up overlaps all of the imports
    # below (it waits for its configuration and images)
    from protoforge.breaking.early import EarlyBuf

    started = EarlyBuf.launch(small=True)
    # A short run that allocates mostly while importing: Python's cyclic collector, left at
    # its default, walks those objects again and again (a fifth of the import time on a
    # small tree). Collected every 100,000 allocations instead, memory stays bounded.
    import gc

    gc.set_threshold(100_000, 50, 50)
    # modules the check never uses, imported only if something does (see deferred_imports)
    from protoforge.cli.deferred_imports import import_deferring

    import_deferring("pathlib", {"urllib.parse": ("quote_from_bytes",)})  # for Path.as_uri
    import_deferring("dataclasses", {"inspect": (), "copy": ()})  # docstrings; asdict
    from protoforge import cachedir

    if started is not None:
        # while buf compares: the cache writes, and the imports of the report's rendering
        cachedir.hold_writes()
        started.meanwhile(cachedir.write_held)
        started.meanwhile(_import_formats)
    try:
        return _check_breaking(options, started)
    finally:
        if started is not None:
            started.cancel()  # a no-op once the check has used or stopped it
        cachedir.write_held()  # those buf did not get to (an error, or no early buf)


def _import_formats() -> None:
    from protoforge.breaking import formats  # noqa: F401  (json and the renderers)


def _check_breaking(options: dict[str, str], started: EarlyBuf | None) -> int:
    from pathlib import Path

    from protoforge import __version__
    from protoforge.errors import ExitCode, ProtoforgeError

    try:
        from protoforge.breaking import check_breaking
        from protoforge.config import load_config

        config_path = Path(options["config"]) if "config" in options else None
        report = check_breaking(
            load_config(config_path),
            options["against"],
            full="full" in options,
            started_buf=started,
        )
        # imported after the check: what buf's start-up does not have to wait for
        from protoforge.breaking.buf import rule_catalog
        from protoforge.breaking.formats import render

        sys.stdout.write(render(report, options.get("format", "text"), rule_catalog))
        sys.stdout.flush()
        return int(report.exit_code)
    except ProtoforgeError as error:
        for diagnostic in error.diagnostics:
            _err(str(diagnostic))
        _err(f"protoforge: error: {error.message}")
        if error.hint:
            _err(f"  hint: {error.hint}")
        return int(error.exit_code)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:
        import traceback

        from protoforge.cli._common import ISSUES_URL  # only on a bug: typer's import cost is fine

        last = traceback.extract_tb(exc.__traceback__)[-1]
        _err(f"protoforge: internal error: {type(exc).__name__}: {exc}")
        _err(f"  at {Path(last.filename).name}:{last.lineno}")
        _err(f"  this is a bug in protoforge {__version__}; please report it at {ISSUES_URL}")
        return int(ExitCode.INTERNAL)


def _exit_now(code: int) -> NoReturn:
    import os

    try:
        sys.stdout.flush()
    except OSError:  # stdout closed early (`| head`): the exit code Python itself would give
        code = 120
    try:
        sys.stderr.flush()
    finally:
        os._exit(code)


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
