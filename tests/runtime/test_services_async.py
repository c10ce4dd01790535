"""End to end over loopback with asyncio: the generated asyncio servicer base, `start_async` and
the asyncio client, for every streaming kind; errors, deadlines, retries and shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from _services import RETRY, Generated, generate_project, on_sys_path, status_code

PACKAGE = "rg_async"


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    project = tmp_path_factory.mktemp("async")
    generated = generate_project(project, package=PACKAGE, client={"retry": RETRY})
    with on_sys_path(generated.out):
        yield generated


def make_servicer(gen: Generated) -> Any:
    pb2, geo, server, rt = gen.pb2, gen.geo, gen.server, gen.runtime

    class RouteGuide(server.AsyncRouteGuideServicer):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            self.attempts: dict[str, int] = {}
            self.started = asyncio.Event()

        async def get_feature(self, request: Any, context: Any) -> Any:
            if request.latitude < 0:
                raise rt.ERRORS[status_code(-request.latitude)](
                    "no feature here", trailing_metadata=(("x-reason", "test"),)
                )
            if request.latitude == 999:
                self.started.set()
                await asyncio.sleep(request.longitude / 1000)
            return pb2.Feature(name=f"f{request.latitude}", location=request)

        async def list_features(self, request: Any, context: Any) -> AsyncIterator[Any]:
            for latitude in range(request.lo.latitude, request.hi.latitude):
                if latitude == 13:
                    raise rt.DataLoss("unlucky")
                yield pb2.Feature(name=f"f{latitude}", location=geo.Point(latitude=latitude))

        async def record_route(self, request_iterator: AsyncIterator[Any], context: Any) -> Any:
            points = [point async for point in request_iterator]
            return pb2.RouteSummary(point_count=len(points))

        async def route_chat(
            self, request_iterator: AsyncIterator[Any], context: Any
        ) -> AsyncIterator[Any]:
            async for note in request_iterator:
                yield pb2.RouteNote(message=note.message.upper())

        async def ping(self, request: Any, context: Any) -> Any:
            key = dict(context.invocation_metadata()).get("x-key", "")
            self.attempts[key] = self.attempts.get(key, 0) + 1
            if key.startswith("flaky") and self.attempts[key] <= 2:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
            return request

    return RouteGuide()


async def with_server(gen: Generated, body: Any, **shutdown: float) -> Any:
    servicer = make_servicer(gen)
    running = await gen.runtime.start_async(
        [servicer, gen.server.AsyncAdminServicer()], "127.0.0.1:0"
    )
    try:
        async with gen.client.AsyncRouteGuideClient.connect(f"127.0.0.1:{running.port}") as client:
            return await body(client, servicer, running)
    finally:
        await running.server.stop(None)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_all_four_streaming_kinds(gen: Generated) -> None:
    geo, pb2 = gen.geo, gen.pb2

    async def body(client: Any, servicer: Any, running: Any) -> None:
        feature = await client.get_feature(geo.Point(latitude=1, longitude=2))
        assert (feature.name, feature.location.longitude) == ("f1", 2)
        rectangle = geo.Rectangle(lo=geo.Point(latitude=3), hi=geo.Point(latitude=6))
        assert [f.name async for f in client.list_features(rectangle)] == ["f3", "f4", "f5"]

        async def points() -> AsyncIterator[Any]:
            for n in range(4):
                yield geo.Point(latitude=n)

        assert (await client.record_route(points())).point_count == 4
        assert (await client.record_route([geo.Point()])).point_count == 1  # a plain iterable
        notes = [pb2.RouteNote(message=m) for m in ("a", "b")]
        assert [n.message async for n in client.route_chat(notes)] == ["A", "B"]

    run(with_server(gen, body))


def test_errors_deadlines_and_unimplemented(gen: Generated) -> None:
    geo, rt = gen.geo, gen.runtime

    async def body(client: Any, servicer: Any, running: Any) -> None:
        with pytest.raises(rt.NotFound) as caught:
            await client.get_feature(geo.Point(latitude=-5))
        assert caught.value.message == "no feature here"
        assert ("x-reason", "test") in caught.value.trailing_metadata
        rectangle = geo.Rectangle(lo=geo.Point(latitude=12), hi=geo.Point(latitude=20))
        received = []
        with pytest.raises(rt.DataLoss):
            async for feature in client.list_features(rectangle):
                received.append(feature.name)
        assert received == ["f12"]
        with pytest.raises(rt.DeadlineExceeded):
            await client.get_feature(geo.Point(latitude=999, longitude=2000), timeout=0.2)
        admin = gen.client.AsyncAdminClient(client.channel)
        with pytest.raises(rt.Unimplemented):
            await admin.get_tags(geo.Point())
        with pytest.deprecated_call(), pytest.raises(rt.Unimplemented):
            await client.get_feature_legacy(geo.Point())

    run(with_server(gen, body))


def test_retries(gen: Generated) -> None:
    from google.protobuf import empty_pb2

    async def body(client: Any, servicer: Any, running: Any) -> None:
        await client.ping(empty_pb2.Empty(), metadata=[("x-key", "flaky")])
        assert servicer.attempts["flaky"] == 3

    run(with_server(gen, body))


def test_graceful_shutdown_completes_in_flight_calls(gen: Generated) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async def body(client: Any, servicer: Any, running: Any) -> None:
        health = health_pb2_grpc.HealthStub(client.channel)
        request = health_pb2.HealthCheckRequest(service="routeguide.v1.RouteGuide")
        assert (await health.Check(request)).status == health_pb2.HealthCheckResponse.SERVING
        in_flight = asyncio.ensure_future(
            client.get_feature(gen.geo.Point(latitude=999, longitude=1000))
        )
        await asyncio.wait_for(servicer.started.wait(), 5)
        stopping = asyncio.ensure_future(running.shutdown(grace=5.0, drain=0.4))
        await asyncio.sleep(0.1)
        status = (await health.Check(request)).status
        assert status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert (await in_flight).name == "f999"
        await stopping
        with pytest.raises(gen.runtime.Unavailable):
            await client.get_feature(gen.geo.Point(), timeout=1)

    run(with_server(gen, body))


def test_port_in_use_is_a_clear_error(gen: Generated) -> None:
    async def body(client: Any, servicer: Any, running: Any) -> None:
        with pytest.raises(gen.runtime.BindError, match="in use"):
            await gen.runtime.start_async([servicer], f"127.0.0.1:{running.port}")

    run(with_server(gen, body))


def test_calls_beyond_the_limit_are_refused_not_queued(gen: Generated) -> None:
    async def main() -> None:
        servicer = make_servicer(gen)
        running = await gen.runtime.start_async([servicer], "127.0.0.1:0", max_concurrent_rpcs=2)
        slow = gen.geo.Point(latitude=999, longitude=1500)
        try:
            async with gen.client.AsyncRouteGuideClient.connect(
                f"127.0.0.1:{running.port}"
            ) as client:
                busy = [asyncio.ensure_future(client.get_feature(slow)) for _ in range(2)]
                for _ in range(500):
                    if running.in_flight == 2:
                        break
                    await asyncio.sleep(0.01)
                assert running.in_flight == 2
                with pytest.raises(gen.runtime.ResourceExhausted):
                    await client.get_feature(gen.geo.Point(latitude=1), timeout=1)
                assert [f.name for f in await asyncio.gather(*busy)] == ["f999", "f999"]
        finally:
            await running.server.stop(None)

    run(main())


def test_shutdown_refuses_new_calls_with_unavailable(gen: Generated) -> None:
    from google.protobuf import empty_pb2

    async def body(client: Any, servicer: Any, running: Any) -> None:
        in_flight = asyncio.ensure_future(
            client.get_feature(gen.geo.Point(latitude=999, longitude=1000))
        )
        await asyncio.wait_for(servicer.started.wait(), 5)
        stopping = asyncio.ensure_future(running.shutdown(grace=5.0))
        for _ in range(500):
            if running._gate.closed:  # refusing from now on
                break
            await asyncio.sleep(0.01)
        with pytest.raises(gen.runtime.Unavailable, match="shutting down"):
            await client.ping(empty_pb2.Empty(), metadata=[("x-key", "late")])
        assert "late" not in servicer.attempts
        assert (await in_flight).name == "f999"
        assert await stopping == 0

    run(with_server(gen, body))


def test_stop_now_cuts_the_grace_period_short(gen: Generated) -> None:
    async def body(client: Any, servicer: Any, running: Any) -> None:
        in_flight = asyncio.ensure_future(
            client.get_feature(gen.geo.Point(latitude=999, longitude=3000))
        )
        await asyncio.wait_for(servicer.started.wait(), 5)
        stopping = asyncio.ensure_future(running.shutdown(grace=30.0))
        await asyncio.sleep(0.2)
        running.stop_now()
        assert await asyncio.wait_for(stopping, 2) == 1
        with pytest.raises(gen.runtime.GrpcError):
            await in_flight

    run(with_server(gen, body))
