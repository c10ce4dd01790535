"""Bounded load on the generated sync and asyncio servers over loopback: thousands of unary
calls from 16 threads or tasks, a hundred concurrent bidi streams, long streams alongside unary
calls, and SIGTERM (then a second signal) under load. Every call must succeed except the ones
a test expects to fail, and those must fail with the code a client can act on.

Sizes scale with PROTOFORGE_LOAD_SCALE (default 1, sized for CI; try 10 by hand). Nothing here
asserts a timing: `benchmarks/load.py` measures calls/s and latencies and writes docs/server.md.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import pytest
from _load_server import SLOW, servicers
from _services import RETRY, Generated, generate_project, on_sys_path

pytestmark = pytest.mark.slow  # scheduled first (conftest), with its module fixtures

PACKAGE = "rg_load"
SCALE = float(os.environ.get("PROTOFORGE_LOAD_SCALE", "1"))
LOAD_SERVER = Path(__file__).parents[1] / "_load_server.py"


def scaled(count: int) -> int:
    return max(1, round(count * SCALE))


# per server flavour, 10,000 in all at scale 1 (20,000 until CI time mattered: each call costs
# about a millisecond of CPU, and the calls at the end meet the same server as those before)
UNARY_CALLS = scaled(5_000)
CLIENT_THREADS = 16
BIDI_STREAMS = 100  # the "hundred concurrent streams" stay a hundred at every scale
NOTES_PER_STREAM = scaled(20)
LONG_STREAMS = 20
LONG_STREAM_ITEMS = 10  # 100 ms apart: each long stream lasts a second
UNARY_BESIDE_STREAMS = scaled(2_000)


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    project = tmp_path_factory.mktemp("load")
    generated = generate_project(project, package=PACKAGE, client={"timeout": 30.0, "retry": RETRY})
    with on_sys_path(generated.out):
        yield generated


def failures(results: list[Any]) -> list[Any]:
    return [result for result in results if result is not True]


# --- the sync server, in process ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sync_client(gen: Generated) -> Iterator[Any]:
    sync_class, _ = servicers(PACKAGE)
    running = gen.runtime.start([sync_class()], "127.0.0.1:0")
    try:
        with gen.client.RouteGuideClient.connect(f"127.0.0.1:{running.port}") as client:
            yield client
    finally:
        running.server.stop(None).wait()


def unary_check(gen: Generated, client: Any, latitude: int) -> Any:
    try:
        feature = client.get_feature(gen.geo.Point(latitude=latitude))
    except gen.runtime.GrpcError as error:
        return (latitude, error.code.name)
    return feature.name == f"f{latitude}" or (latitude, feature.name)


def test_sync_thousands_of_unary_calls(gen: Generated, sync_client: Any) -> None:
    with futures.ThreadPoolExecutor(CLIENT_THREADS) as pool:
        results = list(pool.map(lambda n: unary_check(gen, sync_client, n), range(UNARY_CALLS)))
    assert len(results) == UNARY_CALLS
    assert failures(results) == []


def chat_check(gen: Generated, client: Any, stream: int) -> Any:
    sent = [f"{stream}-{k}" for k in range(NOTES_PER_STREAM)]
    try:
        notes = (gen.pb2.RouteNote(message=message) for message in sent)
        received = [note.message for note in client.route_chat(notes)]
    except gen.runtime.GrpcError as error:
        return (stream, error.code.name)
    return received == sent or (stream, received[:3])


def test_sync_a_hundred_concurrent_bidi_streams(gen: Generated, sync_client: Any) -> None:
    with futures.ThreadPoolExecutor(BIDI_STREAMS) as pool:
        results = list(pool.map(lambda n: chat_check(gen, sync_client, n), range(BIDI_STREAMS)))
    assert failures(results) == []


def long_stream_check(gen: Generated, client: Any, _: int) -> Any:
    geo = gen.geo
    rectangle = geo.Rectangle(
        lo=geo.Point(latitude=0), hi=geo.Point(latitude=LONG_STREAM_ITEMS, longitude=100)
    )
    try:
        names = [feature.name for feature in client.list_features(rectangle)]
    except gen.runtime.GrpcError as error:
        return error.code.name
    return len(names) == LONG_STREAM_ITEMS or names


def test_sync_long_streams_do_not_hold_up_unary_calls(gen: Generated, sync_client: Any) -> None:
    with futures.ThreadPoolExecutor(LONG_STREAMS) as streams_pool:
        streams = [
            streams_pool.submit(long_stream_check, gen, sync_client, n) for n in range(LONG_STREAMS)
        ]
        with futures.ThreadPoolExecutor(CLIENT_THREADS) as pool:
            unary = list(
                pool.map(lambda n: unary_check(gen, sync_client, n), range(UNARY_BESIDE_STREAMS))
            )
        long = [stream.result(30) for stream in streams]
    assert failures(unary) == []
    assert failures(long) == []


# --- the asyncio server, in process ------------------------------------------------------------


async def with_async_server(gen: Generated, body: Any) -> Any:
    _, async_class = servicers(PACKAGE)
    running = await gen.runtime.start_async([async_class()], "127.0.0.1:0")
    try:
        async with gen.client.AsyncRouteGuideClient.connect(f"127.0.0.1:{running.port}") as client:
            return await body(client)
    finally:
        await running.server.stop(None)


async def async_unary_check(gen: Generated, client: Any, latitude: int) -> Any:
    try:
        feature = await client.get_feature(gen.geo.Point(latitude=latitude))
    except gen.runtime.GrpcError as error:
        return (latitude, error.code.name)
    return feature.name == f"f{latitude}" or (latitude, feature.name)


async def async_unary_load(gen: Generated, client: Any, count: int) -> list[Any]:
    """`count` calls from CLIENT_THREADS concurrent callers."""
    results: list[Any] = []
    numbers = iter(range(count))

    async def caller() -> None:
        for latitude in numbers:
            results.append(await async_unary_check(gen, client, latitude))

    await asyncio.gather(*(caller() for _ in range(CLIENT_THREADS)))
    return results


def test_asyncio_thousands_of_unary_calls(gen: Generated) -> None:
    async def body(client: Any) -> list[Any]:
        return await async_unary_load(gen, client, UNARY_CALLS)

    results = asyncio.run(with_async_server(gen, body))
    assert len(results) == UNARY_CALLS
    assert failures(results) == []


def test_asyncio_a_hundred_concurrent_bidi_streams(gen: Generated) -> None:
    async def one(client: Any, stream: int) -> Any:
        sent = [f"{stream}-{k}" for k in range(NOTES_PER_STREAM)]

        async def notes() -> AsyncIterator[Any]:
            for message in sent:
                yield gen.pb2.RouteNote(message=message)

        try:
            received = [n.message async for n in client.route_chat(notes())]
        except gen.runtime.GrpcError as error:
            return (stream, error.code.name)
        return received == sent or (stream, received[:3])

    async def body(client: Any) -> list[Any]:
        return list(await asyncio.gather(*(one(client, n) for n in range(BIDI_STREAMS))))

    assert failures(asyncio.run(with_async_server(gen, body))) == []


def test_asyncio_long_streams_do_not_hold_up_unary_calls(gen: Generated) -> None:
    geo = gen.geo
    rectangle = geo.Rectangle(
        lo=geo.Point(latitude=0), hi=geo.Point(latitude=LONG_STREAM_ITEMS, longitude=100)
    )

    async def stream(client: Any) -> Any:
        try:
            names = [feature.name async for feature in client.list_features(rectangle)]
        except gen.runtime.GrpcError as error:
            return error.code.name
        return len(names) == LONG_STREAM_ITEMS or names

    async def body(client: Any) -> tuple[list[Any], list[Any]]:
        streams = [asyncio.ensure_future(stream(client)) for _ in range(LONG_STREAMS)]
        unary = await async_unary_load(gen, client, UNARY_BESIDE_STREAMS)
        return unary, list(await asyncio.gather(*streams))

    unary, long = asyncio.run(with_async_server(gen, body))
    assert failures(unary) == []
    assert failures(long) == []


# --- SIGTERM under load, on a server process ------------------------------------------------------


def start_server(gen: Generated, flavour: str, *options: str) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONPATH": str(gen.out), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, str(LOAD_SERVER), PACKAGE, flavour, "127.0.0.1:0", *options],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.search(r" on 127\.0\.0\.1:(\d+)$", line.strip())
    if not match:
        process.kill()
        raise AssertionError(line + process.stderr.read())
    return process, int(match[1])


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.parametrize("flavour", ["sync", "asyncio"])
def test_sigterm_under_load_fails_no_accepted_call(gen: Generated, flavour: str) -> None:
    """SIGTERM while CLIENT_THREADS callers keep calling (until the server has exited) and ten
    slow calls are in flight: the slow calls complete; every other call either succeeds or is
    refused with UNAVAILABLE, which the generated retry policy retries. None sees CANCELLED,
    which gRPC gives calls reaching a server that began to stop (grpc/grpc#41785)."""
    process, port = start_server(gen, flavour, "--grace", "10")
    client = gen.client.RouteGuideClient.connect(f"127.0.0.1:{port}")
    slow_results: list[Any] = []
    codes: Counter[str] = Counter()
    exited = threading.Event()
    lock = threading.Lock()

    def slow_call() -> None:
        try:
            feature = client.get_feature(gen.geo.Point(latitude=SLOW, longitude=1500))
            outcome = feature.name
        except gen.runtime.GrpcError as error:
            outcome = error.code.name
        with lock:
            slow_results.append(outcome)

    def caller(first: int) -> None:
        deadline = time.monotonic() + 60
        latitude = first
        while not exited.is_set() and time.monotonic() < deadline:
            outcome = unary_check(gen, client, latitude)
            with lock:
                codes["OK" if outcome is True else outcome[1]] += 1
            latitude += CLIENT_THREADS

    try:
        callers = [threading.Thread(target=caller, args=(n,)) for n in range(CLIENT_THREADS)]
        slow = [threading.Thread(target=slow_call) for _ in range(10)]
        for thread in [*callers, *slow]:
            thread.start()
        time.sleep(0.5)  # load running, slow calls in flight
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        exited.set()
        for thread in [*callers, *slow]:
            thread.join(30)
        assert process.stderr is not None
        stderr = process.stderr.read()
    finally:
        exited.set()
        client.close()
        stop(process)
    assert slow_results == ["f999"] * 10
    assert set(codes) == {"OK", "UNAVAILABLE"}, codes
    assert "shutting down" in stderr
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("flavour", ["sync", "asyncio"])
def test_a_second_signal_stops_at_once_without_a_traceback(gen: Generated, flavour: str) -> None:
    process, port = start_server(gen, flavour, "--grace", "30")
    outcome: list[str] = []

    def slow_call() -> None:
        with gen.client.RouteGuideClient.connect(f"127.0.0.1:{port}") as client:
            try:
                client.get_feature(gen.geo.Point(latitude=SLOW, longitude=20_000))
                outcome.append("OK")
            except gen.runtime.GrpcError as error:
                outcome.append(error.code.name)

    try:
        call = threading.Thread(target=slow_call)
        call.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        began = time.monotonic()
        assert process.wait(timeout=10) == 0
        waited = time.monotonic() - began
        call.join(10)
        assert process.stderr is not None
        stderr = process.stderr.read()
    finally:
        stop(process)
    assert waited < 5  # not the 30 s grace, nor the 20 s call
    assert outcome and outcome[0] != "OK"
    assert "stopped; 1 call in flight was cancelled" in stderr
    assert "Traceback" not in stderr, stderr
