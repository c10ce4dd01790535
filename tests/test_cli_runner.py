"""The tests' way of running commands (conftest.run_cli: forked from tests/_cli_zygote.py) must
give what a new `python -m protoforge` gives: exit code, stdout, stderr, the program name in
usage text, the working directory and the environment of the call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHOP_PROTOS, Result, make_project, run_cli, run_python


def interpreter(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    done = subprocess.run(
        [sys.executable, "-m", "protoforge", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("gen", "--no-such-flag"),
        ("check-breaking",),  # usage error: --against is required
        ("gen", "-q"),  # a broken config: a user error with file and line
        ("check-breaking", "--against", "missing-dir", "--format", "json"),  # the direct route
    ],
    ids=["help", "unknown flag", "usage error", "config error", "check-breaking"],
)
def test_a_forked_command_gives_what_a_new_interpreter_gives(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    project = make_project(tmp_path, SHOP_PROTOS, config='proto_roots = "proto"\nout = 3\n')
    forked, real = run_cli(*args, cwd=project), interpreter(*args, cwd=project)
    assert (forked.code, forked.stdout, forked.stderr) == (real.code, real.stdout, real.stderr)
    assert real.code != 0 or args == ("--help",)


def test_each_command_gets_its_own_directory_and_environment(tmp_path: Path) -> None:
    show = "import os, sys; print(os.getcwd(), os.environ.get('PF_PROBE'), sys.argv[1:])"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run_python(("-c", show), "x", cwd=tmp_path / "a", env={"PF_PROBE": "set"})
    second = run_python(("-c", show), cwd=tmp_path / "b")
    assert first.stdout == f"{tmp_path / 'a'} set ['x']\n"
    assert second.stdout == f"{tmp_path / 'b'} None []\n"


def test_a_command_that_runs_too_long_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_python(("-c", "import time; time.sleep(60)"), cwd=tmp_path, timeout=0.5)
    assert run_python(("-c", "print('next')"), cwd=tmp_path).stdout == "next\n"
