"""A protoforge-generated route-guide server (sync or asyncio) for the Node.js interop client.

    PYTHONPATH=<gen> python py_server.py <package> sync|async [--web]

Binds 127.0.0.1:0, prints `{"port": N}` on one line of stdout (with `--web`, also serves
gRPC-Web and Connect on another 127.0.0.1:0 with CORS for http://page.test, and prints
`{"port": N, "web_port": M}`), serves until stdin is closed
(so it never outlives the test that started it), then stops. The behaviour is the interop
contract's, shared with tests/interop/node/server.js (see docs/interop.md):

- GetFeature(Point): latitude < 0 fails with status -latitude, message "no feature at LAT,LON",
  trailing metadata x-reason: interop and the error details BadRequest (a field violation of
  `latitude` with the message) and ErrorInfo (reason NO_FEATURE, domain routeguide.interop,
  metadata latitude: LAT); latitude 999 sleeps `longitude` ms; otherwise
  Feature(name="f<lat>", location=point).
- ListFeatures(Rectangle): Feature f<lat> for lo.latitude <= lat < hi.latitude.
- RecordRoute(stream Point): point_count, distance = sum of latitudes, feature_count = points
  with a non-zero longitude, finished_at = 1700000000 + point_count seconds.
- RouteChat(stream RouteNote): each note back with its message upper-cased.
- Ping(Empty): Empty. Admin.GetTags(Point): Tags(names=["interop", "tag<lat>"]).
- Metadata: a request header `x-interop-echo: V` comes back as initial metadata
  `x-echo-initial: V` and trailing metadata `x-echo-trailing: V`, and unary/bidi responses
  carry `:V` after their name/message; a binary header `x-interop-bin` comes back as trailing
  `x-echo-bin`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from google.protobuf import timestamp_pb2

ECHO = "x-interop-echo"
ECHO_BIN = "x-interop-bin"


def load(package: str) -> tuple[Any, Any, Any, Any]:
    rt = importlib.import_module(f"{package}._protoforge_runtime")
    server = importlib.import_module(f"{package}.routeguide.v1.route_guide_pf_server")
    pb2 = importlib.import_module(f"{package}.routeguide.v1.route_guide_pb2")
    geo = importlib.import_module(f"{package}.routeguide.v1.geo_pb2")
    return rt, server, pb2, geo


def echo_metadata(context: Any) -> tuple[str, list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(suffix, initial, trailing) metadata to send back for the request's echo headers."""
    received = dict(context.invocation_metadata())
    value = received.get(ECHO)
    initial: list[tuple[str, Any]] = []
    trailing: list[tuple[str, Any]] = []
    if value is not None:
        initial.append(("x-echo-initial", value))
        trailing.append(("x-echo-trailing", value))
    if ECHO_BIN in received:
        trailing.append(("x-echo-bin", received[ECHO_BIN]))
    return ("" if value is None else f":{value}"), initial, trailing


def summary(pb2: Any, points: list[Any]) -> Any:
    return pb2.RouteSummary(
        point_count=len(points),
        feature_count=sum(1 for p in points if p.longitude),
        distance=sum(p.latitude for p in points),
        finished_at=timestamp_pb2.Timestamp(seconds=1_700_000_000 + len(points)),
    )


def error(rt: Any, point: Any) -> Any:
    from google.rpc import error_details_pb2

    code = next(c for c in rt.ERRORS if c.value[0] == -point.latitude)
    message = f"no feature at {point.latitude},{point.longitude}"
    violation = error_details_pb2.BadRequest.FieldViolation(field="latitude", description=message)
    return rt.ERRORS[code](
        message,
        details=[
            error_details_pb2.BadRequest(field_violations=[violation]),
            error_details_pb2.ErrorInfo(
                reason="NO_FEATURE",
                domain="routeguide.interop",
                metadata={"latitude": str(point.latitude)},
            ),
        ],
        trailing_metadata=(("x-reason", "interop"),),
    )


