"""The generated server's web endpoint: gRPC-Web and Connect over HTTP/1.1, from the same
servicers as gRPC, called by clients that share no code with it.

- `buf curl` (the bundled buf binary) with `--protocol grpcweb` and `--protocol connect`, its
  schema from `protoforge snapshot`;
- Connect-ES for Node.js (`@connectrpc/connect-node`, both transports), its service description
  built at run time from the same snapshot;
- raw HTTP requests for what those clients do not show: grpc-web-text, the server-side deadline
  from `grpc-timeout` / `connect-timeout-ms`, CORS preflights, error details.

The servers are tests/interop/py_server.py (sync and asyncio; docs/interop.md has their
behaviour) on 127.0.0.1 port 0, stopped after the module's tests.
"""

from __future__ import annotations

import base64
import http.client
import importlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _peers import INTEROP, NODE_DIR, env_with_pythonpath, node_executable, peer
from _services import generate_project, on_sys_path, run_module
from conftest import FIXTURES, run_cli

PACKAGE = "web_api"
PROTO_ROOT = FIXTURES / "services" / "proto"
SERVICE = "routeguide.v1.RouteGuide"
ORIGIN = "http://page.test"  # the origin py_server.py allows


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The route-guide contract generated with the real CLI, and its snapshot for the clients."""
    root = tmp_path_factory.mktemp("web")
    shutil.copytree(PROTO_ROOT, root / "proto")
    (root / "protoforge.toml").write_text(
        f'proto_roots = ["proto"]\nout = "gen"\npackage = "{PACKAGE}"\n', encoding="utf-8"
    )
    for command in (("gen", "-q"), ("snapshot", "-o", "schema.binpb")):
        result = run_cli(*command, cwd=root)
        assert result.code == 0, result.output
    return root


@pytest.fixture(scope="module", params=["sync", "async"])
def web(
    request: pytest.FixtureRequest, project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of a generated server's web endpoint (sync or asyncio runtime)."""
    log = tmp_path_factory.mktemp("logs") / f"web_{request.param}.log"
    args = [sys.executable, str(INTEROP / "py_server.py"), PACKAGE, request.param, "--web"]
    with peer(args, log, env_with_pythonpath(project / "gen")) as ports:
        yield f"http://127.0.0.1:{ports['web_port']}"


# --- buf curl ------------------------------------------------------------------------------


