"""Rich error details and response metadata over loopback, sync and asyncio, for every streaming
kind: a servicer raises with `google.rpc` details (and a contract's own message, and an `Any` of a
type the client does not know); the generated client gets exactly those back, typed. Successful
calls' headers and trailers reach the caller through `response_metadata=` and the streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from _services import Generated, generate_project, on_sys_path

PACKAGE = "rg_details"
HEADER = ("x-header", "h")
TRAILER = ("x-trailer", "t")
BINARY_TRAILER = ("x-trailer-bin", b"\x00\xff")
UNKNOWN_TYPE = "type.googleapis.com/elsewhere.v1.NotCompiledHere"


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    project = tmp_path_factory.mktemp("details")
    generated = generate_project(project, package=PACKAGE)
    with on_sys_path(generated.out):
        yield generated


def sent_details(gen: Generated, where: str) -> list[Any]:
    """What every failing method raises with: two google.rpc types, a message of the contract,
    and an Any of a type no process here has compiled."""
    from google.protobuf import any_pb2
    from google.rpc import error_details_pb2

    return [
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="latitude", description="must not be negative", reason="NEGATIVE"
                )
            ]
        ),
        error_details_pb2.ErrorInfo(
            reason="OUT_OF_MAP", domain="routeguide", metadata={"at": where}
        ),
        gen.pb2.Feature(name="nearest", location=gen.geo.Point(latitude=1)),
        any_pb2.Any(type_url=UNKNOWN_TYPE, value=b"\x08\x01"),
    ]


def failure(gen: Generated, where: str) -> Any:
    return gen.runtime.InvalidArgument(
        f"bad point in {where}",
        details=sent_details(gen, where),
        trailing_metadata=[("x-reason", "negative")],
    )


def make_sync_servicer(gen: Generated) -> Any:
    pb2 = gen.pb2

    class RouteGuide(gen.server.RouteGuideServicer):  # type: ignore[misc, name-defined]
        def get_feature(self, request: Any, context: grpc.ServicerContext) -> Any:
            if request.latitude < 0:
                raise failure(gen, "get_feature")
            context.send_initial_metadata([HEADER])
            context.set_trailing_metadata([TRAILER, BINARY_TRAILER])
            return pb2.Feature(name="f")

        def list_features(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            context.send_initial_metadata([HEADER])
            yield pb2.Feature(name="first")
            if request.lo.latitude < 0:
                raise failure(gen, "list_features")
            context.set_trailing_metadata([TRAILER])
            yield pb2.Feature(name="second")

        def record_route(
            self, request_iterator: Iterator[Any], context: grpc.ServicerContext
        ) -> Any:
            points = list(request_iterator)
            if any(p.latitude < 0 for p in points):
                raise failure(gen, "record_route")
            context.send_initial_metadata([HEADER])
            context.set_trailing_metadata([TRAILER])
            return pb2.RouteSummary(point_count=len(points))

        def route_chat(
            self, request_iterator: Iterator[Any], context: grpc.ServicerContext
        ) -> Iterator[Any]:
            context.send_initial_metadata([HEADER])
            for note in request_iterator:
                if note.location.latitude < 0:
                    raise failure(gen, "route_chat")
                yield pb2.RouteNote(message=note.message)
            context.set_trailing_metadata([TRAILER])

    return RouteGuide()


def make_async_servicer(gen: Generated) -> Any:
    pb2 = gen.pb2

    class RouteGuide(gen.server.AsyncRouteGuideServicer):  # type: ignore[misc, name-defined]
        async def get_feature(self, request: Any, context: Any) -> Any:
            if request.latitude < 0:
                raise failure(gen, "get_feature")
            await context.send_initial_metadata([HEADER])
            context.set_trailing_metadata([TRAILER, BINARY_TRAILER])
            return pb2.Feature(name="f")

        async def list_features(self, request: Any, context: Any) -> AsyncIterator[Any]:
            await context.send_initial_metadata([HEADER])
            yield pb2.Feature(name="first")
            if request.lo.latitude < 0:
                raise failure(gen, "list_features")
            context.set_trailing_metadata([TRAILER])
            yield pb2.Feature(name="second")

        async def record_route(self, request_iterator: AsyncIterator[Any], context: Any) -> Any:
            points = [point async for point in request_iterator]
            if any(p.latitude < 0 for p in points):
                raise failure(gen, "record_route")
            await context.send_initial_metadata([HEADER])
            context.set_trailing_metadata([TRAILER])
            return pb2.RouteSummary(point_count=len(points))

        async def route_chat(
            self, request_iterator: AsyncIterator[Any], context: Any
        ) -> AsyncIterator[Any]:
            await context.send_initial_metadata([HEADER])
            async for note in request_iterator:
                if note.location.latitude < 0:
                    raise failure(gen, "route_chat")
                yield pb2.RouteNote(message=note.message)
            context.set_trailing_metadata([TRAILER])

    return RouteGuide()


def assert_exact_details(gen: Generated, error: Any, where: str) -> None:
    from google.protobuf import any_pb2
    from google.rpc import error_details_pb2

    rt = gen.runtime
    assert isinstance(error, rt.InvalidArgument)
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert error.message == f"bad point in {where}"
    assert str(error) == f"INVALID_ARGUMENT: bad point in {where}"
    assert ("x-reason", "negative") in error.trailing_metadata
    expected = sent_details(gen, where)
    assert [type(d) for d in error.details] == [
        error_details_pb2.BadRequest,
        error_details_pb2.ErrorInfo,
        gen.pb2.Feature,
        any_pb2.Any,
    ]
    assert list(error.details) == expected
    bad_request = error.detail(error_details_pb2.BadRequest)
    assert bad_request is not None
    assert [(v.field, v.reason) for v in bad_request.field_violations] == [("latitude", "NEGATIVE")]
    info = error.detail(error_details_pb2.ErrorInfo)
    assert info is not None and info.metadata["at"] == where
    assert error.detail(error_details_pb2.RetryInfo) is None
    assert error.details_of(gen.pb2.Feature) == (expected[2],)
    unknown = error.detail(any_pb2.Any)
    assert unknown is not None and unknown.type_url == UNKNOWN_TYPE


def test_sync_details_reach_the_client_typed_for_every_streaming_kind(gen: Generated) -> None:
    geo, pb2 = gen.geo, gen.pb2
    server = gen.runtime.start([make_sync_servicer(gen)], "127.0.0.1:0")
    try:
        with gen.client.RouteGuideClient.connect(f"127.0.0.1:{server.port}") as client:
            with pytest.raises(gen.runtime.GrpcError) as caught:
                client.get_feature(geo.Point(latitude=-1))
            assert_exact_details(gen, caught.value, "get_feature")

            stream = client.list_features(geo.Rectangle(lo=geo.Point(latitude=-1)))
            assert next(stream).name == "first"
            with pytest.raises(gen.runtime.GrpcError) as caught:
                next(stream)
            assert_exact_details(gen, caught.value, "list_features")

            with pytest.raises(gen.runtime.GrpcError) as caught:
                client.record_route([geo.Point(latitude=1), geo.Point(latitude=-1)])
            assert_exact_details(gen, caught.value, "record_route")

            notes = [pb2.RouteNote(location=geo.Point(latitude=-1), message="x")]
            with pytest.raises(gen.runtime.GrpcError) as caught:
                list(client.route_chat(notes))
            assert_exact_details(gen, caught.value, "route_chat")
    finally:
        server.server.stop(None).wait()


def test_async_details_reach_the_client_typed_for_every_streaming_kind(gen: Generated) -> None:
    geo, pb2 = gen.geo, gen.pb2

    async def scenario() -> None:
        server = await gen.runtime.start_async([make_async_servicer(gen)], "127.0.0.1:0")
        try:
            async with gen.client.AsyncRouteGuideClient.connect(
                f"127.0.0.1:{server.port}"
            ) as client:
                with pytest.raises(gen.runtime.GrpcError) as caught:
                    await client.get_feature(geo.Point(latitude=-1))
                assert_exact_details(gen, caught.value, "get_feature")

                stream = client.list_features(geo.Rectangle(lo=geo.Point(latitude=-1)))
                assert (await anext(stream)).name == "first"
                with pytest.raises(gen.runtime.GrpcError) as caught:
                    await anext(stream)
                assert_exact_details(gen, caught.value, "list_features")

                with pytest.raises(gen.runtime.GrpcError) as caught:
                    await client.record_route([geo.Point(latitude=1), geo.Point(latitude=-1)])
                assert_exact_details(gen, caught.value, "record_route")

                notes = [pb2.RouteNote(location=geo.Point(latitude=-1), message="x")]
                with pytest.raises(gen.runtime.GrpcError) as caught:
                    [note async for note in client.route_chat(notes)]
                assert_exact_details(gen, caught.value, "route_chat")
        finally:
            await server.server.stop(None)

    asyncio.run(scenario())


def test_errors_without_details_and_plain_grpc_aborts_have_none(gen: Generated) -> None:
    """A servicer's `context.abort` and an error raised without details carry no trailer: the
    client's `details` are empty, not an error."""
    rt = gen.runtime
    error = rt.NotFound("no feature", trailing_metadata=[("x-a", "b")])
    assert error.details == () and error.detail(gen.pb2.Feature) is None
    assert (error.message, str(error)) == ("no feature", "NOT_FOUND: no feature")
    admin = gen.server.AdminServicer()  # UNIMPLEMENTED through context.abort
    server = rt.start([admin], "127.0.0.1:0")
    try:
        with (
            gen.client.AdminClient.connect(f"127.0.0.1:{server.port}") as client,
            pytest.raises(rt.Unimplemented) as caught,
        ):
            client.get_tags(gen.geo.Point())
    finally:
        server.server.stop(None).wait()
    assert caught.value.details == ()
    assert "GetTags is not implemented" in caught.value.message


