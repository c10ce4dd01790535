# Implementation of acme/orders/v1/orders.proto: created once by protoforge; yours.
"""Your implementation of the services in acme/orders/v1/orders.proto.

Run the server with `python -m acme_orders_v1_orders_impl [ADDRESS]`
(default [::]:50051), with the generated package on PYTHONPATH.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import grpc
from google.protobuf import empty_pb2

from acme_api import _protoforge_runtime as runtime
from acme_api.acme.orders.v1 import orders_pb2, orders_pf_server

# A call can end before its handler returns: the client cancels it or its deadline passes.
# A handler that works for long should notice and stop, to free its worker thread:
#   context.is_active()       False once the call has ended
#   context.time_remaining()  seconds left before the deadline (None without one)
#   context.add_callback(fn)  runs fn() when the call ends (e.g. to set a threading.Event)


class OrderService(orders_pf_server.OrderServiceServicer):
    """Places and tracks orders."""

    def get_order(
        self,
        request: orders_pb2.GetOrderRequest,
        context: grpc.ServicerContext,
    ) -> orders_pb2.Order:
        """Fetch one order by id. The comment is wrapped by hand, raggedly, as comments are; the
        docstring refills it.

        Errors:
        - NOT_FOUND when no order has that id
        """
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().get_order(request, context)

    def list_orders(
        self,
        request: orders_pb2.ListOrdersRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[orders_pb2.Order]:
        """Every order of a customer, as they are found."""
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().list_orders(request, context)

    def import_orders(
        self,
        request_iterator: Iterator[orders_pb2.Order],
        context: grpc.ServicerContext,
    ) -> orders_pb2.ImportSummary:
        """Upload many orders; returns how many were stored."""
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().import_orders(request_iterator, context)

    def track(
        self,
        request_iterator: Iterator[orders_pb2.TrackRequest],
        context: grpc.ServicerContext,
    ) -> Iterator[orders_pb2.OrderEvent]:
        """Live updates for the orders the client subscribes to."""
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().track(request_iterator, context)

    def lookup(
        self,
        request: orders_pb2.GetOrderRequest,
        context: grpc.ServicerContext,
    ) -> orders_pb2.Order:
        """Superseded by GetOrder."""
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().lookup(request, context)

    def ping(
        self,
        request: empty_pb2.Empty,
        context: grpc.ServicerContext,
    ) -> empty_pb2.Empty:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().ping(request, context)


def main(argv: list[str]) -> None:
    """Serve until SIGTERM or Ctrl-C. `--help` lists the options: address, TLS, reflection,
    limits, shutdown times, a web endpoint for browsers (protoforge's server guide says which
    suit production)."""
    args = runtime.parse_arguments(argv[1:])
    runtime.serve(
        [
            OrderService(),
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