def buf_curl(
    project: Path, url: str, protocol: str, method: str, data: dict[str, Any], *extra: str
) -> subprocess.CompletedProcess[str]:
    buf = shutil.which("buf", path=str(Path(sys.executable).parent)) or "buf"
    return subprocess.run(
        [
            buf,
            "curl",
            "--schema",
            str(project / "schema.binpb"),
            "--protocol",
            protocol,
            "-d",
            json.dumps(data),
            *extra,
            f"{url}/{SERVICE}/{method}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def received(verbose_stderr: str) -> dict[str, str]:
    """Response headers and trailers from `buf curl -v` (`< (#1) Key: value` lines)."""
    found: dict[str, str] = {}
    for line in verbose_stderr.splitlines():
        if line.startswith("buf: < (#1) ") and ": " in line[12:]:
            key, value = line[12:].split(": ", 1)
            found[key.lower()] = value
    return found


PROTOCOLS = ["grpcweb", "connect"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_buf_curl_unary_with_metadata_both_ways(project: Path, web: str, protocol: str) -> None:
    done = buf_curl(
        project,
        web,
        protocol,
        "GetFeature",
        {"latitude": 5, "longitude": 7},
        "-v",
        "-H",
        "x-interop-echo: hi",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "name": "f5:hi",
        "location": {"latitude": 5, "longitude": 7},
    }
    headers = received(done.stderr)
    assert headers["x-echo-initial"] == "hi"
    if protocol == "connect":
        # Connect's unary trailers travel as `trailer-` headers. gRPC-Web's are in the body's
        # last frame, which `buf curl -v` does not print: the raw and Node tests read them.
        assert headers["trailer-x-echo-trailing"] == "hi"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_buf_curl_server_streaming(project: Path, web: str, protocol: str) -> None:
    rectangle = {"lo": {"latitude": 1, "longitude": 3}, "hi": {"latitude": 4, "longitude": 9}}
    done = buf_curl(project, web, protocol, "ListFeatures", rectangle)
    assert done.returncode == 0, done.stderr
    decoder, position, names = json.JSONDecoder(), 0, []
    text = done.stdout.strip()
    while position < len(text):
        item, position = decoder.raw_decode(text, position)
        names.append(item["name"])
        position = len(text) - len(text[position:].lstrip())
    assert names == ["f1", "f2", "f3"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_buf_curl_error_status_and_message(project: Path, web: str, protocol: str) -> None:
    done = buf_curl(project, web, protocol, "GetFeature", {"latitude": -5, "longitude": 42})
    assert done.returncode != 0
    error = json.loads(done.stdout or done.stderr[done.stderr.index("{") :])
    assert error["code"] == "not_found"
    assert error["message"] == "no feature at -5,42"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_buf_curl_deadline(project: Path, web: str, protocol: str) -> None:
    started = time.monotonic()
    done = buf_curl(
        project,
        web,
        protocol,
        "GetFeature",
        {"latitude": 999, "longitude": 20000},
        "--timeout",
        "300ms",
    )
    # Ended by the deadline, not by the servicer's answer after 20 s (the margin is for buf's
    # start-up on a loaded machine).
    assert time.monotonic() - started < 10
    assert done.returncode != 0
    assert "deadline_exceeded" in done.stdout + done.stderr


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("method", "kind"), [("RecordRoute", "client-streaming"), ("RouteChat", "bidirectional")]
)
def test_buf_curl_client_and_bidi_streaming_are_unimplemented(
    project: Path, web: str, protocol: str, method: str, kind: str
) -> None:
    done = buf_curl(project, web, protocol, method, {})  # bidi: buf curl switches to HTTP/2
    assert done.returncode != 0
    error = json.loads(done.stdout or done.stderr[done.stderr.index("{") :])
    assert error["code"] == "unimplemented"
    assert kind in error["message"] and "call it over gRPC" in error["message"]


# --- Connect-ES for Node.js ------------------------------------------------------------------


def test_connect_node_grpc_web_and_connect_transports(project: Path, web: str) -> None:
    node = node_executable()
    done = subprocess.run(
        [node, str(NODE_DIR / "web_client.js"), web, str(project / "schema.binpb")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    for protocol in ("grpcweb", "connect"):
        result = results[protocol]
        assert "crash" not in result, result
        unary = result["unary"]
        assert unary["error"] is None
        assert unary["response"] == {"name": "f5:web", "location": {"latitude": 5, "longitude": 7}}
        assert unary["headers"]["x-echo-initial"] == "web"
        assert unary["trailers"]["x-echo-trailing"] == "web"
        stream = result["server_stream"]
        assert [r["name"] for r in stream["responses"]] == ["f1", "f2", "f3"]
        assert stream["trailers"]["x-echo-trailing"] == "web"
        # The servicer raised with a BadRequest and an ErrorInfo (tests/interop/py_server.py):
        # Connect-ES reads them from the gateway's answer, over gRPC-Web and Connect alike.
        assert result["error"]["error"] == {
            "code": 5,
            "message": "no feature at -5,42",
            "details": [{"type": "google.rpc.BadRequest"}, {"type": "google.rpc.ErrorInfo"}],
        }
        assert result["deadline"]["error"]["code"] == 4
        assert result["client_stream"]["error"]["code"] == 12


# --- raw HTTP: what the clients above do not show -------------------------------------------


def frame(flags: int, payload: bytes) -> bytes:
    return bytes([flags]) + len(payload).to_bytes(4, "big") + payload


def unframe(body: bytes) -> list[tuple[int, bytes]]:
    frames, offset = [], 0
    while offset < len(body):
        length = int.from_bytes(body[offset + 1 : offset + 5], "big")
        frames.append((body[offset], body[offset + 5 : offset + 5 + length]))
        offset += 5 + length
    return frames


def post(url: str, path: str, body: bytes, headers: dict[str, str]) -> http.client.HTTPResponse:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", path, body, headers)
    return connection.getresponse()


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def point(latitude: int, longitude: int) -> bytes:
    """A serialized routeguide.v1.Point (int32 fields 1 and 2), written by hand: the raw
    requests below use no generated code."""
    return b"\x08" + varint(latitude) + b"\x10" + varint(longitude)


def test_grpc_web_text_is_base64_both_ways(web: str) -> None:
    body = base64.b64encode(frame(0, point(5, 7)))
    response = post(
        web,
        f"/{SERVICE}/GetFeature",
        body,
        {"content-type": "application/grpc-web-text", "x-interop-echo": "txt"},
    )
    assert response.status == 200
    assert response.getheader("content-type") == "application/grpc-web-text"
    raw = response.read()
    frames = [
        f
        for chunk in raw.split(b"=")
        if chunk
        for f in unframe(base64.b64decode(chunk + b"=" * (-len(chunk) % 4)))
    ]
    (data, trailer) = frames
    assert data[0] == 0 and b"f5:txt" in data[1]
    assert trailer[0] == 0x80
    assert b"grpc-status: 0\r\n" in trailer[1] and b"x-echo-trailing: txt" in trailer[1]


@pytest.mark.parametrize(
    ("headers", "protocol"),
    [
        ({"content-type": "application/grpc-web+proto", "grpc-timeout": "300m"}, "grpcweb"),
        ({"content-type": "application/proto", "connect-timeout-ms": "300"}, "connect"),
    ],
)
def test_the_deadline_header_reaches_the_servicer(
    web: str, headers: dict[str, str], protocol: str
) -> None:
    """No client-side deadline here: the server ends the call itself, as gRPC does."""
    message = point(999, 3000)  # latitude 999: the servicer answers after 3,000 ms
    body = frame(0, message) if protocol == "grpcweb" else message
    started = time.monotonic()
    response = post(web, f"/{SERVICE}/GetFeature", body, headers)
    raw = response.read()
    assert time.monotonic() - started < 2.5
    if protocol == "grpcweb":
        (trailer,) = unframe(raw)
        assert b"grpc-status: 4\r\n" in trailer[1]
    else:
        assert response.status == 504
        assert json.loads(raw)["code"] == "deadline_exceeded"


def test_cors_preflight_and_headers_for_an_allowed_origin_only(web: str) -> None:
    host, port = web.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    preflight = {
        "origin": ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,x-interop-echo",
    }
    connection.request("OPTIONS", f"/{SERVICE}/GetFeature", headers=preflight)
    allowed = connection.getresponse()
    allowed.read()
    assert allowed.status == 204
    assert allowed.getheader("access-control-allow-origin") == ORIGIN
    assert "POST" in (allowed.getheader("access-control-allow-methods") or "")
    assert "x-interop-echo" in (allowed.getheader("access-control-allow-headers") or "")
    connection.request(
        "OPTIONS", f"/{SERVICE}/GetFeature", headers={**preflight, "origin": "http://evil.test"}
    )
    refused = connection.getresponse()
    refused.read()
    assert refused.status == 403
    assert refused.getheader("access-control-allow-origin") is None
    response = post(
        web,
        f"/{SERVICE}/GetFeature",
        point(5, 0),
        {"content-type": "application/proto", "origin": ORIGIN},
    )
    response.read()
    assert response.getheader("access-control-allow-origin") == ORIGIN
    exposed = response.getheader("access-control-expose-headers") or ""
    assert "grpc-status" in exposed


def test_an_unknown_method_and_an_unknown_content_type(web: str) -> None:
    response = post(web, "/no.Such/Method", b"", {"content-type": "application/proto"})
    assert response.status == 501
    assert json.loads(response.read())["code"] == "unimplemented"
    response = post(web, f"/{SERVICE}/GetFeature", b"", {"content-type": "text/plain"})
    assert response.status == 415
    response.read()


# --- the implementation scaffold's command line -------------------------------------------------

IMPL = "routeguide_v1_route_guide_impl"


def test_scaffold_serves_the_web_endpoint_and_says_where(tmp_path: Path) -> None:
    """`python -m <impl> ADDRESS --web-address ... --cors-origin ...`, as docs/server.md shows;
    the scaffold's unimplemented methods answer over Connect as over gRPC."""
    generate_project(tmp_path, package="rg_web")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "gen"), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", IMPL, "127.0.0.1:0", "--web-address", "127.0.0.1:0"]
    process = subprocess.Popen(
        [*command, "--cors-origin", ORIGIN],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.fullmatch(
            r"serving .* on 127\.0\.0\.1:\d+; gRPC-Web and Connect on 127\.0\.0\.1:(\d+)\n", line
        )
        assert match, line
        response = post(
            f"http://127.0.0.1:{match[1]}",
            f"/{SERVICE}/GetFeature",
            b"{}",
            {"content-type": "application/json", "origin": ORIGIN},
        )
        assert response.status == 501
        assert response.getheader("access-control-allow-origin") == ORIGIN
        assert json.loads(response.read()) == {
            "code": "unimplemented",
            "message": "RouteGuide.GetFeature is not implemented",
        }
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_scaffold_web_port_in_use_and_cors_without_web_exit_2(tmp_path: Path) -> None:
    generate_project(tmp_path, package="rg_web_bad")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_module(tmp_path, IMPL, *args)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("127.0.0.1:0", "--web-address", f"127.0.0.1:{port}")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port} (web endpoint): Address already in use"
    ]
    done = run("127.0.0.1:0", "--cors-origin", ORIGIN)
    assert done.returncode == 2
    assert "--cors-origin needs --web-address" in done.stderr


# --- Connect GET for side-effect-free methods ---------------------------------------------------

LOOKUP = """syntax = "proto3";
package lookup.v1;

service Lookup {
  rpc Get(GetRequest) returns (GetResponse) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  rpc Put(GetRequest) returns (GetResponse);
}
message GetRequest { string key = 1; }
message GetResponse { string value = 1; }
"""


@pytest.fixture(scope="module")
def lookup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Any, Any]]:
    """One in-process threaded server with a web endpoint for the tests below: (web port, the
    contract's pb2 module, the details its Put method raises with)."""
    import grpc
    from google.rpc import error_details_pb2

    project = tmp_path_factory.mktemp("lookup")
    (project / "proto/lookup/v1").mkdir(parents=True)
    (project / "proto/lookup/v1/lookup.proto").write_text(LOOKUP)
    generated = generate_project(project, package="web_lookup")
    with on_sys_path(generated.out):
        rt = importlib.import_module("web_lookup._protoforge_runtime")
        server = importlib.import_module("web_lookup.lookup.v1.lookup_pf_server")
        pb2 = importlib.import_module("web_lookup.lookup.v1.lookup_pb2")
        details = [
            error_details_pb2.BadRequest(
                field_violations=[error_details_pb2.BadRequest.FieldViolation(field="key")]
            ),
            error_details_pb2.ErrorInfo(reason="EMPTY_KEY", domain="lookup.v1"),
        ]

        class Lookup(server.LookupServicer):
            def get(self, request: Any, context: Any) -> Any:
                return pb2.GetResponse(value=f"value of {request.key}")

            def put(self, request: Any, context: Any) -> Any:
                raise rt.InvalidArgument("key is empty", details=details)

        class Deny(grpc.ServerInterceptor):
            def intercept_service(self, continuation: Any, details: Any) -> Any:
                if ("x-deny", "yes") in details.invocation_metadata:
                    return grpc.unary_unary_rpc_method_handler(
                        lambda request, context: context.abort(
                            grpc.StatusCode.PERMISSION_DENIED, "denied by the interceptor"
                        )
                    )
                return continuation(details)

        running = rt.start(
            [Lookup()], "127.0.0.1:0", interceptors=[Deny()], web_address="127.0.0.1:0"
        )
        try:
            yield running.web_port, pb2, details
        finally:
            running.shutdown(grace=1)


def test_connect_get_for_no_side_effects_methods_only(lookup: tuple[int, Any, Any]) -> None:
    web_port, pb2, _ = lookup
    connection = http.client.HTTPConnection("127.0.0.1", web_port, timeout=30)
    message = base64.urlsafe_b64encode(pb2.GetRequest(key="k").SerializeToString())
    query = f"connect=v1&encoding=proto&base64=1&message={message.decode()}"
    connection.request("GET", f"/lookup.v1.Lookup/Get?{query}")
    response = connection.getresponse()
    assert response.status == 200
    assert pb2.GetResponse.FromString(response.read()).value == "value of k"
    json_query = "connect=v1&encoding=json&message=" + urllib.parse.quote('{"key":"j"}')
    connection.request("GET", f"/lookup.v1.Lookup/Get?{json_query}")
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read()) == {"value": "value of j"}
    connection.request("GET", f"/lookup.v1.Lookup/Put?{json_query}")
    response = connection.getresponse()
    assert response.status == 501
    assert "NO_SIDE_EFFECTS" in json.loads(response.read())["message"]


