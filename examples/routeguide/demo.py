"""The route guide, end to end: start the server on 127.0.0.1 (a free port), call each of the
four RPCs with the generated client, print what comes back, and stop the server.

    PYTHONPATH=generated python demo.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "generated"), str(HERE)]

from google.rpc.error_details_pb2 import BadRequest  # noqa: E402
from routeguide import _protoforge_runtime as runtime  # noqa: E402
from routeguide.v1.route_guide_pb2 import Point, Rectangle, RouteNote  # noqa: E402
from routeguide.v1.route_guide_pf_client import RouteGuideClient  # noqa: E402
from routeguide_v1_route_guide_impl import RouteGuide  # noqa: E402


def degrees(point: Point) -> str:
    return f"({point.latitude / 1e7:.4f}, {point.longitude / 1e7:.4f})"


def notes() -> Iterator[RouteNote]:
    here = Point(latitude=410000000, longitude=-745000000)
    there = Point(latitude=420000000, longitude=-740000000)
    for location, text in ((here, "first"), (there, "second"), (here, "third")):
        yield RouteNote(location=location, message=text)


def run(client: RouteGuideClient) -> None:
    feature = client.get_feature(Point(latitude=409146138, longitude=-746188906))
    print(f"GetFeature    (unary)          -> {feature.name or '(no feature there)'}")
    feature = client.get_feature(Point(latitude=407838351, longitude=-746143763))
    print(f"GetFeature    (unary)          -> {feature.name}")

    area = Rectangle(
        lo=Point(latitude=400000000, longitude=-750000000),
        hi=Point(latitude=410000000, longitude=-740000000),
    )
    found = list(client.list_features(area))
    print(f"ListFeatures  (server stream)  -> {len(found)} features in the rectangle:")
    for feature in found:
        print(f"    {feature.name} at {degrees(feature.location)}")

    route = [feature.location for feature in found] + [
        Point(latitude=409146138, longitude=-746188906)
    ]
    summary = client.record_route(route)
    print(
        f"RecordRoute   (client stream)  -> {summary.point_count} points, "
        f"{summary.feature_count} features, {summary.distance / 1000:.1f} km"
    )

    replies = [f"{n.message} at {degrees(n.location)}" for n in client.route_chat(notes())]
    print(f"RouteChat     (bidi stream)    -> earlier notes received: {replies}")

    try:
        next(client.list_features(Rectangle()))
    except runtime.InvalidArgument as error:
        print(f"errors are typed exceptions    -> {type(error).__name__}: {error.message}")
        bad_request = error.detail(BadRequest)
        fields = [v.field for v in bad_request.field_violations] if bad_request else []
        print(f"    with typed details: BadRequest fields {fields}")


def main() -> None:
    server = runtime.start([RouteGuide()], "127.0.0.1:0")
    print(f"server started on 127.0.0.1:{server.port}")
    try:
        with RouteGuideClient.connect(f"127.0.0.1:{server.port}") as client:
            run(client)
    finally:
        server.shutdown(grace=1)
    print("server stopped")


if __name__ == "__main__":
    main()
