"""The generated servers under load, against grpcio's plain server measured in the same run.

    python benchmarks/load.py                      # print the figures
    python benchmarks/load.py --write docs/server.md   # and replace the table in the docs

The route-guide fixture contract is generated into a temporary project and served, one server
process at a time on 127.0.0.1 (a free port), by tests/_load_server.py:

- `generated sync`: the runtime's `serve` with its defaults (128 workers, as many concurrent
  calls, the shutdown gate);
- `generated asyncio`: `serve_async` with its defaults;
- `plain grpcio`: the pb2_grpc servicer on `grpc.server(ThreadPoolExecutor(10))`, gRPC's usual
  example, stopped with `server.stop(grace)` on SIGTERM; and the same with 128 threads.

Clients run in this process (the generated sync client on threads; the asyncio client for the
asyncio server). Scenarios:

- unary: `--calls` GetFeature calls from 16 concurrent callers: calls/s, p50 and p99 latency;
- unary beside streams: a quarter as many while 20 two-second server streams run;
- bidi: 100 concurrent RouteChat streams of 20 messages each: messages/s;
- starvation: 100 concurrent 2-second streams with init's 10 s default deadline: how many fail;
- SIGTERM under load: 16 callers and 10 slow (1.5 s) calls in flight, then SIGTERM (grace
  10 s): the status codes seen and the time to exit, with callers that stop at their first
  failure (as a client behind a load balancer goes elsewhere) and callers that keep calling.

Figures depend on the machine (and on what else runs on it); ratios against the plain server
measured in the same run are what carry over.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

PACKAGE = "rg_bench"
CALLERS = 16
SLOW = 999
STREAMS_HEAD_START = 0.3  # seconds the 20 two-second streams run before the unary calls start
BEGIN, END = "<!-- load.py: begin -->", "<!-- load.py: end -->"


@dataclass
class Rate:
    count: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@contextmanager
def server_process(
    out: Path, flavour: str, *options: str
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    env = {**os.environ, "PYTHONPATH": str(out), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, str(TESTS / "_load_server.py"), PACKAGE, flavour, "127.0.0.1:0", *options],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.search(r" on 127\.0\.0\.1:(\d+)$", line.strip())
    if not match:
        process.kill()
        raise SystemExit(f"the server did not start: {line}{process.stderr.read()}")
    try:
        yield process, int(match[1])
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def modules() -> tuple[Any, Any, Any, Any]:
    import importlib

    geo = importlib.import_module(f"{PACKAGE}.routeguide.v1.geo_pb2")
    pb2 = importlib.import_module(f"{PACKAGE}.routeguide.v1.route_guide_pb2")
    client = importlib.import_module(f"{PACKAGE}.routeguide.v1.route_guide_pf_client")
    runtime = importlib.import_module(f"{PACKAGE}._protoforge_runtime")
    return geo, pb2, client, runtime


# --- sync clients -------------------------------------------------------------------------------


def sync_unary(port: int, calls: int, before: Callable[[], None] = lambda: None) -> Rate:
    """`calls` calls from CALLERS threads, timed after a first call (the connection) and
    `before()`."""
    geo, _, client_module, _ = modules()
    latencies: list[float] = []
    numbers = iter(range(calls))
    lock = threading.Lock()
    with client_module.RouteGuideClient.connect(f"127.0.0.1:{port}", timeout=30) as client:
        client.get_feature(geo.Point())  # connect first
        before()

        def caller() -> None:
            mine: list[float] = []
            while True:
                with lock:
                    latitude = next(numbers, None)
                if latitude is None:
                    break
                began = time.perf_counter()
                client.get_feature(geo.Point(latitude=latitude))
                mine.append(time.perf_counter() - began)
            with lock:
                latencies.extend(mine)

        began = time.perf_counter()
        threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return Rate(calls, time.perf_counter() - began, latencies)


def sync_streams(port: int, count: int, items: int, gap_ms: int, timeout: float) -> Counter[str]:
    geo, _, client_module, runtime = modules()
    rectangle = geo.Rectangle(
        lo=geo.Point(latitude=0), hi=geo.Point(latitude=items, longitude=gap_ms)
    )
    with client_module.RouteGuideClient.connect(f"127.0.0.1:{port}", timeout=timeout) as client:

        def one(_: int) -> str:
            try:
                return "OK" if len(list(client.list_features(rectangle))) == items else "SHORT"
            except runtime.GrpcError as error:
                return str(error.code.name)

        with futures.ThreadPoolExecutor(count) as pool:
            return Counter(pool.map(one, range(count)))


def sync_unary_beside_streams(port: int, calls: int) -> Rate:
    result: list[Counter[str]] = []
    streams = threading.Thread(target=lambda: result.append(sync_streams(port, 20, 20, 100, 30)))

    def start_streams() -> None:
        streams.start()
        time.sleep(STREAMS_HEAD_START)

    rate = sync_unary(port, calls, before=start_streams)
    streams.join()
    assert result and set(result[0]) == {"OK"}, result
    return rate


def sync_bidi(port: int, streams: int, messages: int) -> Rate:
    _, pb2, client_module, _ = modules()
    latencies: list[float] = []
    with client_module.RouteGuideClient.connect(f"127.0.0.1:{port}", timeout=60) as client:

        def one(stream: int) -> None:
            began = time.perf_counter()
            notes = (pb2.RouteNote(message=f"{stream}-{k}") for k in range(messages))
            assert len(list(client.route_chat(notes))) == messages
            latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        with futures.ThreadPoolExecutor(streams) as pool:
            list(pool.map(one, range(streams)))
        return Rate(streams * messages, time.perf_counter() - began, latencies)


def sigterm_under_load(
    process: subprocess.Popen[str], port: int, persistent: bool
) -> tuple[Counter[str], float]:
    """SIGTERM with CALLERS callers and 10 slow calls in flight. Callers stop at their first
    failure, or with `persistent` keep calling until the server has exited."""
    geo, _, client_module, runtime = modules()
    codes: Counter[str] = Counter()
    lock = threading.Lock()
    exited = threading.Event()
    client = client_module.RouteGuideClient.connect(f"127.0.0.1:{port}", timeout=30)

    def record(code: str) -> None:
        with lock:
            codes[code] += 1

    def caller() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not exited.is_set():
            try:
                client.get_feature(geo.Point(latitude=1))
            except runtime.GrpcError as error:
                record(str(error.code.name))
                if not persistent:
                    return
                continue
            record("OK")

    def slow() -> None:
        try:
            client.get_feature(geo.Point(latitude=SLOW, longitude=1500))
            record("OK (in flight at SIGTERM)")
        except runtime.GrpcError as error:
            record(f"{error.code.name} (in flight at SIGTERM)")

    threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
    threads += [threading.Thread(target=slow) for _ in range(10)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    began = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    took = time.perf_counter() - began
    exited.set()
    for thread in threads:
        thread.join(60)
    client.close()
    return codes, took


def best_of(runs: int, measure_once: Callable[[], Rate]) -> Rate:
    """The fastest of `runs` runs: the machine is shared, and noise only ever slows a run."""
    return max((measure_once() for _ in range(runs)), key=lambda rate: rate.per_second)


# --- asyncio clients ----------------------------------------------------------------------------


def async_unary(port: int, calls: int, beside_streams: bool = False) -> Rate:
    geo, _, client_module, _ = modules()

    async def main() -> Rate:
        latencies: list[float] = []
        numbers = iter(range(calls))
        rectangle = geo.Rectangle(
            lo=geo.Point(latitude=0), hi=geo.Point(latitude=20, longitude=100)
        )
        async with client_module.AsyncRouteGuideClient.connect(
            f"127.0.0.1:{port}", timeout=30
        ) as client:
            await client.get_feature(geo.Point())

            async def caller() -> None:
                for latitude in numbers:
                    began = time.perf_counter()
                    await client.get_feature(geo.Point(latitude=latitude))
                    latencies.append(time.perf_counter() - began)

            async def stream() -> int:
                return len([f async for f in client.list_features(rectangle)])

            streams = [asyncio.ensure_future(stream()) for _ in range(20 if beside_streams else 0)]
            if streams:
                await asyncio.sleep(STREAMS_HEAD_START)
            began = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(CALLERS)))
            rate = Rate(calls, time.perf_counter() - began, latencies)
            assert all(n == 20 for n in await asyncio.gather(*streams))
            return rate

    return asyncio.run(main())


def async_bidi(port: int, streams: int, messages: int) -> Rate:
    _, pb2, client_module, _ = modules()

    async def main() -> Rate:
        latencies: list[float] = []
        async with client_module.AsyncRouteGuideClient.connect(
            f"127.0.0.1:{port}", timeout=60
        ) as client:

            async def one(stream: int) -> None:
                began = time.perf_counter()
                notes = [pb2.RouteNote(message=f"{stream}-{k}") for k in range(messages)]
                assert len([n async for n in client.route_chat(notes)]) == messages
                latencies.append(time.perf_counter() - began)

            began = time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(streams)))
            return Rate(streams * messages, time.perf_counter() - began, latencies)

    return asyncio.run(main())


# --- the report ---------------------------------------------------------------------------------


def throughput(
    port: int, asyncio_client: bool, calls: int, runs: int, baseline: dict[str, float]
) -> dict[str, str]:
    row: dict[str, str] = {}
    unary = best_of(
        runs, lambda: async_unary(port, calls) if asyncio_client else sync_unary(port, calls)
    )
    baseline.setdefault("unary", unary.per_second)
    ratio = unary.per_second / baseline["unary"]
    row["unary: calls/s (vs plain)"] = f"{unary.per_second:,.0f} ({ratio:.2f}x)"
    row["unary: p50 / p99 ms"] = f"{unary.quantile(0.5):.1f} / {unary.quantile(0.99):.1f}"
    beside = best_of(
        runs,
        lambda: (
            async_unary(port, calls // 4, beside_streams=True)
            if asyncio_client
            else sync_unary_beside_streams(port, calls // 4)
        ),
    )
    row["unary beside 20 two-second streams: calls/s"] = f"{beside.per_second:,.0f}"
    slowest = max(beside.latencies) * 1000
    row["unary beside streams: p50 / p99 / max ms"] = (
        f"{beside.quantile(0.5):.1f} / {beside.quantile(0.99):.1f} / {slowest:,.0f}"
    )
    bidi = best_of(
        runs, lambda: async_bidi(port, 100, 20) if asyncio_client else sync_bidi(port, 100, 20)
    )
    row["100 concurrent bidi streams: messages/s"] = f"{bidi.per_second:,.0f}"
    if asyncio_client:
        row["100 two-second streams, 10 s deadline: failed"] = "(sync servers only)"
    else:
        starved = sync_streams(port, 100, 10, 200, 10.0)
        failed = sum(n for code, n in starved.items() if code != "OK")
        row["100 two-second streams, 10 s deadline: failed"] = f"{failed} of 100"
    return row


def measure(out: Path, calls: int, runs: int, sigterm_runs: int) -> list[str]:
    servers: list[tuple[str, str, tuple[str, ...]]] = [
        ("plain grpcio (10 workers)", "plain", ("--max-workers", "10")),
        ("plain grpcio (128 workers)", "plain", ("--max-workers", "128")),
        ("generated sync", "sync", ()),
        ("generated asyncio", "asyncio", ()),
    ]
    rows: dict[str, dict[str, str]] = {}
    baseline: dict[str, float] = {}
    for name, flavour, options in servers:
        row: dict[str, str] = {}
        with server_process(out, flavour, *options) as (_, port):
            row.update(throughput(port, flavour == "asyncio", calls, runs, baseline))
        print(f"{name}: {row}", flush=True)
        for persistent in (False, True):
            codes: Counter[str] = Counter()
            slowest = 0.0
            for _ in range(sigterm_runs):
                with server_process(out, flavour, *options, "--grace", "10") as (process, port):
                    seen, took = sigterm_under_load(process, port, persistent)
                codes += seen
                slowest = max(slowest, took)
            label = "keep calling" if persistent else "stop at first failure"
            shown = ", ".join(f"{code} {n:,}" for code, n in sorted(codes.items()))
            row[f"SIGTERM x{sigterm_runs}, callers {label}: calls seen"] = shown
            row[f"SIGTERM x{sigterm_runs}, callers {label}: slowest exit s"] = f"{slowest:.1f}"
            print(f"{name}: SIGTERM ({label}) {shown}; slowest exit {slowest:.1f}s", flush=True)
        rows[name] = row
    names = list(rows)
    lines = [
        f"`python benchmarks/load.py --calls {calls} --runs {runs} --sigterm-runs {sigterm_runs}`"
        f" on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs (shared), Python "
        f"{platform.python_version()}, grpcio {grpc_version()}; client and server on one "
        "machine, throughput the best of the runs.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for metric in rows[names[0]]:
        lines.append(f"| {metric} | " + " | ".join(rows[n].get(metric, "") for n in names) + " |")
    return lines


def grpc_version() -> str:
    import grpc

    return str(grpc.__version__)


def write(path: Path, lines: list[str]) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + "\n".join(lines) + "\n" + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="unary calls per run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each throughput scenario")
    parser.add_argument("--sigterm-runs", type=int, default=5, help="runs of each SIGTERM scenario")
    parser.add_argument("--write", type=Path, help="replace the figures between the markers")
    args = parser.parse_args()
    from _services import generate_project, on_sys_path

    with tempfile.TemporaryDirectory() as tmp:
        generated = generate_project(Path(tmp), package=PACKAGE, client={"timeout": 30.0})
        with on_sys_path(generated.out):
            lines = measure(generated.out, args.calls, args.runs, args.sigterm_runs)
    print("\n".join(lines))
    if args.write:
        write(args.write, lines)


if __name__ == "__main__":
    main()