def test_interceptors_error_details_and_health_apply_to_web_calls(
    lookup: tuple[int, Any, Any],
) -> None:
    """Web calls go through the gRPC server itself: its interceptors run, the details a servicer
    raised with (a `google.rpc.Status` in `grpc-status-details-bin`) reach a Connect client as
    its JSON error's `details`, in order, and the health service answers."""
    from google.rpc import error_details_pb2

    web_port, _, details = lookup
    url = f"http://127.0.0.1:{web_port}"
    json_headers = {"content-type": "application/json"}
    response = post(url, "/lookup.v1.Lookup/Put", b"{}", json_headers)
    assert response.status == 400
    error = json.loads(response.read())
    assert error["code"] == "invalid_argument"
    assert error["message"] == "key is empty"
    assert [sent["type"] for sent in error["details"]] == [
        "google.rpc.BadRequest",
        "google.rpc.ErrorInfo",
    ]
    decoded = [
        kind.FromString(base64.b64decode(sent["value"] + "=" * (-len(sent["value"]) % 4)))
        for kind, sent in zip(
            (error_details_pb2.BadRequest, error_details_pb2.ErrorInfo),
            error["details"],
            strict=True,
        )
    ]
    assert decoded == details

    denied = post(url, "/lookup.v1.Lookup/Put", b"{}", {**json_headers, "x-deny": "yes"})
    assert denied.status == 403
    assert json.loads(denied.read())["message"] == "denied by the interceptor"

    health = post(url, "/grpc.health.v1.Health/Check", b"{}", json_headers)
    assert health.status == 200
    assert json.loads(health.read()) == {"status": "SERVING"}


