"""The route-guide example's own tests: the committed generated code is current, and the service
answers all four streaming kinds through the generated client."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.rpc.error_details_pb2 import BadRequest
from routeguide import _protoforge_runtime as runtime
from routeguide.v1.route_guide_pb2 import Point, Rectangle, RouteNote
from routeguide.v1.route_guide_pf_client import RouteGuideClient
from routeguide_v1_route_guide_impl import RouteGuide

HERE = Path(__file__).resolve().parent


def test_generated_code_is_current() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "protoforge", "gen", "--check"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def client() -> Iterator[RouteGuideClient]:
    server = runtime.start([RouteGuide()], "127.0.0.1:0")
    try:
        with RouteGuideClient.connect(f"127.0.0.1:{server.port}", timeout=10) as client:
            yield client
    finally:
        server.shutdown(grace=1)


def test_get_feature(client: RouteGuideClient) -> None:
    known = client.get_feature(Point(latitude=407838351, longitude=-746143763))
    assert known.name == "Patriots Path, Mendham, NJ 07945, USA"
    assert client.get_feature(Point(latitude=1, longitude=1)).name == ""


def test_list_features(client: RouteGuideClient) -> None:
    area = Rectangle(
        lo=Point(latitude=400000000, longitude=-750000000),
        hi=Point(latitude=410000000, longitude=-740000000),
    )
    names = [feature.name for feature in client.list_features(area)]
    assert names == [
        "Patriots Path, Mendham, NJ 07945, USA",
        "101 New Jersey 10, Whippany, NJ 07981, USA",
        "4001 Tremley Point Road, Linden, NJ 07036, USA",
    ]
    with pytest.raises(runtime.InvalidArgument, match="both corners") as caught:
        list(client.list_features(Rectangle(lo=Point())))
    bad_request = caught.value.detail(BadRequest)
    assert bad_request is not None
    assert [(v.field, v.reason) for v in bad_request.field_violations] == [("hi", "REQUIRED")]


def test_record_route(client: RouteGuideClient) -> None:
    route = [Point(latitude=407838351, longitude=-746143763), Point(latitude=0, longitude=0)]
    summary = client.record_route(route)
    assert (summary.point_count, summary.feature_count) == (2, 1)
    assert 8_000_000 < summary.distance < 9_000_000  # New Jersey to (0, 0): about 8 500 km


def test_route_chat(client: RouteGuideClient) -> None:
    here = Point(latitude=5, longitude=5)
    notes = [RouteNote(location=here, message=text) for text in ("a", "b", "c")]
    assert [note.message for note in client.route_chat(notes)] == ["a", "a", "b"]
