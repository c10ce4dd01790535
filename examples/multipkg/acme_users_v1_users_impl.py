# Implementation of acme/users/v1/users.proto: created once by protoforge; yours.
"""The user directory: a few users in memory, listed in pages (`acme.common.v1` paging).

protoforge created this file once (as a scaffold) and never overwrites it. Run the server with
`PYTHONPATH=generated python -m acme_users_v1_users_impl [ADDRESS]` (default [::]:50051).
"""

from __future__ import annotations

import sys
from typing import TypeVar

import grpc
from acme_api import _protoforge_runtime as runtime
from acme_api.acme.common.v1 import paging_pb2
from acme_api.acme.users.v1 import users_pb2, users_pf_server
from google.protobuf.timestamp_pb2 import Timestamp

DEFAULT_PAGE_SIZE = 2
T = TypeVar("T")


def page_of(items: list[T], page: paging_pb2.PageRequest) -> tuple[list[T], paging_pb2.PageInfo]:
    """One page of `items`; the page token is the offset of the page's first item."""
    if page.page_size < 0 or (page.page_token and not page.page_token.isdigit()):
        raise runtime.InvalidArgument("page_size must be >= 0 and page_token a token we gave")
    start = int(page.page_token or 0)
    end = start + (page.page_size or DEFAULT_PAGE_SIZE)
    next_token = str(end) if end < len(items) else ""
    return items[start:end], paging_pb2.PageInfo(next_page_token=next_token, total_size=len(items))


def seed_users() -> list[users_pb2.User]:
    created = Timestamp(seconds=1_700_000_000)
    return [
        users_pb2.User(id=f"u-{n}", email=email, display_name=name, created_at=created)
        for n, (email, name) in enumerate(
            [
                ("ada@example.com", "Ada"),
                ("grace@example.com", "Grace"),
                ("alan@example.com", "Alan"),
            ],
            start=1,
        )
    ]


class UserService(users_pf_server.UserServiceServicer):
    def __init__(self, users: list[users_pb2.User] | None = None) -> None:
        self.users = seed_users() if users is None else users

    def get_user(
        self,
        request: users_pb2.GetUserRequest,
        context: grpc.ServicerContext,
    ) -> users_pb2.GetUserResponse:
        for user in self.users:
            if user.id == request.id:
                return users_pb2.GetUserResponse(user=user)
        raise runtime.NotFound(f"no user {request.id!r}")

    def list_users(
        self,
        request: users_pb2.ListUsersRequest,
        context: grpc.ServicerContext,
    ) -> users_pb2.ListUsersResponse:
        users, info = page_of(self.users, request.page)
        return users_pb2.ListUsersResponse(users=users, page_info=info)


def main(argv: list[str]) -> None:
    """Serve until SIGTERM or Ctrl-C; `--help` lists the options (address, TLS, reflection,
    limits, shutdown times)."""
    args = runtime.parse_arguments(argv[1:])
    runtime.serve(
        [UserService()],
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
