# Implementation of acme/orders/v1/orders.proto: created once by protoforge; yours.
"""Orders in memory: place, list in pages, and watch a user's orders as they are placed.

protoforge created this file once (as a scaffold) and never overwrites it. Run the server with
`PYTHONPATH=generated python -m acme_orders_v1_orders_impl [ADDRESS]` (default [::]:50051).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import grpc
from acme_api import _protoforge_runtime as runtime
from acme_api.acme.orders.v1 import orders_pb2, orders_pf_server
from acme_users_v1_users_impl import page_of


class OrderService(orders_pf_server.OrderServiceServicer):
    def __init__(self) -> None:
        self.orders: list[orders_pb2.Order] = []
        self._placed = threading.Condition()

    def place_order(
        self,
        request: orders_pb2.PlaceOrderRequest,
        context: grpc.ServicerContext,
    ) -> orders_pb2.PlaceOrderResponse:
        if not request.user_id:
            raise runtime.InvalidArgument("user_id is required")
        if request.total.minor_units <= 0 or len(request.total.currency_code) != 3:
            raise runtime.InvalidArgument("total must be a positive amount in an ISO 4217 currency")
        with self._placed:
            order = orders_pb2.Order(
                id=f"o-{len(self.orders) + 1}", user_id=request.user_id, total=request.total
            )
            order.placed_at.GetCurrentTime()
            self.orders.append(order)
            self._placed.notify_all()
        return orders_pb2.PlaceOrderResponse(order=order)

    def list_orders(
        self,
        request: orders_pb2.ListOrdersRequest,
        context: grpc.ServicerContext,
    ) -> orders_pb2.ListOrdersResponse:
        with self._placed:
            mine = [order for order in self.orders if order.user_id == request.user_id]
        orders, info = page_of(mine, request.page)
        return orders_pb2.ListOrdersResponse(orders=orders, page_info=info)

    def watch_orders(
        self,
        request: orders_pb2.WatchOrdersRequest,
        context: grpc.ServicerContext,
    ) -> Iterator[orders_pb2.WatchOrdersResponse]:
        """The user's orders so far, then each new one, until the client cancels."""
        seen = 0

        def placed_since() -> bool:
            return len(self.orders) > seen

        while context.is_active():
            with self._placed:
                self._placed.wait_for(placed_since, timeout=0.2)
                new, seen = self.orders[seen:], len(self.orders)
            for order in new:
                if order.user_id == request.user_id:
                    yield orders_pb2.WatchOrdersResponse(order=order)


def main(argv: list[str]) -> None:
    """Serve until SIGTERM or Ctrl-C; `--help` lists the options (address, TLS, reflection,
    limits, shutdown times)."""
    args = runtime.parse_arguments(argv[1:])
    runtime.serve(
        [OrderService()],
        args.address,
        credentials=args.credentials,
        reflection_enabled=args.reflection,
        max_workers=args.max_workers,
        max_concurrent_rpcs=args.max_concurrent_rpcs,
        grace=args.grace,
        drain=args.drain,
    )


if __name__ == "__main__":
    main(sys.argv)
