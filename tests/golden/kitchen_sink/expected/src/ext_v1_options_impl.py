# Implementation of ext/v1/options.proto: created once by protoforge; yours.
"""Your implementation of the services in ext/v1/options.proto.

protoforge created this file once and never overwrites it. Run the server with
`python -m ext_v1_options_impl [ADDRESS]` (default [::]:50051),
with the generated package on PYTHONPATH.
"""

from __future__ import annotations

import sys

import grpc

from ext import _protoforge_runtime as runtime
from ext.v1 import options_pb2, options_pf_server


class CustomerService(options_pf_server.CustomerServiceServicer):
    def get_customer(
        self,
        request: options_pb2.Customer,
        context: grpc.ServicerContext,
    ) -> options_pb2.Customer:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().get_customer(request, context)


def main(argv: list[str]) -> None:
    address = argv[1] if len(argv) > 1 else runtime.DEFAULT_ADDRESS
    runtime.serve(
        [
            CustomerService(),
        ],
        address,
    )


if __name__ == "__main__":
    main(sys.argv)
