"""The templates and the runtime ship inside the wheel: build it, install it into a clean
virtualenv, run `protoforge gen` and `check-breaking` there and use the generated server and
client in that environment; once with the newest dependencies and once with exactly the lowest
versions that pyproject.toml allows (its `>=` floors), so that a floor is a version that really
works."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from _services import SERVICES_FIXTURE
from conftest import REPO, write_files

USE_GENERATED = """
import sys
sys.path.insert(0, "gen")
from google.rpc import error_details_pb2
from rg_wheel import _protoforge_runtime as rt
from rg_wheel.routeguide.v1 import geo_pb2, route_guide_pb2, route_guide_pf_client
from rg_wheel.routeguide.v1 import route_guide_pf_server as server


class Guide(server.RouteGuideServicer):
    def get_feature(self, request, context):
        if request.latitude < 0:
            info = error_details_pb2.ErrorInfo(reason="NEGATIVE", domain="wheel")
            raise rt.InvalidArgument("negative", details=[info])
        return route_guide_pb2.Feature(name="from the wheel", location=request)


running = rt.start([Guide()], "127.0.0.1:0")
try:
    with route_guide_pf_client.RouteGuideClient.connect(f"127.0.0.1:{running.port}") as client:
        print(client.get_feature(geo_pb2.Point(latitude=1)).name)
        try:
            client.get_feature(geo_pb2.Point(latitude=-1))
        except rt.InvalidArgument as error:
            print(error.detail(error_details_pb2.ErrorInfo).reason)
finally:
    running.shutdown(grace=1)
"""


def run(*args: str | Path, cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def lowest_versions() -> str:
    """`name==floor` for every runtime dependency, from pyproject.toml's `name>=floor`."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    pins = []
    for requirement in pyproject["project"]["dependencies"]:
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)", requirement.strip())
        assert found, f"{requirement!r}: every dependency needs a tested `>=` floor"
        pins.append(f"{found[1]}=={found[2]}\n")
    return "".join(pins)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """protoforge's wheel, built once from a copy of the checkout (both cases install it)."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".*venv*", "__pycache__", ".mypy_cache", "*.egg-info", "node_modules"
        ),
    )
    dist = tmp_path / "dist"
    # No build isolation: hatchling (the build backend) is in the dev extra, so no fresh build
    # environment is installed for the build.
    run(
        *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
        *("-w", dist, source),
        cwd=tmp_path,
    )
    built = next(dist.glob("protoforge-*.whl"))
    listing = run(sys.executable, "-m", "zipfile", "-l", built, cwd=tmp_path)
    assert "protoforge/templates/server.py.jinja" in listing
    assert "protoforge/runtime/_protoforge_runtime.py" in listing  # copied into every tree
    return built


def installer(python: Path) -> tuple[str | Path, ...]:
    """What installs into the venv of `python`: uv where the dev extra brought it (its cache
    holds what .ci/run installed, so the newest case downloads nothing; pip's cache is empty
    on a fresh CI machine), else pip. Both install the wheel by the same specification."""
    try:
        import uv  # noqa: F401
    except ImportError:
        pip = (sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile")
        return (*pip, "--disable-pip-version-check")
    return (sys.executable, "-m", "uv", "pip", "install", "-q", "--python", python)


@pytest.mark.slow
@pytest.mark.parametrize("versions", ["newest", "lowest"])
def test_gen_from_a_wheel_in_a_clean_virtualenv(tmp_path: Path, wheel: Path, versions: str) -> None:
    venv = tmp_path / "venv"
    # A venv without pip of its own (ensurepip is most of venv's time); `installer` installs
    # into it, without byte-compiling: only what runs gets compiled, on first import.
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    pins: list[str | Path] = []
    if versions == "lowest":
        (tmp_path / "lowest.txt").write_text(lowest_versions())
        pins = ["-c", tmp_path / "lowest.txt"]
    run(*installer(python), *pins, wheel, cwd=tmp_path)

    project = tmp_path / "project"
    shutil.copytree(SERVICES_FIXTURE / "proto", project / "proto")
    write_files(
        project,
        {"protoforge.toml": 'proto_roots = ["proto"]\nout = "gen"\npackage = "rg_wheel"\n'},
    )
    run(venv / "bin" / "protoforge", "gen", "-q", cwd=project)
    assert (project / "gen/rg_wheel/_protoforge_runtime.py").is_file()
    assert run(python, "-c", USE_GENERATED, cwd=project) == "from the wheel\nNEGATIVE\n"
    baseline = f"dir:{SERVICES_FIXTURE / 'proto'}"
    checked = run(venv / "bin" / "protoforge", "check-breaking", "--against", baseline, cwd=project)
    assert checked.startswith("no breaking changes")
