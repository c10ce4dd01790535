# Implementation of modern/v1/editions.proto: created once by protoforge; yours.
"""Your implementation of the services in modern/v1/editions.proto.

Run the server with `python -m modern_v1_editions_impl [ADDRESS]`
(default [::]:50051), with the generated package on PYTHONPATH.
"""

from __future__ import annotations

import sys

import grpc

import _protoforge_runtime as runtime
from modern.v1 import editions_pb2, editions_pf_server

# A call can end before its handler returns: the client cancels it or its deadline passes.
# A handler that works for long should notice and stop, to free its worker thread:
#   context.is_active()       False once the call has ended
#   context.time_remaining()  seconds left before the deadline (None without one)
#   context.add_callback(fn)  runs fn() when the call ends (e.g. to set a threading.Event)


class EventService(editions_pf_server.EventServiceServicer):
    def publish(
        self,
        request: editions_pb2.Event,
        context: grpc.ServicerContext,
    ) -> editions_pb2.Event:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().publish(request, context)


def main(argv: list[str]) -> None:
    """Serve until SIGTERM or Ctrl-C. `--help` lists the options: address, TLS, reflection,
    limits, shutdown times, a web endpoint for browsers (protoforge's server guide says which
    suit production)."""
    args = runtime.parse_arguments(argv[1:])
    runtime.serve(
        [
            EventService(),
        ],
        args.address,
        credentials=args.credentials,
        reflection_enabled=args.reflection,
        max_workers=args.max_workers,
        max_concurrent_rpcs=args.max_concurrent_rpcs,
        grace=args.grace,
        drain=args.drain,
        web_address=args.web_address,
        cors_origins=args.cors_origins,
    )


if __name__ == "__main__":
    main(sys.argv)