def test_sync_response_metadata_of_successful_calls(gen: Generated) -> None:
    geo, pb2, rt = gen.geo, gen.pb2, gen.runtime
    server = rt.start([make_sync_servicer(gen)], "127.0.0.1:0")
    try:
        with gen.client.RouteGuideClient.connect(f"127.0.0.1:{server.port}") as client:
            seen = rt.ResponseMetadata()
            assert client.get_feature(geo.Point(), response_metadata=seen).name == "f"
            assert HEADER in seen.initial_metadata
            assert TRAILER in seen.trailing_metadata
            assert BINARY_TRAILER in seen.trailing_metadata
            assert client.get_feature(geo.Point()).name == "f"  # the plain call is unchanged

            seen = rt.ResponseMetadata()
            assert client.record_route([geo.Point()], response_metadata=seen).point_count == 1
            assert (HEADER in seen.initial_metadata, TRAILER in seen.trailing_metadata) == (
                True,
                True,
            )

            seen = rt.ResponseMetadata()
            stream = client.list_features(geo.Rectangle(), response_metadata=seen)
            assert HEADER in stream.initial_metadata()  # while iterating
            assert [f.name for f in stream] == ["first", "second"]
            assert TRAILER in stream.trailing_metadata()
            assert (HEADER in seen.initial_metadata, TRAILER in seen.trailing_metadata) == (
                True,
                True,
            )

            seen = rt.ResponseMetadata()
            chat = client.route_chat([pb2.RouteNote(message="a")], response_metadata=seen)
            assert [n.message for n in chat] == ["a"]
            assert HEADER in chat.initial_metadata() and TRAILER in chat.trailing_metadata()
            assert TRAILER in seen.trailing_metadata

            seen = rt.ResponseMetadata()  # a failed call fills it too
            with pytest.raises(rt.InvalidArgument):
                client.get_feature(geo.Point(latitude=-1), response_metadata=seen)
            assert ("x-reason", "negative") in seen.trailing_metadata
    finally:
        server.server.stop(None).wait()


