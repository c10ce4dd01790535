# Implementation of routeguide/v1/route_guide.proto: created once by protoforge; yours.
"""The route guide server: features from route_guide_db.json, one RPC of each streaming kind.

protoforge created this file once (as a scaffold) and never overwrites it. Run the server with
`PYTHONPATH=generated python -m routeguide_v1_route_guide_impl [ADDRESS]` (default [::]:50051).
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import grpc
from google.rpc import error_details_pb2
from routeguide import _protoforge_runtime as runtime
from routeguide.v1 import route_guide_pb2, route_guide_pf_server

DB = Path(__file__).with_name("route_guide_db.json")
E7 = 1e7  # coordinates are degrees * 10**7
EARTH_RADIUS_M = 6_371_000


def load_features(path: Path = DB) -> list[route_guide_pb2.Feature]:
    return [
        route_guide_pb2.Feature(
            name=entry["name"],
            location=route_guide_pb2.Point(
                latitude=entry["latitude"], longitude=entry["longitude"]
            ),
        )
        for entry in json.loads(path.read_text(encoding="utf-8"))
    ]


def distance_m(start: route_guide_pb2.Point, end: route_guide_pb2.Point) -> int:
    """Great-circle distance between two points (haversine), in metres."""
    lat1, lat2 = math.radians(start.latitude / E7), math.radians(end.latitude / E7)
    dlat = lat2 - lat1
    dlon = math.radians((end.longitude - start.longitude) / E7)
    a = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return int(EARTH_RADIUS_M * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a)))


def key(point: route_guide_pb2.Point) -> tuple[int, int]:
    return (point.latitude, point.longitude)


class RouteGuide(route_guide_pf_server.RouteGuideServicer):
    """Interface exported by the route guide server."""

    def __init__(self, features: list[route_guide_pb2.Feature] | None = None) -> None:
        self.features = load_features() if features is None else features
        self._by_location = {key(f.location): f for f in self.features}
        self._notes: dict[tuple[int, int], list[route_guide_pb2.RouteNote]] = defaultdict(list)
        self._lock = threading.Lock()

    def get_feature(
        self,
        request: route_guide_pb2.Point,
        context: grpc.ServicerContext,
    ) -> route_guide_pb2.Feature:
        """Obtains the feature at a given position."""
        found = self._by_location.get(key(request))
        return found or route_guide_pb2.Feature(name="", location=request)

    def list_features(
        self,
        request: route_guide_pb2.Rectangle,
        context: grpc.ServicerContext,
    ) -> Iterator[route_guide_pb2.Feature]:
        """Streams the named features inside the given rectangle."""
        missing = [corner for corner in ("lo", "hi") if not request.HasField(corner)]
        if missing:
            # The details travel in the standard grpc-status-details-bin trailer: any gRPC
            # client reads them field by field (here: error.detail(BadRequest)).
            raise runtime.InvalidArgument(
                "a rectangle needs both corners, lo and hi",
                details=[
                    error_details_pb2.BadRequest(
                        field_violations=[
                            error_details_pb2.BadRequest.FieldViolation(
                                field=corner, description="missing", reason="REQUIRED"
                            )
                            for corner in missing
                        ]
                    )
                ],
            )
        left, right = sorted((request.lo.longitude, request.hi.longitude))
        bottom, top = sorted((request.lo.latitude, request.hi.latitude))
        for feature in self.features:
            if not context.is_active():  # the client cancelled or its deadline passed
                return
            where = feature.location
            if left <= where.longitude <= right and bottom <= where.latitude <= top:
                yield feature

    def record_route(
        self,
        request_iterator: Iterator[route_guide_pb2.Point],
        context: grpc.ServicerContext,
    ) -> route_guide_pb2.RouteSummary:
        """Accepts the points of a route and returns a summary when the route is done."""
        summary = route_guide_pb2.RouteSummary()
        previous: route_guide_pb2.Point | None = None
        started = time.monotonic()
        for point in request_iterator:
            summary.point_count += 1
            if key(point) in self._by_location:
                summary.feature_count += 1
            if previous is not None:
                summary.distance += distance_m(previous, point)
            previous = point
        summary.elapsed_time.FromNanoseconds(int((time.monotonic() - started) * 1e9))
        return summary

    def route_chat(
        self,
        request_iterator: Iterator[route_guide_pb2.RouteNote],
        context: grpc.ServicerContext,
    ) -> Iterator[route_guide_pb2.RouteNote]:
        """Every note sent is answered with the earlier notes at its location."""
        for note in request_iterator:
            with self._lock:
                earlier = list(self._notes[key(note.location)])
                self._notes[key(note.location)].append(note)
            yield from earlier


def main(argv: list[str]) -> None:
    """Serve until SIGTERM or Ctrl-C; `--help` lists the options (address, TLS, reflection,
    limits, shutdown times)."""
    args = runtime.parse_arguments(argv[1:])
    runtime.serve(
        [RouteGuide()],
        args.address,
        credentials=args.credentials,
        reflection_enabled=args.reflection,
        max_workers=args.max_workers,
        max_concurrent_rpcs=args.max_concurrent_rpcs,
        grace=args.grace,
        drain=args.drain,
    )


if __name__ == "__main__":
    main(sys.argv)
