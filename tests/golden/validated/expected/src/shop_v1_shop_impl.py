# Implementation of shop/v1/shop.proto: created once by protoforge; yours.
"""Your implementation of the services in shop/v1/shop.proto.

Run the server with `python -m shop_v1_shop_impl [ADDRESS]`
(default [::]:50051), with the generated package on PYTHONPATH.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import grpc

import _protoforge_runtime as runtime
from shop.v1 import shop_pb2, shop_pf_server

# A call can end before its handler returns: the client cancels it or its deadline passes.
# A handler that works for long should notice and stop, to free its worker thread:
#   context.is_active()       False once the call has ended
#   context.time_remaining()  seconds left before the deadline (None without one)
#   context.add_callback(fn)  runs fn() when the call ends (e.g. to set a threading.Event)


class Shop(shop_pf_server.ShopServicer):
    def place_order(
        self,
        request: shop_pb2.PlaceOrderRequest,
        context: grpc.ServicerContext,
    ) -> shop_pb2.OrderReply:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().place_order(request, context)

    def watch_order(
        self,
        request: shop_pb2.PlaceOrderRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[shop_pb2.OrderReply]:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().watch_order(request, context)

    def upload_lines(
        self,
        request_iterator: Iterator[shop_pb2.Line],
        context: grpc.ServicerContext,
    ) -> shop_pb2.OrderReply:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().upload_lines(request_iterator, context)

    def exchange(
        self,
        request_iterator: Iterator[shop_pb2.Line],
        context: grpc.ServicerContext,
    ) -> Iterator[shop_pb2.Line]:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().exchange(request_iterator, context)

    def echo(
        self,
        request: shop_pb2.Ping,
        context: grpc.ServicerContext,
    ) -> shop_pb2.Ping:
        # TODO: implement; the base method ends the call with UNIMPLEMENTED.
        return super().echo(request, context)


def main(argv: list[str]) -> None:
    """Serve until SIGTERM or Ctrl-C. `--help` lists the options: address, TLS, reflection,
    limits, shutdown times, a web endpoint for browsers (protoforge's server guide says which
    suit production)."""
    args = runtime.parse_arguments(argv[1:])
    runtime.serve(
        [
            Shop(),
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
