# Implementation of modern/v1/editions.proto: created once by protoforge; yours.
"""Your implementation of the services in modern/v1/editions.proto.

protoforge created this file once and never overwrites it. Run the server with
`python -m modern_v1_editions_impl [ADDRESS]` (default [::]:50051),
with the generated package on PYTHONPATH.
"""

from __future__ import annotations

import sys

import grpc

from modern import _protoforge_runtime as runtime
from modern.v1 import editions_pb2, editions_pf_server


class EventService(editions_pf_server.EventServiceServicer):
    def publish(
        self,
        request: editions_pb2.Event,
        context: grpc.ServicerContext,
    ) -> editions_pb2.Event:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().publish(request, context)


def main(argv: list[str]) -> None:
    address = argv[1] if len(argv) > 1 else runtime.DEFAULT_ADDRESS
    runtime.serve(
        [
            EventService(),
        ],
        address,
    )


if __name__ == "__main__":
    main(sys.argv)