def sync_servicers(package: str) -> list[Any]:
    rt, server, pb2, geo = load(package)

    class RouteGuide(server.RouteGuideServicer):  # type: ignore[misc, name-defined]
        def get_feature(self, request: Any, context: Any) -> Any:
            suffix, initial, trailing = echo_metadata(context)
            if initial:
                context.send_initial_metadata(initial)
            if request.latitude < 0:
                raise error(rt, request)
            if request.latitude == 999:
                deadline = time.monotonic() + request.longitude / 1000
                while context.is_active() and time.monotonic() < deadline:
                    time.sleep(0.01)
            context.set_trailing_metadata(trailing)
            return pb2.Feature(name=f"f{request.latitude}{suffix}", location=request)

        def list_features(self, request: Any, context: Any) -> Iterator[Any]:
            _, initial, trailing = echo_metadata(context)
            if initial:
                context.send_initial_metadata(initial)
            for latitude in range(request.lo.latitude, request.hi.latitude):
                point = geo.Point(latitude=latitude, longitude=request.lo.longitude)
                yield pb2.Feature(name=f"f{latitude}", location=point)
            context.set_trailing_metadata(trailing)

        def record_route(self, request_iterator: Iterator[Any], context: Any) -> Any:
            _, initial, trailing = echo_metadata(context)
            if initial:
                context.send_initial_metadata(initial)
            context.set_trailing_metadata(trailing)
            return summary(pb2, list(request_iterator))

        def route_chat(self, request_iterator: Iterator[Any], context: Any) -> Iterator[Any]:
            suffix, initial, trailing = echo_metadata(context)
            if initial:
                context.send_initial_metadata(initial)
            for note in request_iterator:
                yield pb2.RouteNote(location=note.location, message=note.message.upper() + suffix)
            context.set_trailing_metadata(trailing)

        def ping(self, request: Any, context: Any) -> Any:
            return request

    class Admin(server.AdminServicer):  # type: ignore[misc, name-defined]
        def get_tags(self, request: Any, context: Any) -> Any:
            return pb2.Feature.Tags(names=["interop", f"tag{request.latitude}"])

    return [RouteGuide(), Admin()]


def async_servicers(package: str) -> list[Any]:
    rt, server, pb2, geo = load(package)

    class RouteGuide(server.AsyncRouteGuideServicer):  # type: ignore[misc, name-defined]
        async def get_feature(self, request: Any, context: Any) -> Any:
            suffix, initial, trailing = echo_metadata(context)
            if initial:
                await context.send_initial_metadata(initial)
            if request.latitude < 0:
                raise error(rt, request)
            if request.latitude == 999:
                await asyncio.sleep(request.longitude / 1000)
            context.set_trailing_metadata(trailing)
            return pb2.Feature(name=f"f{request.latitude}{suffix}", location=request)

        async def list_features(self, request: Any, context: Any) -> AsyncIterator[Any]:
            _, initial, trailing = echo_metadata(context)
            if initial:
                await context.send_initial_metadata(initial)
            for latitude in range(request.lo.latitude, request.hi.latitude):
                point = geo.Point(latitude=latitude, longitude=request.lo.longitude)
                yield pb2.Feature(name=f"f{latitude}", location=point)
            context.set_trailing_metadata(trailing)

        async def record_route(self, request_iterator: AsyncIterator[Any], context: Any) -> Any:
            _, initial, trailing = echo_metadata(context)
            if initial:
                await context.send_initial_metadata(initial)
            context.set_trailing_metadata(trailing)
            return summary(pb2, [point async for point in request_iterator])

        async def route_chat(
            self, request_iterator: AsyncIterator[Any], context: Any
        ) -> AsyncIterator[Any]:
            suffix, initial, trailing = echo_metadata(context)
            if initial:
                await context.send_initial_metadata(initial)
            async for note in request_iterator:
                yield pb2.RouteNote(location=note.location, message=note.message.upper() + suffix)
            context.set_trailing_metadata(trailing)

        async def ping(self, request: Any, context: Any) -> Any:
            return request

    class Admin(server.AsyncAdminServicer):  # type: ignore[misc, name-defined]
        async def get_tags(self, request: Any, context: Any) -> Any:
            return pb2.Feature.Tags(names=["interop", f"tag{request.latitude}"])

    return [RouteGuide(), Admin()]


WEB = {"web_address": "127.0.0.1:0", "cors_origins": ["http://page.test"]}


def announce(running: Any) -> None:
    ports = {"port": running.port}
    if running.web_port is not None:
        ports["web_port"] = running.web_port
    print(json.dumps(ports), flush=True)


def run_sync(package: str, web: bool) -> None:
    rt = importlib.import_module(f"{package}._protoforge_runtime")
    running = rt.start(sync_servicers(package), "127.0.0.1:0", **(WEB if web else {}))
    try:
        announce(running)
        sys.stdin.read()  # until the test closes our stdin (or dies)
    finally:
        running.shutdown(grace=1.0)


async def run_async(package: str, web: bool) -> None:
    rt = importlib.import_module(f"{package}._protoforge_runtime")
    running = await rt.start_async(async_servicers(package), "127.0.0.1:0", **(WEB if web else {}))
    try:
        announce(running)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await running.shutdown(grace=1.0)


def main() -> None:
    package, flavour = sys.argv[1], sys.argv[2]
    web = sys.argv[3:] == ["--web"]
    if flavour == "sync":
        run_sync(package, web)
    elif flavour == "async":
        asyncio.run(run_async(package, web))
    else:
        raise SystemExit(f"usage: {sys.argv[0]} PACKAGE sync|async [--web]")


if __name__ == "__main__":
    main()
