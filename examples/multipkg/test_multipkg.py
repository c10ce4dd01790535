"""The multi-package example's own tests: the committed generated code is current; users and
orders share `acme.common.v1` types across packages; and the contract's evolution since the
v1.2.0 baseline is caught by `check-breaking` (a removed field) and classified by `diff`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from acme_api import _protoforge_runtime as runtime
from acme_api.acme.common.v1.money_pb2 import Money
from acme_api.acme.common.v1.paging_pb2 import PageRequest
from acme_api.acme.orders.v1 import orders_pb2
from acme_api.acme.orders.v1.orders_pf_client import OrderServiceClient
from acme_api.acme.users.v1 import users_pb2
from acme_api.acme.users.v1.users_pf_client import UserServiceClient
from acme_orders_v1_orders_impl import OrderService
from acme_users_v1_users_impl import UserService

HERE = Path(__file__).resolve().parent


def protoforge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "protoforge", *args],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_generated_code_is_current() -> None:
    done = protoforge("gen", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_breaking_against_the_baseline_finds_the_removed_field() -> None:
    done = protoforge("check-breaking", "--against", "baseline/v1.2.0")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FIELD_NO_DELETE" in done.stdout
    assert 'with name "nickname" on message "User" was deleted' in done.stdout
    assert "1 breaking change against directory baseline/v1.2.0" in done.stdout


def test_diff_classifies_the_evolution_and_recommends_a_version() -> None:
    done = protoforge("diff", "--against", "baseline/v1.2.0", "--semver", "1.2.0")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [" ".join(line.split()) for line in done.stdout.splitlines()]
    assert any(line.startswith("major removed field acme.users.v1.User.nickname") for line in lines)
    assert any(
        line.startswith("minor added field acme.users.v1.User.display_name") for line in lines
    )
    assert "recommended version: 1.2.0 -> 2.0.0 (major)" in lines


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    running = runtime.start([UserService(), OrderService()], "127.0.0.1:0")
    try:
        yield running.port
    finally:
        running.shutdown(grace=1)


def test_users_are_listed_in_pages_of_a_shared_type(server: int) -> None:
    with UserServiceClient.connect(f"127.0.0.1:{server}", timeout=10) as users:
        first = users.list_users(users_pb2.ListUsersRequest(page=PageRequest(page_size=2)))
        assert [u.display_name for u in first.users] == ["Ada", "Grace"]
        token = first.page_info.next_page_token
        rest = users.list_users(users_pb2.ListUsersRequest(page=PageRequest(page_token=token)))
        assert [u.display_name for u in rest.users] == ["Alan"]
        assert (rest.page_info.next_page_token, rest.page_info.total_size) == ("", 3)
        with pytest.raises(runtime.NotFound):
            users.get_user(users_pb2.GetUserRequest(id="nobody"))


def test_orders_carry_money_and_stream_to_watchers(server: int) -> None:
    with OrderServiceClient.connect(f"127.0.0.1:{server}", timeout=10) as orders:
        watch = orders.watch_orders(orders_pb2.WatchOrdersRequest(user_id="u-1"))
        euros = Money(currency_code="EUR", minor_units=1250)
        placed = orders.place_order(orders_pb2.PlaceOrderRequest(user_id="u-1", total=euros))
        assert placed.order.total == euros
        assert placed.order.placed_at.seconds > 0
        assert next(watch).order == placed.order
        watch.cancel()
        listed = orders.list_orders(orders_pb2.ListOrdersRequest(user_id="u-1"))
        assert [o.id for o in listed.orders] == [placed.order.id]
        with pytest.raises(runtime.InvalidArgument, match="positive amount"):
            orders.place_order(orders_pb2.PlaceOrderRequest(user_id="u-1", total=Money()))
