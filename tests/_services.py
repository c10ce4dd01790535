"""Helpers for the tests/runtime/test_services_*.py modules: generate the route-guide fixture
contract into a temporary project and import the result in the test process."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from conftest import FIXTURES

SERVICES_FIXTURE = FIXTURES / "services"

RETRY = {
    "max_attempts": 3,
    "initial_backoff": 0.01,
    "max_backoff": 0.05,
    "backoff_multiplier": 2,
    "retryable_status_codes": ["UNAVAILABLE"],
}


@dataclass
class Generated:
    project: Path
    out: Path
    package: str | None

    def module(self, name: str) -> ModuleType:
        full = f"{self.package}.{name}" if self.package else name
        return importlib.import_module(full)

    @property
    def pb2(self) -> ModuleType:
        return self.module("routeguide.v1.route_guide_pb2")

    @property
    def geo(self) -> ModuleType:
        return self.module("routeguide.v1.geo_pb2")

    @property
    def server(self) -> ModuleType:
        return self.module("routeguide.v1.route_guide_pf_server")

    @property
    def client(self) -> ModuleType:
        return self.module("routeguide.v1.route_guide_pf_client")

    @property
    def runtime(self) -> ModuleType:
        return (
            self.module("_protoforge_runtime")
            if self.package
            else self.module("routeguide._protoforge_runtime")
        )


def generate_project(
    project: Path,
    *,
    package: str | None,
    client: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Generated:
    """Copy the fixture contracts into `project`, run `generate` and write the plan."""
    from protoforge.config import config_from_mapping
    from protoforge.output.plan import apply, compare
    from protoforge.pipeline import generate

    shutil.copytree(SERVICES_FIXTURE / "proto", project / "proto", dirs_exist_ok=True)
    table: dict[str, Any] = {"proto_roots": ["proto"], "out": "gen", **(extra or {})}
    if package:
        table["package"] = package
    if client:
        table["client"] = dict(client)
    config = config_from_mapping(table, project)
    plan = generate(config)
    outcome = compare(plan)
    apply(outcome, plan.managed_dirs)
    return Generated(project, config.out, package)


@contextmanager
def on_sys_path(*paths: Path) -> Iterator[None]:
    """Make the generated package importable for the duration of a module's tests.

    Afterwards only the modules imported from `paths` are forgotten (the next tree may reuse
    their names). Everything else stays: the web endpoint imports asyncio the first time a
    threaded server starts one, and forgetting it made the next import a second asyncio whose
    CancelledError is not the class its C accelerator `_asyncio` (loaded once per process)
    raises; hypercorn's `except asyncio.CancelledError` then missed, and a second threaded web
    endpoint in the same process closed every connection."""
    before = set(sys.modules)
    roots = [str(p.resolve()) for p in paths]
    sys.path[:0] = [str(p) for p in paths]
    try:
        yield
    finally:
        for p in paths:
            sys.path.remove(str(p))
        # Judged before any is forgotten: a namespace package's __path__ (a generated `buf/`)
        # is recomputed from its parent's, which must still be there.
        stale = [n for n in set(sys.modules) - before if _imported_from(sys.modules.get(n), roots)]
        for name in stale:
            sys.modules.pop(name, None)


def _imported_from(module: ModuleType | None, roots: list[str]) -> bool:
    locations = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", ())]
    return any(
        os.path.realpath(location).startswith(tuple(root + os.sep for root in roots))
        for location in locations
        if location
    )


def status_code(number: int) -> Any:
    import grpc

    return next(code for code in grpc.StatusCode if code.value[0] == number)


def run_module(project: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` in `project` with its generated `gen/` on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": str(project / "gen")}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
