"""A process that has imported protoforge's CLI and forks a fresh `python -m protoforge` for
each request: what `conftest.run_cli` runs most commands through.

The tests start a few hundred protoforge commands. Each real `python -m protoforge` spends about
half a second of CPU importing typer, pydantic, jinja2 and protobuf before it does anything, which
on a 2-core CI machine was a third of the suite's time. A forked child is still a process of its
own (its own exit code, stdout and stderr, signals, cwd, environment, subprocesses, and an
`os._exit` that ends only it), started as `python -m protoforge` starts (runpy, with
`__main__` and `sys.argv` as Python sets them); only the imports are inherited. What Python
reads at start-up (PYTHON* variables, the locale) cannot be given to a child; run_cli starts a
real interpreter for those.

Protocol, one JSON object per line: the test sends {"argv", "cwd", "env", "stdout", "stderr",
"code"} (files for the child's output; "code", if not null, to run `python -c CODE ARGV`
instead); the zygote answers {"pid"} once the child runs, then {"status"} (a negative
number: killed by that signal, as subprocess reports it). One command at a time. This process
imports nothing that starts threads (grpc is not imported).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback

# What every command imports: loaded once here, before any fork.
import jinja2  # noqa: F401
import typer._adapters  # noqa: F401

import protoforge.breaking
import protoforge.cli.app
import protoforge.codegen.render
import protoforge.lint
import protoforge.pipeline
import protoforge.scaffold  # noqa: F401


def child(request: dict[str, object]) -> None:
    """In the forked child: become `python -m protoforge ARGV` (or `python -c CODE ARGV`) in
    `cwd` with `env`, then exit."""
    code = 1
    try:
        os.setpgid(0, 0)  # a group of its own: a timeout stops it and what it started
        os.chdir(str(request["cwd"]))
        environment = request["env"]
        assert isinstance(environment, dict)
        os.environ.clear()
        os.environ.update(environment)
        import tempfile

        tempfile.tempdir = None  # read TMPDIR again, as a new interpreter would
        for fd, path, flags in (
            (0, os.devnull, os.O_RDONLY),
            (1, str(request["stdout"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            (2, str(request["stderr"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        ):
            opened = os.open(path, flags, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (the child's whole life)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        argv = request["argv"]
        assert isinstance(argv, list)
        source = request.get("code")
        try:
            if isinstance(source, str):  # python -c SOURCE ARGV
                sys.argv = ["-c", *map(str, argv)]
                exec(compile(source, "<string>", "exec"), {"__name__": "__main__"})
            else:  # python -m protoforge ARGV
                import runpy

                sys.argv = ["-m", *map(str, argv)]
                runpy.run_module("protoforge", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exit_:
            code = _exit_code(exit_.code)
        except KeyboardInterrupt:
            traceback.print_exc()
            code = 128 + signal.SIGINT
        except BaseException:
            traceback.print_exc()
            code = 1
        _shut_down_as_python_does()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _shut_down_as_python_does() -> None:
    """What the interpreter does at exit before it goes: wait for the threads that are not
    daemons (and the executors' workers), then run the atexit handlers."""
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()


def _exit_code(code: object) -> int:
    """What Python's own exit makes of `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(request)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
