# Implementation of legacy/v1/legacy.proto: created once by protoforge; yours.
"""Your implementation of the services in legacy/v1/legacy.proto.

protoforge created this file once and never overwrites it. Run the server with
`python -m legacy_v1_legacy_impl [ADDRESS]` (default [::]:50051),
with the generated package on PYTHONPATH.
"""

from __future__ import annotations

import sys

import grpc

from legacy import _protoforge_runtime as runtime
from legacy.v1 import legacy_pb2, legacy_pf_server


class LegacyService(legacy_pf_server.LegacyServiceServicer):
    def get_account(
        self,
        request: legacy_pb2.Account,
        context: grpc.ServicerContext,
    ) -> legacy_pb2.Account:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().get_account(request, context)


def main(argv: list[str]) -> None:
    address = argv[1] if len(argv) > 1 else runtime.DEFAULT_ADDRESS
    runtime.serve(
        [
            LegacyService(),
        ],
        address,
    )


if __name__ == "__main__":
    main(sys.argv)
