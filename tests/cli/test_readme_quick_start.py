"""README's Quick start, run literally: its bash block line by line in a fresh shell (no
inherited environment), from a directory whose `.venv` is an environment with protoforge
installed, which is what the README's first set-up command (`bash examples/demo.sh`) leaves at
the repository root. Only the server's port changes: 0 instead of 50051 (tests never bind a
fixed port), and the server is stopped with Ctrl-C's signal, as the README says."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


def quick_start_lines() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quick start\n", 1)[1]
    block = section.split("```bash\n", 1)[1].split("\n```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def fresh_shell_env(home: Path) -> dict[str, str]:
    """What a new terminal has: a home and the system's PATH, nothing from this test run."""
    return {"HOME": str(home), "PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}


@pytest.mark.slow
def test_the_quick_start_works_as_written(tmp_path: Path) -> None:
    lines = quick_start_lines()
    assert lines[0].startswith(". .venv/bin/activate"), lines[0]
    *steps, serve = lines
    assert ":50051" in serve and "Ctrl-C" in serve, serve

    # demo.sh's .venv has protoforge without its dev extra, so no pytest: the Quick start must
    # install it before it runs the sample test (a new user once got "No module named pytest").
    demo = (REPO / "examples/demo.sh").read_text(encoding="utf-8")
    assert re.search(r"pip install .* -e \.\n", demo), "demo.sh installs protoforge alone"
    install = next(i for i, line in enumerate(lines) if re.match(r"(python -m )?pip install", line))
    assert "pytest" in lines[install].split("#")[0]
    assert install < next(i for i, line in enumerate(lines) if "-m pytest" in line)

    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    home = tmp_path / "home"
    home.mkdir()
    bash = shutil.which("bash")
    assert bash is not None
    script = "set -euo pipefail\n" + "\n".join(steps) + "\n"
    done = subprocess.run(
        [bash, "-c", script],
        cwd=tmp_path,
        env=fresh_shell_env(home),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout  # the sample test ran

    # The last line starts the server, in the directory the steps left the shell in.
    cd = next(line for line in steps if line.startswith("cd "))
    last = "\n".join([*steps[:1], cd, serve.replace(":50051", ":0")])
    server = subprocess.Popen(
        [bash, "-c", "set -euo pipefail\n" + last],
        cwd=tmp_path,
        env=fresh_shell_env(home),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, which Ctrl-C signals as a whole
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        assert re.fullmatch(r"serving \S+ on 127\.0\.0\.1:\d+\n", line), line
        os.killpg(server.pid, signal.SIGINT)
        assert server.wait(timeout=30) == 0
        assert "Traceback" not in server.stderr.read()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