def test_async_response_metadata_of_successful_calls(gen: Generated) -> None:
    geo, pb2, rt = gen.geo, gen.pb2, gen.runtime

    async def scenario() -> None:
        server = await rt.start_async([make_async_servicer(gen)], "127.0.0.1:0")
        try:
            async with gen.client.AsyncRouteGuideClient.connect(
                f"127.0.0.1:{server.port}"
            ) as client:
                seen = rt.ResponseMetadata()
                assert (await client.get_feature(geo.Point(), response_metadata=seen)).name == "f"
                assert HEADER in seen.initial_metadata
                assert TRAILER in seen.trailing_metadata
                assert BINARY_TRAILER in seen.trailing_metadata

                seen = rt.ResponseMetadata()
                summary = await client.record_route([geo.Point()], response_metadata=seen)
                assert summary.point_count == 1
                assert HEADER in seen.initial_metadata and TRAILER in seen.trailing_metadata

                seen = rt.ResponseMetadata()
                stream = client.list_features(geo.Rectangle(), response_metadata=seen)
                assert HEADER in await stream.initial_metadata()
                assert [f.name async for f in stream] == ["first", "second"]
                assert TRAILER in await stream.trailing_metadata()
                assert HEADER in seen.initial_metadata and TRAILER in seen.trailing_metadata

                seen = rt.ResponseMetadata()
                chat = client.route_chat([pb2.RouteNote(message="a")], response_metadata=seen)
                assert [n.message async for n in chat] == ["a"]
                assert TRAILER in await chat.trailing_metadata()
                assert TRAILER in seen.trailing_metadata

                seen = rt.ResponseMetadata()
                with pytest.raises(rt.InvalidArgument):
                    await client.get_feature(geo.Point(latitude=-1), response_metadata=seen)
                assert ("x-reason", "negative") in seen.trailing_metadata
        finally:
            await server.server.stop(None)

    asyncio.run(scenario())


