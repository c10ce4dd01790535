"""The bundled examples: their committed generated code is current (`protoforge gen --check`),
their own test suites pass (real servers on 127.0.0.1, port 0), and the route guide's demo
makes real calls of all four streaming kinds and stops cleanly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO, run_cli

EXAMPLES = REPO / "examples"
NAMES = ["routeguide", "multipkg"]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.parametrize("name", NAMES)
def test_committed_generated_code_is_current(name: str) -> None:
    result = run_cli("gen", "--check", cwd=EXAMPLES / name)
    assert result.code == 0, result.output
    assert (EXAMPLES / name / "generated").is_dir()


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_the_example_suite_passes(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLES / name,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout
    assert "skipped" not in done.stdout


def test_routeguide_demo_calls_all_four_kinds_and_stops() -> None:
    done = subprocess.run(
        [sys.executable, "demo.py"],
        cwd=EXAMPLES / "routeguide",
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("server started on 127.0.0.1:")
    for prefix in ("GetFeature", "ListFeatures", "RecordRoute", "RouteChat"):
        assert any(line.startswith(prefix) for line in lines), prefix
    assert "ListFeatures  (server stream)  -> 3 features in the rectangle:" in lines
    assert "RecordRoute   (client stream)  -> 4 points, 3 features, 93.1 km" in lines
    assert lines[-1] == "server stopped"
    assert "Traceback" not in done.stderr


def test_demo_script_is_valid_bash() -> None:
    done = subprocess.run(
        ["bash", "-n", str(EXAMPLES / "demo.sh")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
