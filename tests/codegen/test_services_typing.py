"""Types and style of the generated code: `mypy --strict` over the generated servers, clients and
runtime (with and without a package prefix) and over example implementations; a module of
deliberate misuses whose mypy errors are asserted line by line; `ruff check` and
`ruff format --check` with the repository's ruff configuration."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _services import generate_project
from conftest import REPO, mypy_cache_dir

EXAMPLE_SYNC = """
from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.rpc import error_details_pb2

from rg_types import _protoforge_runtime as runtime
from rg_types.routeguide.v1 import geo_pb2, route_guide_pb2, route_guide_pf_client
from rg_types.routeguide.v1 import route_guide_pf_server as server


class RouteGuide(server.RouteGuideServicer):
    def get_feature(
        self, request: geo_pb2.Point, context: grpc.ServicerContext
    ) -> route_guide_pb2.Feature:
        if request.latitude < 0:
            violation = error_details_pb2.BadRequest.FieldViolation(field="latitude")
            raise runtime.InvalidArgument(
                "latitude must be positive",
                details=[error_details_pb2.BadRequest(field_violations=[violation])],
            )
        return route_guide_pb2.Feature(name="x", location=request)

    def list_features(
        self, request: geo_pb2.Rectangle, context: grpc.ServicerContext
    ) -> Iterator[route_guide_pb2.Feature]:
        yield route_guide_pb2.Feature(location=request.lo)

    def record_route(
        self, request_iterator: Iterator[geo_pb2.Point], context: grpc.ServicerContext
    ) -> route_guide_pb2.RouteSummary:
        return route_guide_pb2.RouteSummary(point_count=sum(1 for _ in request_iterator))

    def route_chat(
        self, request_iterator: Iterator[route_guide_pb2.RouteNote], context: grpc.ServicerContext
    ) -> Iterator[route_guide_pb2.RouteNote]:
        yield from request_iterator


def main() -> None:
    running = runtime.start([RouteGuide(), server.AdminServicer()], "127.0.0.1:0")
    with route_guide_pf_client.RouteGuideClient.connect(f"127.0.0.1:{running.port}") as client:
        feature: route_guide_pb2.Feature = client.get_feature(geo_pb2.Point(), timeout=1.0)
        names: list[str] = [f.name for f in client.list_features(geo_pb2.Rectangle())]
        summary = client.record_route([geo_pb2.Point()], metadata=[("k", "v")])
        notes = list(client.route_chat(iter([route_guide_pb2.RouteNote()])))
        print(feature, names, summary.point_count, notes)
        try:
            client.get_feature(geo_pb2.Point(latitude=-1))
        except runtime.InvalidArgument as error:
            print(error.code, error.message, error.trailing_metadata)
            bad_request = error.detail(error_details_pb2.BadRequest)
            fields: list[str] = [] if bad_request is None else [
                v.field for v in bad_request.field_violations
            ]
            infos: tuple[error_details_pb2.ErrorInfo, ...] = error.details_of(
                error_details_pb2.ErrorInfo
            )
            own = error.detail(route_guide_pb2.Feature)
            print(fields, [i.reason for i in infos], own.name if own else "", error.details)
        seen = runtime.ResponseMetadata()
        client.get_feature(geo_pb2.Point(), response_metadata=seen)
        headers: tuple[tuple[str, str | bytes], ...] = seen.initial_metadata
        stream = client.list_features(geo_pb2.Rectangle(), response_metadata=seen)
        print(headers, stream.initial_metadata(), list(stream), stream.trailing_metadata())
    running.shutdown(grace=1.0)
"""

EXAMPLE_ASYNC = """
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from rg_types import _protoforge_runtime as runtime
from rg_types.routeguide.v1 import geo_pb2, route_guide_pb2, route_guide_pf_client
from rg_types.routeguide.v1 import route_guide_pf_server as server

Context = grpc.aio.ServicerContext


