# Implementation of legacy/v1/legacy.proto: created once by protoforge; yours.
"""Your implementation of the services in legacy/v1/legacy.proto.

Run the server with `python -m legacy_v1_legacy_impl [ADDRESS]`
(default [::]:50051), with the generated package on PYTHONPATH.
"""

from __future__ import annotations

import sys

import grpc

import _protoforge_runtime as runtime
from legacy.v1 import legacy_pb2, legacy_pf_server

# A call can end before its handler returns: the client cancels it or its deadline passes.
# A handler that works for long should notice and stop, to free its worker thread:
#   context.is_active()       False once the call has ended
#   context.time_remaining()  seconds left before the deadline (None without one)
#   context.add_callback(fn)  runs fn() when the call ends (e.g. to set a threading.Event)


class LegacyService(legacy_pf_server.LegacyServiceServicer):
    def get_account(
        self,
        request: legacy_pb2.Account,
        context: grpc.ServicerContext,
    ) -> legacy_pb2.Account:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().get_account(request, context)


def main(argv: list[str]) -> None:
    """Serve until SIGTERM or Ctrl-C. `--help` lists the options: address, TLS, reflection,
    limits, shutdown times, a web endpoint for browsers (protoforge's server guide says which
    suit production)."""
    args = runtime.parse_arguments(argv[1:])
    runtime.serve(
        [
            LegacyService(),
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