def test_a_broken_details_trailer_gives_no_details(gen: Generated) -> None:
    error = gen.runtime.Internal("x", trailing_metadata=[("grpc-status-details-bin", b"\xff\xff")])
    assert error.details == ()


def test_without_grpcio_status_only_the_details_fail(
    gen: Generated, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A server without grpcio-status still ends the call with the code and message (and logs
    why the details were left out); a client without googleapis-common-protos gets its typed
    error, and only reading `.details` raises, naming what to install."""
    import sys

    rt, geo = gen.runtime, gen.geo
    server = rt.start([make_sync_servicer(gen)], "127.0.0.1:0")
    try:
        with gen.client.RouteGuideClient.connect(f"127.0.0.1:{server.port}") as client:
            monkeypatch.setitem(sys.modules, "grpc_status", None)  # import fails
            with pytest.raises(rt.InvalidArgument) as caught:
                client.get_feature(geo.Point(latitude=-1))
            monkeypatch.delitem(sys.modules, "grpc_status")
            with pytest.raises(rt.InvalidArgument) as with_details:
                client.get_feature(geo.Point(latitude=-1))
    finally:
        server.server.stop(None).wait()
    assert caught.value.message == "bad point in get_feature"
    assert ("x-reason", "negative") in caught.value.trailing_metadata
    assert caught.value.details == ()
    assert "sent without its details" in caplog.text and "pip install grpcio-status" in caplog.text

    monkeypatch.setitem(sys.modules, "google.rpc", None)
    error = with_details.value
    assert error.message == "bad point in get_feature"
    with pytest.raises(rt.DetailsUnavailable, match="pip install grpcio-status"):
        error.details  # noqa: B018 - the property is what is tested