class RouteGuide(server.AsyncRouteGuideServicer):
    async def get_feature(
        self, request: geo_pb2.Point, context: Context[geo_pb2.Point, route_guide_pb2.Feature]
    ) -> route_guide_pb2.Feature:
        return route_guide_pb2.Feature(location=request)

    async def list_features(
        self,
        request: geo_pb2.Rectangle,
        context: Context[geo_pb2.Rectangle, route_guide_pb2.Feature],
    ) -> AsyncIterator[route_guide_pb2.Feature]:
        yield route_guide_pb2.Feature(location=request.hi)

    async def record_route(
        self,
        request_iterator: AsyncIterator[geo_pb2.Point],
        context: Context[geo_pb2.Point, route_guide_pb2.RouteSummary],
    ) -> route_guide_pb2.RouteSummary:
        return route_guide_pb2.RouteSummary(point_count=len([p async for p in request_iterator]))


async def main() -> None:
    running = await runtime.start_async([RouteGuide()], "127.0.0.1:0")
    target = f"127.0.0.1:{running.port}"
    async with route_guide_pf_client.AsyncRouteGuideClient.connect(target) as client:
        feature: route_guide_pb2.Feature = await client.get_feature(geo_pb2.Point())
        names = [f.name async for f in client.list_features(geo_pb2.Rectangle())]
        seen = runtime.ResponseMetadata()
        summary = await client.record_route([geo_pb2.Point()], response_metadata=seen)
        stream = client.list_features(geo_pb2.Rectangle())
        headers: tuple[tuple[str, str | bytes], ...] = await stream.initial_metadata()
        print(feature, names, summary, seen.trailing_metadata, headers)
    await running.shutdown(grace=1.0)


def run() -> None:
    asyncio.run(main())
"""

# Each line marked `# E: code[, code]` must produce exactly those mypy errors; no other line may.
MISUSE = """
from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.rpc import error_details_pb2
from google.rpc.error_details_pb2 import BadRequest

from rg_types import _protoforge_runtime as runtime
from rg_types.routeguide.v1 import geo_pb2, route_guide_pb2, route_guide_pf_client
from rg_types.routeguide.v1 import route_guide_pf_server as server


class WrongReturn(server.RouteGuideServicer):
    def get_feature(  # E: override
        self, request: geo_pb2.Point, context: grpc.ServicerContext
    ) -> geo_pb2.Point:
        return request


class WrongRequest(server.RouteGuideServicer):
    def get_feature(
        self, request: geo_pb2.Rectangle, context: grpc.ServicerContext  # E: override
    ) -> route_guide_pb2.Feature:
        return route_guide_pb2.Feature()


class NotAStream(server.RouteGuideServicer):
    def list_features(  # E: override
        self, request: geo_pb2.Rectangle, context: grpc.ServicerContext
    ) -> route_guide_pb2.Feature:
        return route_guide_pb2.Feature()


class AsyncGuide(server.AsyncRouteGuideServicer):
    pass


def misuse(client: route_guide_pf_client.RouteGuideClient, sync_server: grpc.Server) -> None:
    client.get_feature(route_guide_pb2.RouteNote())  # E: arg-type
    client.get_feature(geo_pb2.Point(), 1.0)  # E: call-arg
    client.get_feature(geo_pb2.Point(), timeout="soon")  # E: arg-type
    note: route_guide_pb2.RouteNote = client.get_feature(geo_pb2.Point())  # E: assignment
    features: Iterator[geo_pb2.Point] = client.list_features(geo_pb2.Rectangle())  # E: assignment
    client.record_route(geo_pb2.Point())  # E: arg-type
    server.add_route_guide_servicer_to_server(AsyncGuide(), sync_server)  # E: arg-type
    AsyncGuide().add_to_server(sync_server)  # E: arg-type
    runtime.serve([AsyncGuide()])  # E: list-item
    client.get_feature_legacy(geo_pb2.Point())  # E: deprecated
    print(note, features)


async def async_misuse(client: route_guide_pf_client.AsyncRouteGuideClient) -> None:
    feature: route_guide_pb2.Feature = client.get_feature(geo_pb2.Point())  # E: assignment
    print(feature)


