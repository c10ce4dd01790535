"""Cross-language interop over loopback: the protoforge-generated Python server (sync and asyncio)
called by a Node.js @grpc/grpc-js client, a Node.js @grpc/grpc-js server called by the generated
Python clients (sync and asyncio), and the generated server's reflection used by a generic client
that imports no generated code. See docs/interop.md.

The Node peers load the fixture contract at run time with @grpc/proto-loader; install them with
`npm ci --prefix tests/interop/node` (.ci/run does). Without node or node_modules the Node tests
skip, unless PROTOFORGE_REQUIRE_INTEROP is set (as in CI), where that is a failure.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from _peers import INTEROP, NODE_DIR, env_with_pythonpath, node_executable, peer
from _services import Generated, on_sys_path
from conftest import FIXTURES, run_cli

PACKAGE = "interop_api"
PROTO_ROOT = FIXTURES / "services" / "proto"


def googleapis_root() -> str:
    """Where googleapis-common-protos installed google/rpc/*.proto: the Node peers read
    google.rpc.Status and the error detail types from there."""
    from google.rpc import status_pb2

    return str(Path(status_pb2.__file__).resolve().parents[2])


def expected_status(code: int, latitude: int, longitude: int) -> dict[str, Any]:
    """The google.rpc.Status both interop servers attach to a failed GetFeature (as JSON)."""
    message = f"no feature at {latitude},{longitude}"
    return {
        "code": code,
        "message": message,
        "details": [
            {
                "type": "google.rpc.BadRequest",
                "value": {"field_violations": [{"field": "latitude", "description": message}]},
            },
            {
                "type": "google.rpc.ErrorInfo",
                "value": {
                    "reason": "NO_FEATURE",
                    "domain": "routeguide.interop",
                    "metadata": {"latitude": str(latitude)},
                },
            },
        ],
    }


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """The route-guide contract generated with the real CLI into a temporary project."""
    project = tmp_path_factory.mktemp("interop")
    shutil.copytree(PROTO_ROOT, project / "proto")
    (project / "protoforge.toml").write_text(
        f'proto_roots = ["proto"]\nout = "gen"\npackage = "{PACKAGE}"\n', encoding="utf-8"
    )
    result = run_cli("gen", cwd=project)
    assert result.code == 0, result.output
    generated = Generated(project, project / "gen", PACKAGE)
    with on_sys_path(generated.out):
        yield generated


@pytest.fixture(scope="module", params=["sync", "async"])
def python_server(
    request: pytest.FixtureRequest, gen: Generated, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    """The generated server (sync or asyncio base servicers + runtime.start/start_async) in a
    subprocess, implemented by tests/interop/py_server.py."""
    flavour = request.param
    log = tmp_path_factory.mktemp("logs") / f"py_server_{flavour}.log"
    args = [sys.executable, str(INTEROP / "py_server.py"), PACKAGE, flavour]
    with peer(args, log, env_with_pythonpath(gen.out)) as ports:
        port = ports["port"]
        yield flavour, port


# --- 1. Node.js client -> generated Python server --------------------------------------------


@pytest.fixture(scope="module")
def node_client_results(python_server: tuple[str, int]) -> dict[str, Any]:
    node = node_executable()
    done = subprocess.run(
        [
            node,
            str(NODE_DIR / "client.js"),
            f"127.0.0.1:{python_server[1]}",
            str(PROTO_ROOT),
            googleapis_root(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, Any] = json.loads(done.stdout)
    crashed = {name: r["crash"] for name, r in results.items() if "crash" in r}
    assert not crashed, crashed
    return results


def succeeded(results: dict[str, Any], scenario: str) -> dict[str, Any]:
    result: dict[str, Any] = results[scenario]
    assert result["error"] is None, (scenario, result["error"])
    return result


def test_node_client_calls_all_four_streaming_kinds(node_client_results: dict[str, Any]) -> None:
    r = node_client_results
    assert succeeded(r, "unary")["response"] == {
        "name": "f1",
        "location": {"latitude": 1, "longitude": 2},
    }
    features = succeeded(r, "server_streaming")["responses"]
    assert [(f["name"], f["location"]["longitude"]) for f in features] == [
        ("f3", 7),
        ("f4", 7),
        ("f5", 7),
    ]
    assert succeeded(r, "client_streaming")["response"] == {
        "point_count": 3,
        "feature_count": 2,
        "distance": 6,
        "finished_at": {"seconds": "1700000003", "nanos": 0},  # a well-known type field
    }
    notes = succeeded(r, "bidi_streaming")["responses"]
    assert [(n["message"], n["location"]["latitude"]) for n in notes] == [("A", 1), ("B", 2)]
    assert succeeded(r, "well_known_type")["response"] == {}  # google.protobuf.Empty
    assert succeeded(r, "nested_type_second_service")["response"] == {"names": ["interop", "tag4"]}


def test_node_client_deadline_is_enforced(node_client_results: dict[str, Any]) -> None:
    result = node_client_results["deadline"]
    assert result["error"]["code"] == grpc.StatusCode.DEADLINE_EXCEEDED.value[0] == 4
    assert result["response"] is None


def test_node_client_sees_the_typed_error_status_and_details(
    node_client_results: dict[str, Any],
) -> None:
    # The servicer raised runtime.NotFound("no feature at -5,42", details=[BadRequest(...),
    # ErrorInfo(...)], trailing_metadata=...): grpc-js reads the google.rpc.Status trailer.
    error = node_client_results["error"]["error"]
    assert error["code"] == grpc.StatusCode.NOT_FOUND.value[0] == 5
    assert error["details"] == "no feature at -5,42"
    assert error["metadata"]["x-reason"] == ["interop"]
    assert error["status"] == expected_status(5, -5, 42)


@pytest.mark.parametrize(
    "kind", ["unary", "server_streaming", "client_streaming", "bidi_streaming"]
)
def test_node_client_metadata_both_ways(node_client_results: dict[str, Any], kind: str) -> None:
    result = succeeded(node_client_results, f"metadata_{kind}")
    # The server saw the client's header: it echoes it in initial and trailing metadata.
    assert result["initial"]["x-echo-initial"] == ["from-node"]
    assert result["trailing"]["x-echo-trailing"] == ["from-node"]
    if kind == "unary":
        assert result["response"]["name"] == "f8:from-node"
        assert result["trailing"]["x-echo-bin"] == [{"hex": "000102feff"}]  # binary header
    if kind == "bidi_streaming":
        assert [n["message"] for n in result["responses"]] == ["X:from-node"]


# --- 2. generated Python clients -> Node.js server --------------------------------------------


@pytest.fixture(scope="module")
def node_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    node = node_executable()
    log = tmp_path_factory.mktemp("logs") / "node_server.log"
    args = [node, str(NODE_DIR / "server.js"), str(PROTO_ROOT), googleapis_root()]
    with peer(args, log) as ports:
        port = ports["port"]
        yield f"127.0.0.1:{port}"


ECHO = (("x-interop-echo", "from-python"), ("x-interop-bin", b"\x00\x01\xfe\xff"))


def test_python_client_calls_node_server_all_four_kinds(gen: Generated, node_server: str) -> None:
    from google.protobuf import empty_pb2

    geo, pb2 = gen.geo, gen.pb2
    with gen.client.RouteGuideClient.connect(node_server, timeout=10) as client:
        feature = client.get_feature(geo.Point(latitude=1, longitude=2))
        assert (feature.name, feature.location.longitude) == ("f1", 2)

        rectangle = geo.Rectangle(lo=geo.Point(latitude=3, longitude=7), hi=geo.Point(latitude=6))
        features = list(client.list_features(rectangle))
        assert [(f.name, f.location.longitude) for f in features] == [
            ("f3", 7),
            ("f4", 7),
            ("f5", 7),
        ]

        points = [geo.Point(latitude=n, longitude=n - 1) for n in (1, 2, 3)]
        summary = client.record_route(points)
        assert (summary.point_count, summary.feature_count, summary.distance) == (3, 2, 6)
        assert summary.finished_at.seconds == 1_700_000_003  # google.protobuf.Timestamp

        notes = [
            pb2.RouteNote(message=m, location=geo.Point(latitude=i)) for i, m in enumerate("ab")
        ]
        replies = list(client.route_chat(iter(notes)))
        assert [(n.message, n.location.latitude) for n in replies] == [("A", 0), ("B", 1)]

        assert client.ping(empty_pb2.Empty()) == empty_pb2.Empty()
        admin = gen.client.AdminClient(client.channel)
        assert list(admin.get_tags(geo.Point(latitude=4)).names) == ["interop", "tag4"]


def test_python_client_deadline_and_typed_error_from_node(gen: Generated, node_server: str) -> None:
    rt, geo = gen.runtime, gen.geo
    with gen.client.RouteGuideClient.connect(node_server) as client:
        with pytest.raises(rt.DeadlineExceeded) as deadline:
            client.get_feature(geo.Point(latitude=999, longitude=3000), timeout=0.2)
        assert deadline.value.code is grpc.StatusCode.DEADLINE_EXCEEDED

        with pytest.raises(rt.NotFound) as caught:
            client.get_feature(geo.Point(latitude=-5, longitude=42))
    error = caught.value
    assert isinstance(error, rt.GrpcError)
    assert error.code is grpc.StatusCode.NOT_FOUND
    assert error.message == "no feature at -5,42"
    assert ("x-reason", "interop") in error.trailing_metadata
    assert isinstance(error.__cause__, grpc.RpcError)
    # grpc-js sent a google.rpc.Status that protobufjs encoded: the details arrive typed.
    from google.protobuf import json_format
    from google.rpc import error_details_pb2

    assert [
        json_format.MessageToDict(d, preserving_proto_field_name=True) for d in error.details
    ] == [d["value"] for d in expected_status(5, -5, 42)["details"]]
    bad_request = error.detail(error_details_pb2.BadRequest)
    assert bad_request is not None and bad_request.field_violations[0].field == "latitude"
    info = error.detail(error_details_pb2.ErrorInfo)
    assert info is not None and (info.reason, info.metadata["latitude"]) == ("NO_FEATURE", "-5")

    with gen.client.RouteGuideClient.connect(node_server) as client:
        for number, name in [(3, "InvalidArgument"), (7, "PermissionDenied"), (14, "Unavailable")]:
            with pytest.raises(getattr(rt, name)):
                client.get_feature(geo.Point(latitude=-number))


def test_python_client_metadata_both_ways_with_node(gen: Generated, node_server: str) -> None:
    """The response headers and trailers of successful calls, read without an interceptor:
    `response_metadata=` for every kind, and the stream's own methods."""
    geo, pb2, rt = gen.geo, gen.pb2, gen.runtime
    with gen.client.RouteGuideClient.connect(node_server, timeout=10) as client:
        unary = rt.ResponseMetadata()
        feature = client.get_feature(geo.Point(latitude=8), metadata=ECHO, response_metadata=unary)
        assert feature.name == "f8:from-python"
        bidi = rt.ResponseMetadata()
        replies = client.route_chat(
            iter([pb2.RouteNote(message="x")]), metadata=ECHO[:1], response_metadata=bidi
        )
        assert [n.message for n in replies] == ["X:from-python"]
        assert ("x-echo-trailing", "from-python") in replies.trailing_metadata()
        summary = rt.ResponseMetadata()
        client.record_route([geo.Point()], metadata=ECHO[:1], response_metadata=summary)
        stream = client.list_features(geo.Rectangle(), metadata=ECHO[:1])
        assert ("x-echo-initial", "from-python") in stream.initial_metadata()
        assert list(stream) == []
    for seen in (unary, bidi, summary):
        assert ("x-echo-initial", "from-python") in seen.initial_metadata
        assert ("x-echo-trailing", "from-python") in seen.trailing_metadata
    assert ("x-echo-bin", b"\x00\x01\xfe\xff") in unary.trailing_metadata


def test_async_python_client_calls_node_server(gen: Generated, node_server: str) -> None:
    rt, geo, pb2 = gen.runtime, gen.geo, gen.pb2

    async def requests() -> Any:
        for n in (1, 2, 3):
            yield geo.Point(latitude=n, longitude=n - 1)

    async def scenario() -> None:
        async with gen.client.AsyncRouteGuideClient.connect(node_server, timeout=10) as client:
            feature = await client.get_feature(geo.Point(latitude=1, longitude=2))
            assert (feature.name, feature.location.longitude) == ("f1", 2)

            rectangle = geo.Rectangle(lo=geo.Point(latitude=3), hi=geo.Point(latitude=6))
            assert [f.name async for f in client.list_features(rectangle)] == ["f3", "f4", "f5"]

            summary = await client.record_route(requests())  # an async iterable
            assert (summary.point_count, summary.distance) == (3, 6)
            assert summary.finished_at.seconds == 1_700_000_003

            notes = [pb2.RouteNote(message=m) for m in "ab"]
            assert [n.message async for n in client.route_chat(notes)] == ["A", "B"]

            with pytest.raises(rt.DeadlineExceeded):
                await client.get_feature(geo.Point(latitude=999, longitude=3000), timeout=0.2)

            with pytest.raises(rt.NotFound) as caught:
                await client.get_feature(geo.Point(latitude=-5, longitude=42))
            assert caught.value.message == "no feature at -5,42"
            assert ("x-reason", "interop") in caught.value.trailing_metadata
            assert [d.DESCRIPTOR.full_name for d in caught.value.details] == [
                "google.rpc.BadRequest",
                "google.rpc.ErrorInfo",
            ]

            stream = client.list_features(geo.Rectangle(), metadata=ECHO[:1])
            assert [f async for f in stream] == []

        async with gen.client.AsyncRouteGuideClient.connect(node_server, timeout=10) as client:
            seen = rt.ResponseMetadata()
            feature = await client.get_feature(
                geo.Point(latitude=8), metadata=ECHO, response_metadata=seen
            )
            assert feature.name == "f8:from-python"
            assert ("x-echo-initial", "from-python") in seen.initial_metadata
            assert ("x-echo-trailing", "from-python") in seen.trailing_metadata
            assert ("x-echo-bin", b"\x00\x01\xfe\xff") in seen.trailing_metadata
            chat = client.route_chat([pb2.RouteNote(message="x")], metadata=ECHO[:1])
            assert [n.message async for n in chat] == ["X:from-python"]
            assert ("x-echo-trailing", "from-python") in await chat.trailing_metadata()

    asyncio.run(scenario())


# --- 3. reflection: a generic client that knows nothing of the contract -----------------------


def test_reflection_lets_a_generic_client_describe_and_call(
    python_server: tuple[str, int],
) -> None:
    calls = [
        {"method": "routeguide.v1.RouteGuide/GetFeature", "requests": [{"latitude": 7}]},
        {
            "method": "routeguide.v1.RouteGuide/ListFeatures",
            "requests": [{"lo": {"latitude": 1}, "hi": {"latitude": 3}}],
        },
        {
            "method": "routeguide.v1.RouteGuide/RecordRoute",
            "requests": [{"latitude": 1}, {"latitude": 2, "longitude": 1}],
        },
        {"method": "routeguide.v1.RouteGuide/RouteChat", "requests": [{"message": "hi"}]},
        {"method": "routeguide.v1.RouteGuide/Ping", "requests": [{}]},
        {"method": "routeguide.v1.Admin/GetTags", "requests": [{"latitude": 3}]},
        {"method": "routeguide.v1.RouteGuide/GetFeature", "requests": [{"latitude": -5}]},
    ]
    done = subprocess.run(
        [
            sys.executable,
            str(INTEROP / "py_reflection_client.py"),
            f"127.0.0.1:{python_server[1]}",
            json.dumps(calls),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env_with_pythonpath(None),  # the generated package is not importable there
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    assert result["generated_modules"] == []
    assert set(result["services"]) == {
        "routeguide.v1.RouteGuide",
        "routeguide.v1.Admin",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    methods = result["described"]["routeguide.v1.RouteGuide"]["methods"]
    assert result["described"]["routeguide.v1.RouteGuide"]["file"] == (
        "routeguide/v1/route_guide.proto"
    )
    assert methods["GetFeature"] == {
        "input": "routeguide.v1.Point",
        "output": "routeguide.v1.Feature",
        "client_streaming": False,
        "server_streaming": False,
        "deprecated": False,
        "input_fields": ["latitude", "longitude"],
    }
    kinds = {name: (m["client_streaming"], m["server_streaming"]) for name, m in methods.items()}
    assert kinds["ListFeatures"] == (False, True)
    assert kinds["RecordRoute"] == (True, False)
    assert kinds["RouteChat"] == (True, True)
    assert methods["GetFeatureLegacy"]["deprecated"] is True
    assert methods["Ping"]["input"] == "google.protobuf.Empty"
    assert result["described"]["routeguide.v1.Admin"]["methods"]["GetTags"]["output"] == (
        "routeguide.v1.Feature.Tags"
    )

    unary, server_stream, client_stream, bidi, ping, tags, failed = result["calls"]
    assert unary == {
        "kind": "unary_unary",
        "responses": [{"name": "f7", "location": {"latitude": 7}}],
    }
    assert server_stream["kind"] == "unary_stream"
    assert [f["name"] for f in server_stream["responses"]] == ["f1", "f2"]
    assert client_stream["kind"] == "stream_unary"
    assert client_stream["responses"] == [
        {
            "point_count": 2,
            "feature_count": 1,
            "distance": 3,
            "finished_at": "2023-11-14T22:13:22Z",  # 1700000002 s, as protobuf JSON
        }
    ]
    assert bidi["kind"] == "stream_stream"
    assert [n["message"] for n in bidi["responses"]] == ["HI"]
    assert ping["responses"] == [{}]
    assert tags["responses"] == [{"names": ["interop", "tag3"]}]
    assert failed == {"kind": "unary_unary", "code": "NOT_FOUND", "details": "no feature at -5,0"}
