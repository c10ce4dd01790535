"""End to end over loopback: the generated sync servicer base, serve helper and sync client, with
real gRPC, for every streaming kind; errors, deadlines, retries, health, reflection, shutdown."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from _services import RETRY, Generated, generate_project, on_sys_path, status_code

PACKAGE = "rg_sync"


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    project = tmp_path_factory.mktemp("sync")
    generated = generate_project(project, package=PACKAGE, client={"timeout": 5.0, "retry": RETRY})
    with on_sys_path(generated.out):
        yield generated


def make_servicer(gen: Generated) -> Any:
    pb2, geo, server, rt = gen.pb2, gen.geo, gen.server, gen.runtime

    class RouteGuide(server.RouteGuideServicer):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.attempts: dict[str, int] = {}
            self.started = threading.Event()

        def get_feature(self, request: Any, context: grpc.ServicerContext) -> Any:
            if request.latitude < 0:  # -N: fail with status code N
                raise rt.ERRORS[status_code(-request.latitude)](
                    "no feature here", trailing_metadata=(("x-reason", "test"),)
                )
            if request.latitude == 999:  # slow: sleep `longitude` milliseconds
                self.started.set()
                time.sleep(request.longitude / 1000)
            return pb2.Feature(name=f"f{request.latitude}", location=request)

        def list_features(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            for latitude in range(request.lo.latitude, request.hi.latitude):
                if latitude == 13:
                    raise rt.DataLoss("unlucky")
                self.started.set()
                time.sleep(request.hi.longitude / 1000)
                yield pb2.Feature(name=f"f{latitude}", location=geo.Point(latitude=latitude))

        def record_route(
            self, request_iterator: Iterator[Any], context: grpc.ServicerContext
        ) -> Any:
            points = list(request_iterator)
            return pb2.RouteSummary(
                point_count=len(points), distance=sum(p.latitude for p in points)
            )

        def route_chat(
            self, request_iterator: Iterator[Any], context: grpc.ServicerContext
        ) -> Iterator[Any]:
            for note in request_iterator:
                yield pb2.RouteNote(location=note.location, message=note.message.upper())

        def get_feature_legacy(self, request: Any, context: grpc.ServicerContext) -> Any:
            return pb2.Feature(name="legacy")

        def ping(self, request: Any, context: grpc.ServicerContext) -> Any:
            key = dict(context.invocation_metadata()).get("x-key", "")
            self.attempts[key] = self.attempts.get(key, 0) + 1
            if key.startswith("flaky") and self.attempts[key] <= 2:
                context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
            return request

    return RouteGuide()


@pytest.fixture
def running(gen: Generated) -> Iterator[tuple[Any, Any]]:
    servicer = make_servicer(gen)
    admin = gen.server.AdminServicer()  # every method left UNIMPLEMENTED
    server = gen.runtime.start([servicer, admin], "127.0.0.1:0")
    try:
        yield server, servicer
    finally:
        server.server.stop(None).wait()


@pytest.fixture
def client(gen: Generated, running: tuple[Any, Any]) -> Iterator[Any]:
    with gen.client.RouteGuideClient.connect(f"127.0.0.1:{running[0].port}") as client:
        yield client


def test_all_four_streaming_kinds(gen: Generated, client: Any) -> None:
    geo, pb2 = gen.geo, gen.pb2
    feature = client.get_feature(geo.Point(latitude=1, longitude=2))
    assert (feature.name, feature.location.longitude) == ("f1", 2)

    stream = client.list_features(geo.Rectangle(lo=geo.Point(latitude=3), hi=geo.Point(latitude=6)))
    assert [f.name for f in stream] == ["f3", "f4", "f5"]

    summary = client.record_route([geo.Point(latitude=n) for n in (1, 2, 3)])
    assert (summary.point_count, summary.distance) == (3, 6)

    notes = [pb2.RouteNote(message=m) for m in ("a", "b")]
    assert [n.message for n in client.route_chat(iter(notes))] == ["A", "B"]


def test_well_known_types_nested_messages_and_unimplemented(gen: Generated, client: Any) -> None:
    from google.protobuf import empty_pb2

    assert client.ping(empty_pb2.Empty()) == empty_pb2.Empty()
    admin = gen.client.AdminClient(client.channel)
    with pytest.raises(gen.runtime.Unimplemented) as caught:
        admin.get_tags(gen.geo.Point())
    assert "Admin.GetTags is not implemented" in caught.value.message


def test_deprecated_rpc_warns_at_run_time(gen: Generated, client: Any) -> None:
    with pytest.deprecated_call(match="GetFeatureLegacy is deprecated"):
        assert client.get_feature_legacy(gen.geo.Point()).name == "legacy"


def test_errors_map_to_typed_exceptions(gen: Generated, client: Any) -> None:
    rt = gen.runtime
    with pytest.raises(rt.NotFound) as caught:
        client.get_feature(gen.geo.Point(latitude=-5))
    error = caught.value
    assert isinstance(error, rt.GrpcError)
    assert error.code is grpc.StatusCode.NOT_FOUND
    assert error.message == "no feature here"
    assert ("x-reason", "test") in error.trailing_metadata
    assert isinstance(error.__cause__, grpc.RpcError)

    for number, name in [(3, "InvalidArgument"), (7, "PermissionDenied"), (16, "Unauthenticated")]:
        with pytest.raises(getattr(rt, name)):
            client.get_feature(gen.geo.Point(latitude=-number))


def test_every_status_code_has_an_exception(gen: Generated) -> None:
    rt = gen.runtime
    assert set(rt.ERRORS) == set(grpc.StatusCode) - {grpc.StatusCode.OK}
    for code, cls in rt.ERRORS.items():
        assert cls.CODE is code and issubclass(cls, rt.GrpcError)


def test_errors_while_streaming_are_typed(gen: Generated, client: Any) -> None:
    geo = gen.geo
    stream = client.list_features(
        geo.Rectangle(lo=geo.Point(latitude=11), hi=geo.Point(latitude=20))
    )
    received = []
    with pytest.raises(gen.runtime.DataLoss, match="unlucky"):
        for feature in stream:
            received.append(feature.name)
    assert received == ["f11", "f12"]


def test_deadlines_per_call_and_default(gen: Generated, running: tuple[Any, Any]) -> None:
    slow = gen.geo.Point(latitude=999, longitude=1500)
    target = f"127.0.0.1:{running[0].port}"
    with gen.client.RouteGuideClient.connect(target) as client:
        assert client.timeout == 5.0  # from config client.timeout
        with pytest.raises(gen.runtime.DeadlineExceeded):
            client.get_feature(slow, timeout=0.2)
    with (
        gen.client.RouteGuideClient.connect(target, timeout=0.2) as client,
        pytest.raises(gen.runtime.DeadlineExceeded),
    ):
        client.get_feature(slow)


def test_retries_from_the_service_config(gen: Generated, running: tuple[Any, Any]) -> None:
    from google.protobuf import empty_pb2

    target = f"127.0.0.1:{running[0].port}"
    with gen.client.RouteGuideClient.connect(target) as client:
        client.ping(empty_pb2.Empty(), metadata=[("x-key", "flaky-1")])
    assert running[1].attempts["flaky-1"] == 3

    # Without the service config (a channel the client does not own) nothing is retried.
    with grpc.insecure_channel(target) as channel:
        plain = gen.client.RouteGuideClient(channel)
        with pytest.raises(gen.runtime.Unavailable, match="try again"):
            plain.ping(empty_pb2.Empty(), metadata=[("x-key", "flaky-2")])
        plain.close()  # does not close a channel it does not own
        assert plain.ping(empty_pb2.Empty(), metadata=[("x-key", "ok")]) == empty_pb2.Empty()
    assert running[1].attempts["flaky-2"] == 1


def health_status(target: str, service: str) -> str:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def test_health_and_reflection(gen: Generated, running: tuple[Any, Any]) -> None:
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    target = f"127.0.0.1:{running[0].port}"
    assert health_status(target, "routeguide.v1.RouteGuide") == "SERVING"
    assert health_status(target, "routeguide.v1.Admin") == "SERVING"
    assert health_status(target, "") == "SERVING"
    with grpc.insecure_channel(target) as channel:
        services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert {"routeguide.v1.RouteGuide", "routeguide.v1.Admin", "grpc.health.v1.Health"} <= services


def test_graceful_shutdown(gen: Generated) -> None:
    """Health goes NOT_SERVING first (during `drain`), then new calls are refused while the
    in-flight call completes within the grace period."""
    servicer = make_servicer(gen)
    server = gen.runtime.start([servicer], "127.0.0.1:0")
    target = f"127.0.0.1:{server.port}"
    client = gen.client.RouteGuideClient.connect(target)
    result: dict[str, Any] = {}
    try:
        assert health_status(target, "routeguide.v1.RouteGuide") == "SERVING"
        in_flight = threading.Thread(
            target=lambda: result.update(
                feature=client.get_feature(gen.geo.Point(latitude=999, longitude=1200))
            )
        )
        in_flight.start()
        assert servicer.started.wait(5)
        stopper = threading.Thread(target=server.shutdown, kwargs={"grace": 5.0, "drain": 0.5})
        stopper.start()
        time.sleep(0.1)
        assert health_status(target, "routeguide.v1.RouteGuide") == "NOT_SERVING"
        stopper.join(10)
        in_flight.join(10)
        assert result["feature"].name == "f999"
        with pytest.raises(gen.runtime.Unavailable):
            client.get_feature(gen.geo.Point(latitude=1), timeout=1)
    finally:
        client.close()
        server.server.stop(None).wait()


def test_port_in_use_is_a_clear_error(gen: Generated) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(gen.runtime.BindError, match="in use"):
            gen.runtime.start([make_servicer(gen)], address)


def test_registration_function_and_external_channel(gen: Generated) -> None:
    from concurrent import futures

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    gen.server.add_route_guide_servicer_to_server(make_servicer(gen), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        with gen.client.RouteGuideClient(channel) as client:
            assert client.get_feature(gen.geo.Point(latitude=7)).name == "f7"
        # The channel was not the client's: it still works.
        assert gen.client.RouteGuideClient(channel).get_feature(gen.geo.Point()).name == "f0"
        channel.close()
    finally:
        server.stop(None).wait()


def test_generated_files_are_where_the_docs_say(gen: Generated) -> None:
    root = gen.out / PACKAGE
    assert (root / "_protoforge_runtime.py").is_file()
    assert (root / "routeguide/v1/route_guide_pf_server.py").is_file()
    assert (root / "routeguide/v1/route_guide_pf_client.py").is_file()
    assert not (root / "routeguide/v1/geo_pf_server.py").exists()  # no services, no server
    assert (gen.project / "routeguide_v1_route_guide_impl.py").is_file()
    header = (root / "routeguide/v1/route_guide_pf_client.py").read_text().splitlines()[0]
    assert header == (
        "# Generated by protoforge from routeguide/v1/route_guide.proto. DO NOT EDIT."
    )


def test_calls_beyond_the_limit_are_refused_not_queued(gen: Generated) -> None:
    """With every slot busy, one more call fails at once with RESOURCE_EXHAUSTED instead of
    waiting, unseen, until its deadline passes."""
    servicer = make_servicer(gen)
    server = gen.runtime.start([servicer], "127.0.0.1:0", max_workers=8, max_concurrent_rpcs=3)
    slow = gen.geo.Point(latitude=999, longitude=1500)
    try:
        with gen.client.RouteGuideClient.connect(f"127.0.0.1:{server.port}") as client:
            busy = [threading.Thread(target=client.get_feature, args=(slow,)) for _ in range(3)]
            for thread in busy:
                thread.start()
            deadline = time.monotonic() + 5
            while server.in_flight < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert server.in_flight == 3
            began = time.monotonic()
            with pytest.raises(gen.runtime.ResourceExhausted):
                client.get_feature(gen.geo.Point(latitude=1), timeout=5)
            assert time.monotonic() - began < 1  # refused, not queued until the deadline
            for thread in busy:
                thread.join(10)
            assert client.get_feature(gen.geo.Point(latitude=2)).name == "f2"
    finally:
        server.server.stop(None).wait()


def test_the_default_pool_serves_a_hundred_long_streams_at_once(gen: Generated) -> None:
    """Issue 13: with gRPC's 10 threads, 60 of 100 concurrent 2-second streams missed a 10 s
    deadline. Here 100 one-second streams all finish well inside a 5 s deadline."""
    from concurrent import futures

    servicer = make_servicer(gen)
    server = gen.runtime.start([servicer], "127.0.0.1:0")
    geo = gen.geo
    # Ten features, 100 ms apart: each stream lasts one second.
    rectangle = geo.Rectangle(lo=geo.Point(latitude=20), hi=geo.Point(latitude=30, longitude=100))
    try:
        with gen.client.RouteGuideClient.connect(f"127.0.0.1:{server.port}", timeout=5) as client:

            def one(_: int) -> int:
                return len(list(client.list_features(rectangle)))

            with futures.ThreadPoolExecutor(100) as pool:
                counts = list(pool.map(one, range(100)))
        assert counts == [10] * 100
    finally:
        server.server.stop(None).wait()


def test_shutdown_refuses_new_calls_with_unavailable_while_in_flight_ones_finish(
    gen: Generated,
) -> None:
    """A call arriving during the shutdown gets UNAVAILABLE (a code retry policies retry)
    rather than the CANCELLED gRPC gives calls reaching a stopping server; the call in flight
    still completes."""
    from google.protobuf import empty_pb2

    servicer = make_servicer(gen)
    server = gen.runtime.start([servicer], "127.0.0.1:0")
    target = f"127.0.0.1:{server.port}"
    client = gen.client.RouteGuideClient.connect(target)
    result: dict[str, Any] = {}
    try:
        in_flight = threading.Thread(
            target=lambda: result.update(
                feature=client.get_feature(gen.geo.Point(latitude=999, longitude=1500))
            )
        )
        in_flight.start()
        assert servicer.started.wait(5)
        stopper = threading.Thread(target=server.shutdown, kwargs={"grace": 5.0})
        stopper.start()
        deadline = time.monotonic() + 5
        while not server._gate.closed and time.monotonic() < deadline:  # refusing from now on
            time.sleep(0.01)
        with pytest.raises(gen.runtime.Unavailable, match="shutting down"):
            client.ping(empty_pb2.Empty(), metadata=[("x-key", "late")])
        assert "late" not in servicer.attempts  # refused before the handler ran
        assert health_status(target, "routeguide.v1.RouteGuide") == "NOT_SERVING"
        in_flight.join(10)
        stopper.join(10)
        assert result["feature"].name == "f999"
    finally:
        client.close()
        server.server.stop(None).wait()


def test_stop_now_cuts_the_grace_period_short(gen: Generated) -> None:
    servicer = make_servicer(gen)
    server = gen.runtime.start([servicer], "127.0.0.1:0")
    client = gen.client.RouteGuideClient.connect(f"127.0.0.1:{server.port}")
    errors: list[Exception] = []

    def call() -> None:
        try:
            client.get_feature(gen.geo.Point(latitude=999, longitude=3000))
        except gen.runtime.GrpcError as error:
            errors.append(error)

    try:
        in_flight = threading.Thread(target=call)
        in_flight.start()
        assert servicer.started.wait(5)
        cut_off: list[int] = []
        stopper = threading.Thread(target=lambda: cut_off.append(server.shutdown(grace=30)))
        stopper.start()
        time.sleep(0.2)
        began = time.monotonic()
        server.stop_now()
        stopper.join(10)
        assert time.monotonic() - began < 2
        assert cut_off == [1]
        in_flight.join(10)
        assert len(errors) == 1  # the client learns the call did not complete
    finally:
        client.close()
        server.server.stop(None).wait()


TLS = Path(__file__).parents[1] / "fixtures" / "tls"


def test_tls_and_mutual_tls(gen: Generated) -> None:
    rt = gen.runtime
    ca = (TLS / "ca.pem").read_bytes()
    credentials = rt.server_credentials(str(TLS / "server.pem"), str(TLS / "server.key"))
    server = rt.start([make_servicer(gen)], "127.0.0.1:0", credentials=credentials)
    try:
        channel = grpc.ssl_channel_credentials(root_certificates=ca)
        with gen.client.RouteGuideClient.connect(
            f"localhost:{server.port}", credentials=channel
        ) as client:
            assert client.get_feature(gen.geo.Point(latitude=3)).name == "f3"
    finally:
        server.server.stop(None).wait()

    mutual = rt.server_credentials(
        str(TLS / "server.pem"), str(TLS / "server.key"), str(TLS / "ca.pem")
    )
    server = rt.start([make_servicer(gen)], "127.0.0.1:0", credentials=mutual)
    target = f"localhost:{server.port}"
    try:
        anonymous = grpc.ssl_channel_credentials(root_certificates=ca)
        with (
            gen.client.RouteGuideClient.connect(target, credentials=anonymous) as client,
            pytest.raises(gen.runtime.Unavailable),
        ):
            client.get_feature(gen.geo.Point(), timeout=5)
        known = grpc.ssl_channel_credentials(
            root_certificates=ca,
            private_key=(TLS / "client.key").read_bytes(),
            certificate_chain=(TLS / "client.pem").read_bytes(),
        )
        with gen.client.RouteGuideClient.connect(target, credentials=known) as client:
            assert client.get_feature(gen.geo.Point(latitude=4)).name == "f4"
    finally:
        server.server.stop(None).wait()


def test_unusable_tls_material_is_named(gen: Generated, tmp_path: Path) -> None:
    rt = gen.runtime
    cert, key = str(TLS / "server.pem"), str(TLS / "server.key")
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    junk = str(tmp_path / "junk.pem")
    cases = [
        ((cert, str(tmp_path / "absent.key")), "absent.key: the TLS private key file does not"),
        ((junk, key), "junk.pem: not a PEM certificate"),
        ((cert, junk), "junk.pem: not a PEM private key"),
        ((cert, str(TLS / "other.key")), "other.key: the private key does not belong to the"),
        ((cert, key, junk), "junk.pem: not a PEM client CA certificate"),
    ]
    for args, message in cases:
        with pytest.raises(rt.TlsError) as caught:
            rt.server_credentials(*args)
        assert message in str(caught.value), args