def details_misuse(
    error: runtime.GrpcError, client: route_guide_pf_client.RouteGuideClient
) -> None:
    error.detail(int)  # E: type-var
    text: str = error.details  # E: assignment
    error.details.startswith("no")  # E: attr-defined
    error.detail(error_details_pb2.BadRequest).field_violations  # E: union-attr
    error.detail(error_details_pb2.ErrorInfo).reason.upper()  # E: union-attr
    info: error_details_pb2.ErrorInfo | None = error.detail(BadRequest)  # E: assignment
    runtime.InvalidArgument("bad", details=["a text"])  # E: list-item
    client.get_feature(geo_pb2.Point(), response_metadata=[])  # E: arg-type
    seen = runtime.ResponseMetadata()
    seen.initial_metadata.upper()  # E: attr-defined
    print(text, info)
"""

MARK = re.compile(r"#\s*E:\s*(?P<codes>[\w\-, ]+)$")
MYPY_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")


@pytest.fixture(scope="module")
def typed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("typing")
    generate_project(project / "prefixed", package="rg_types", client={"timeout": 1.5})
    generate_project(project / "flat", package=None)
    checks = project / "checks"
    checks.mkdir()
    for name, text in (
        ("example_sync.py", EXAMPLE_SYNC),
        ("example_async.py", EXAMPLE_ASYNC),
        ("misuse.py", MISUSE),
    ):
        (checks / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return project


def generated_python(project: Path) -> list[Path]:
    """The files protoforge renders (servers, clients, runtime); protoc's outputs are
    mypy-protobuf's business."""
    return sorted(
        p
        for p in project.rglob("*.py")
        if p.name.endswith(("_pf_server.py", "_pf_client.py", "_protoforge_runtime.py"))
    )


def mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--enable-error-code",
            "deprecated",
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
            "--show-error-codes",
            "--cache-dir",
            str(mypy_cache_dir()),
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_generated_code_and_examples_pass_mypy_strict_and_misuses_fail(typed_project: Path) -> None:
    checks = typed_project / "checks"
    prefixed = typed_project / "prefixed"
    done = mypy(
        "--python-version",
        "3.11",
        str(prefixed / "gen" / "rg_types"),
        str(checks / "example_sync.py"),
        str(checks / "example_async.py"),
        str(checks / "misuse.py"),
        str(prefixed / "routeguide_v1_route_guide_impl.py"),
        cwd=typed_project,
    )
    found: dict[tuple[str, int], set[str]] = {}
    for line in done.stdout.splitlines():
        if ": note: " in line:
            continue
        match = MYPY_LINE.match(line)
        assert match, f"unexpected mypy output: {line}\n{done.stdout}{done.stderr}"
        found.setdefault((Path(match["file"]).name, int(match["line"])), set()).add(match["code"])
    expected: dict[tuple[str, int], set[str]] = {}
    for number, text in enumerate((checks / "misuse.py").read_text().splitlines(), start=1):
        mark = MARK.search(text)
        if mark:
            expected[("misuse.py", number)] = {c.strip() for c in mark["codes"].split(",")}
    assert found == expected, done.stdout + done.stderr


def test_generated_code_without_package_prefix_passes_mypy_strict(typed_project: Path) -> None:
    flat = typed_project / "flat"
    done = mypy("gen/routeguide", "routeguide_v1_route_guide_impl.py", cwd=flat)
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_code_passes_ruff_with_the_repo_config(typed_project: Path) -> None:
    files = [str(p) for p in generated_python(typed_project)]
    # (server + client) x 2 contracts + runtime, with and without prefix; without a prefix also
    # the re-export at the runtime's former place (routeguide/_protoforge_runtime.py)
    assert len(files) == 11
    config = str(REPO / "pyproject.toml")
    for command in (["check"], ["format", "--check", "--diff"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--config", config, "--no-cache", *files],
            cwd=typed_project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
