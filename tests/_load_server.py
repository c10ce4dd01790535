"""Route-guide servicers (sync and asyncio) for the load tests and benchmarks/load.py, written the
way the scaffold recommends: a slow handler waits on the end of its call, so a cancelled or
expired call frees its thread at once.

- get_feature: echoes the point; latitude 999 waits `longitude` milliseconds first.
- list_features: one feature per latitude in [lo, hi), `hi.longitude` milliseconds apart.
- route_chat: echoes every note as it arrives.

Run as a script it serves them: `python _load_server.py PACKAGE sync|asyncio [server options]`
(the generated package on PYTHONPATH; the options are the scaffold's, `--help` lists them).
`plain` instead serves the same behaviour the way grpcio's examples do (the pb2_grpc servicer
on `grpc.server(ThreadPoolExecutor(max_workers))`, `server.stop(grace)` on SIGTERM): the
baseline benchmarks/load.py compares with.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

SLOW = 999


def servicers(package: str) -> tuple[Any, Any]:
    """The (sync, asyncio) servicer classes over the generated package `package`."""
    pb2 = importlib.import_module(f"{package}.routeguide.v1.route_guide_pb2")
    server = importlib.import_module(f"{package}.routeguide.v1.route_guide_pf_server")

    class RouteGuide(server.RouteGuideServicer):  # type: ignore[misc, name-defined]
        def get_feature(self, request: Any, context: Any) -> Any:
            if request.latitude == SLOW:
                ended = threading.Event()
                context.add_callback(ended.set)
                ended.wait(request.longitude / 1000)
            return pb2.Feature(name=f"f{request.latitude}", location=request)

        def list_features(self, request: Any, context: Any) -> Iterator[Any]:
            ended = threading.Event()
            context.add_callback(ended.set)
            for latitude in range(request.lo.latitude, request.hi.latitude):
                if ended.wait(request.hi.longitude / 1000):
                    return
                yield pb2.Feature(name=f"f{latitude}")

        def route_chat(self, request_iterator: Iterator[Any], context: Any) -> Iterator[Any]:
            for note in request_iterator:
                yield pb2.RouteNote(message=note.message)

    class AsyncRouteGuide(server.AsyncRouteGuideServicer):  # type: ignore[misc, name-defined]
        async def get_feature(self, request: Any, context: Any) -> Any:
            if request.latitude == SLOW:
                await asyncio.sleep(request.longitude / 1000)  # cancelled with its call
            return pb2.Feature(name=f"f{request.latitude}", location=request)

        async def list_features(self, request: Any, context: Any) -> AsyncIterator[Any]:
            for latitude in range(request.lo.latitude, request.hi.latitude):
                await asyncio.sleep(request.hi.longitude / 1000)
                yield pb2.Feature(name=f"f{latitude}")

        async def route_chat(
            self, request_iterator: AsyncIterator[Any], context: Any
        ) -> AsyncIterator[Any]:
            async for note in request_iterator:
                yield pb2.RouteNote(message=note.message)

    return RouteGuide, AsyncRouteGuide


def serve_plain(package: str, address: str, max_workers: int, grace: float) -> None:
    from concurrent import futures

    import grpc

    pb2_grpc = importlib.import_module(f"{package}.routeguide.v1.route_guide_pb2_grpc")
    sync_class, _ = servicers(package)
    behaviour = sync_class()

    class Plain(pb2_grpc.RouteGuideServicer):  # type: ignore[misc, name-defined]
        def GetFeature(self, request: Any, context: Any) -> Any:
            return behaviour.get_feature(request, context)

        def ListFeatures(self, request: Any, context: Any) -> Iterator[Any]:
            return behaviour.list_features(request, context)  # type: ignore[no-any-return]

        def RouteChat(self, request_iterator: Any, context: Any) -> Iterator[Any]:
            return behaviour.route_chat(request_iterator, context)  # type: ignore[no-any-return]

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers))
    pb2_grpc.add_RouteGuideServicer_to_server(Plain(), server)
    port = server.add_insecure_port(address)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"serving routeguide.v1.RouteGuide on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    stop.wait()
    server.stop(grace).wait()


def main(argv: list[str]) -> None:
    package, flavour = argv[1], argv[2]
    runtime = importlib.import_module(f"{package}._protoforge_runtime")
    args = runtime.parse_arguments(argv[3:])
    sync_class, async_class = servicers(package)
    if flavour == "plain":
        serve_plain(package, args.address, args.max_workers, args.grace)
    elif flavour == "asyncio":
        asyncio.run(
            runtime.serve_async([async_class()], args.address, grace=args.grace, drain=args.drain)
        )
    else:
        runtime.serve(
            [sync_class()],
            args.address,
            grace=args.grace,
            drain=args.drain,
            max_workers=args.max_workers,
            max_concurrent_rpcs=args.max_concurrent_rpcs,
        )


if __name__ == "__main__":
    main(sys.argv)