def test_one_process_starts_threaded_web_endpoints_in_turn(tmp_path: Path) -> None:
    """A process (a user's test suite) that starts and stops a server with a web endpoint and
    then another, from another generated tree, gets answers from both."""
    for name in ("web_first", "web_second"):
        assert answer_over_a_threaded_web_endpoint(tmp_path / name, name) == f"{name} has k"


def answer_over_a_threaded_web_endpoint(project: Path, name: str) -> str:
    (project / "proto/lookup/v1").mkdir(parents=True)
    (project / "proto/lookup/v1/lookup.proto").write_text(LOOKUP)
    generated = generate_project(project, package=name)
    with on_sys_path(generated.out):
        rt = importlib.import_module(f"{name}._protoforge_runtime")
        server = importlib.import_module(f"{name}.lookup.v1.lookup_pf_server")
        pb2 = importlib.import_module(f"{name}.lookup.v1.lookup_pb2")

        class Lookup(server.LookupServicer):
            def get(self, request: Any, context: Any) -> Any:
                return pb2.GetResponse(value=f"{name} has {request.key}")

        running = rt.start([Lookup()], "127.0.0.1:0", web_address="127.0.0.1:0")
        try:
            response = post(
                f"http://127.0.0.1:{running.web_port}",
                "/lookup.v1.Lookup/Get",
                b'{"key": "k"}',
                {"content-type": "application/json"},
            )
            assert response.status == 200
            value: str = json.loads(response.read())["value"]
            return value
        finally:
            running.shutdown(grace=1)
