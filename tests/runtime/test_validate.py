"""protovalidate end to end over loopback: a contract with field, message (CEL), oneof and nested
rules; the generated sync and asyncio servers reject every broken rule with INVALID_ARGUMENT and
the exact `google.rpc.BadRequest` the client decodes, for unary, server-streaming,
client-streaming (a bad message in the middle) and bidi calls; the switches (`validate=False`,
`NOT_VALIDATED`); client-side validation without a round trip."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from _services import on_sys_path
from conftest import FIXTURES

pytest.importorskip("protovalidate")
from google.rpc.error_details_pb2 import BadRequest

FIXTURE = FIXTURES / "validate"

# Every rule of PlaceOrderRequest broken once by BAD_ORDER: (field path, rule id, message), in
# the order protovalidate reports them (message rules, oneofs, then fields by number).
EVERY_RULE_BROKEN = [
    ("", "order.total_range", "min_total_cents must not exceed max_total_cents"),
    ("contact", "required", "exactly one field is required in oneof"),
    ("email", "string.email", "must be a valid email address"),
    ("lines", "repeated.min_items", "must contain at least 1 item(s)"),
    ('gifts["g"].sku', "string.min_len", "must be at least 3 characters"),
    ('gifts["g"].quantity', "int32.gt_lte", "must be greater than 0 and less than or equal to 100"),
]
SHORT_SKU = [("sku", "string.min_len", "must be at least 3 characters")]


class Modules:
    def __init__(self, out: Path) -> None:
        import importlib

        self.out = out
        self.pb2: ModuleType = importlib.import_module("shop.v1.shop_pb2")
        self.server: ModuleType = importlib.import_module("shop.v1.shop_pf_server")
        self.client: ModuleType = importlib.import_module("shop.v1.shop_pf_client")
        self.rt: ModuleType = importlib.import_module("_protoforge_runtime")

    def bad_order(self) -> Any:
        order = self.pb2.PlaceOrderRequest(email="nope", min_total_cents=5, max_total_cents=1)
        order.gifts["g"].CopyFrom(self.pb2.Line(sku="x", quantity=0))
        return order

    def good_order(self) -> Any:
        return self.pb2.PlaceOrderRequest(
            email="ada@example.com",
            lines=[self.pb2.Line(sku="abc", quantity=2)],
            phone="+1 555 0100",
            min_total_cents=1,
            max_total_cents=5,
        )

    def line(self, sku: str) -> Any:
        return self.pb2.Line(sku=sku, quantity=1)


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Modules]:
    from protoforge.config import config_from_mapping
    from protoforge.output.plan import apply, compare
    from protoforge.pipeline import generate

    project = tmp_path_factory.mktemp("validate")
    shutil.copytree(FIXTURE / "proto", project / "proto")
    config = config_from_mapping({"proto_roots": ["proto"], "out": "gen"}, project)
    plan = generate(config)
    apply(compare(plan), plan.managed_dirs)
    with on_sys_path(config.out):
        yield Modules(config.out)


def violations(error: Any) -> list[tuple[str, str, str]]:
    """The BadRequest a client decoded from grpc-status-details-bin, as (field, reason, text)."""
    found = error.detail(BadRequest)
    assert found is not None, error.details
    return [(v.field, v.reason, v.description) for v in found.field_violations]


def sync_servicer(gen: Modules, base: str = "ShopServicer", **attributes: Any) -> Any:
    pb2 = gen.pb2

    class Shop(getattr(gen.server, base)):  # type: ignore[misc]
        def __init__(self) -> None:
            self.seen: list[Any] = []

        def place_order(self, request: Any, context: Any) -> Any:
            self.seen.append(request)
            return pb2.OrderReply(id="o1", lines=len(request.lines))

        def watch_order(self, request: Any, context: Any) -> Iterator[Any]:
            self.seen.append(request)
            yield pb2.OrderReply(id="o1")

        def upload_lines(self, request_iterator: Iterator[Any], context: Any) -> Any:
            count = 0
            for line in request_iterator:
                self.seen.append(line)
                count += 1
            return pb2.OrderReply(lines=count)

        def exchange(self, request_iterator: Iterator[Any], context: Any) -> Iterator[Any]:
            for line in request_iterator:
                self.seen.append(line)
                yield line

        def echo(self, request: Any, context: Any) -> Any:
            self.seen.append(request)
            return request

    for name, value in attributes.items():
        setattr(Shop, name, value)
    return Shop()


class SyncServer:
    def __init__(self, gen: Modules, servicer: Any, **options: Any) -> None:
        self.servicer = servicer
        self.running = gen.rt.start([servicer], "127.0.0.1:0", **options)
        self.client = gen.client.ShopClient.connect(f"127.0.0.1:{self.running.port}", timeout=10)

    def __enter__(self) -> SyncServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.client.close()
        self.running.stop_now()


# --- sync server --------------------------------------------------------------------------------


def test_a_unary_request_that_breaks_every_rule_gets_each_violation(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen)) as server:
        with pytest.raises(gen.rt.InvalidArgument) as caught:
            server.client.place_order(gen.bad_order())
        assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert violations(caught.value) == EVERY_RULE_BROKEN
        assert caught.value.message == (
            "invalid PlaceOrderRequest: min_total_cents must not exceed max_total_cents "
            "(and 5 more)"
        )
        assert server.servicer.seen == []  # the servicer never saw it


def test_a_valid_request_reaches_the_servicer(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen)) as server:
        assert server.client.place_order(gen.good_order()).lines == 1
        assert [r.id for r in server.client.watch_order(gen.good_order())] == ["o1"]
        assert server.client.echo(gen.pb2.Ping(text="hi")).text == "hi"
        assert len(server.servicer.seen) == 3


def test_a_server_stream_checks_its_request_first(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen)) as server:
        with pytest.raises(gen.rt.InvalidArgument) as caught:
            list(server.client.watch_order(gen.bad_order()))
        assert violations(caught.value) == EVERY_RULE_BROKEN
        assert server.servicer.seen == []


def test_a_bad_message_in_the_middle_of_a_client_stream_ends_the_call(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen)) as server:
        requests = [gen.line("abc"), gen.line("x"), gen.line("def")]
        with pytest.raises(gen.rt.InvalidArgument) as caught:
            server.client.upload_lines(requests)
        assert violations(caught.value) == SHORT_SKU
        assert [line.sku for line in server.servicer.seen] == ["abc"]  # only the one before


def test_a_bidi_stream_checks_every_message(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen)) as server:
        stream = server.client.exchange(iter([gen.line("abc"), gen.line("no")]))
        assert next(stream).sku == "abc"
        with pytest.raises(gen.rt.InvalidArgument) as caught:
            next(stream)
        assert violations(caught.value) == SHORT_SKU


def test_nested_rules_apply_to_repeated_elements_with_their_index(gen: Modules) -> None:
    order = gen.good_order()
    order.lines.append(gen.pb2.Line(sku="ab", quantity=1))
    with SyncServer(gen, sync_servicer(gen)) as server:
        with pytest.raises(gen.rt.InvalidArgument) as caught:
            server.client.place_order(order)
        assert violations(caught.value) == [("lines[1].sku", *SHORT_SKU[0][1:])]


def test_validation_is_off_for_a_server_started_with_validate_false(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen), validate=False) as server:
        assert server.client.place_order(gen.bad_order()).id == "o1"
        assert server.client.upload_lines([gen.line("x")]).lines == 1


def test_not_validated_methods_are_not_checked(gen: Modules) -> None:
    servicer = sync_servicer(gen, NOT_VALIDATED=frozenset({"place_order"}))
    with SyncServer(gen, servicer) as server:
        assert server.client.place_order(gen.bad_order()).id == "o1"
        with pytest.raises(gen.rt.InvalidArgument):
            list(server.client.watch_order(gen.bad_order()))  # the others still are


def test_a_not_validated_name_that_is_no_validated_method_is_an_error(gen: Modules) -> None:
    servicer = sync_servicer(gen, NOT_VALIDATED=frozenset({"echo", "plaec_order"}))
    with pytest.raises(ValueError, match="echo, plaec_order"):
        gen.rt.start([servicer], "127.0.0.1:0")


def test_methods_without_rules_get_no_validation_code(gen: Modules) -> None:
    text = (gen.out / "shop" / "v1" / "shop_pf_server.py").read_text()
    assert "servicer.echo)," in text  # registered as it is, not wrapped
    assert '"echo"' not in text
    assert gen.server.ShopValidatedMethod.__args__ == (
        "place_order",
        "watch_order",
        "upload_lines",
        "exchange",
    )


# --- client-side validation ----------------------------------------------------------------------


def test_a_validating_client_raises_without_a_round_trip(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen)) as server:
        target = f"127.0.0.1:{server.running.port}"
        with gen.client.ShopClient.connect(target, validate=True) as checking:
            with pytest.raises(gen.rt.InvalidArgument) as caught:
                checking.place_order(gen.bad_order())
            assert violations(caught.value) == EVERY_RULE_BROKEN
            with pytest.raises(gen.rt.InvalidArgument):
                checking.watch_order(gen.bad_order())
            assert checking.place_order(gen.good_order()).id == "o1"
            # per call: off for this one (the server rejects it instead)
            with pytest.raises(gen.rt.InvalidArgument):
                checking.place_order(gen.bad_order(), validate=False)
        assert len(server.servicer.seen) == 1  # only the valid order reached the servicer


def test_a_validating_client_never_sends_a_bad_message_of_a_client_stream(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen), validate=False) as server:
        target = f"127.0.0.1:{server.running.port}"
        with gen.client.ShopClient.connect(target, validate=True) as checking:
            with pytest.raises(gen.rt.InvalidArgument) as caught:
                checking.upload_lines([gen.line("abc"), gen.line("x"), gen.line("def")])
            assert violations(caught.value) == SHORT_SKU
            assert checking.upload_lines([gen.line("abc")]).lines == 1
        # the server (not validating) never received the bad message nor the one after it
        assert "x" not in [line.sku for line in server.servicer.seen]
        assert "def" not in [line.sku for line in server.servicer.seen]


def test_clients_do_not_validate_unless_asked(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen), validate=False) as server:
        assert server.client.place_order(gen.bad_order()).id == "o1"  # sent as it is
        with pytest.raises(gen.rt.InvalidArgument) as caught:
            server.client.place_order(gen.bad_order(), validate=True)  # per call
        assert violations(caught.value) == EVERY_RULE_BROKEN
        assert len(server.servicer.seen) == 1


# --- asyncio ----------------------------------------------------------------------------------


def async_servicer(gen: Modules) -> Any:
    pb2 = gen.pb2

    class Shop(gen.server.AsyncShopServicer):  # type: ignore[misc]
        def __init__(self) -> None:
            self.seen: list[Any] = []

        async def place_order(self, request: Any, context: Any) -> Any:
            self.seen.append(request)
            return pb2.OrderReply(id="o1")

        async def watch_order(self, request: Any, context: Any) -> AsyncIterator[Any]:
            self.seen.append(request)
            yield pb2.OrderReply(id="o1")

        async def upload_lines(self, request_iterator: AsyncIterator[Any], context: Any) -> Any:
            async for line in request_iterator:
                self.seen.append(line)
            return pb2.OrderReply(lines=len(self.seen))

        async def exchange(
            self, request_iterator: AsyncIterator[Any], context: Any
        ) -> AsyncIterator[Any]:
            async for line in request_iterator:
                self.seen.append(line)
                yield line

    return Shop()


def test_asyncio_servers_and_clients_validate(gen: Modules) -> None:
    async def scenario() -> None:
        servicer = async_servicer(gen)
        running = await gen.rt.start_async([servicer], "127.0.0.1:0")
        target = f"127.0.0.1:{running.port}"
        client = gen.client.AsyncShopClient.connect(target, timeout=10)
        try:
            with pytest.raises(gen.rt.InvalidArgument) as caught:
                await client.place_order(gen.bad_order())
            assert violations(caught.value) == EVERY_RULE_BROKEN
            with pytest.raises(gen.rt.InvalidArgument) as caught:
                async for _ in client.watch_order(gen.bad_order()):
                    pass
            assert violations(caught.value) == EVERY_RULE_BROKEN
            assert servicer.seen == []
            lines = [gen.line("abc"), gen.line("x"), gen.line("def")]
            with pytest.raises(gen.rt.InvalidArgument) as caught:
                await client.upload_lines(lines)
            assert violations(caught.value) == SHORT_SKU
            assert [line.sku for line in servicer.seen] == ["abc"]
            assert (await client.place_order(gen.good_order())).id == "o1"
            # client side: no round trip
            before = len(servicer.seen)
            with pytest.raises(gen.rt.InvalidArgument) as caught:
                await client.place_order(gen.bad_order(), validate=True)
            assert violations(caught.value) == EVERY_RULE_BROKEN
            assert len(servicer.seen) == before

            async def lines() -> AsyncIterator[Any]:
                for sku in ("abc", "x", "def"):
                    yield gen.line(sku)

            with pytest.raises(gen.rt.InvalidArgument) as caught:
                await client.upload_lines(lines(), validate=True)
            assert violations(caught.value) == SHORT_SKU
            assert "x" not in [line.sku for line in servicer.seen[before:]]
        finally:
            await client.close()
            await running.server.stop(None)

    asyncio.run(scenario())


def test_validation_runs_on_the_server_threads_not_only_the_first(gen: Modules) -> None:
    # The validator is shared by the process: concurrent calls each get their own verdict.
    with SyncServer(gen, sync_servicer(gen)) as server:
        failures: list[BaseException] = []

        def call(bad: bool) -> None:
            try:
                if bad:
                    with pytest.raises(gen.rt.InvalidArgument):
                        server.client.place_order(gen.bad_order())
                else:
                    server.client.place_order(gen.good_order())
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=call, args=(i % 2 == 0,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert len(server.servicer.seen) == 4


# --- types ------------------------------------------------------------------------------------

USER_CODE = """
from __future__ import annotations

from typing import Any

from shop.v1 import shop_pb2, shop_pf_client, shop_pf_server


class Shop(shop_pf_server.ShopServicer):
    NOT_VALIDATED = frozenset({"place_order"})


class Typo(shop_pf_server.ShopServicer):
    NOT_VALIDATED = frozenset({"plaec_order"})


def call(client: shop_pf_client.ShopClient) -> Any:
    client.place_order(shop_pb2.PlaceOrderRequest(), validate=True)
    client.echo(shop_pb2.Ping(), validate=True)
"""


def test_the_generated_tree_passes_mypy_strict_and_catches_misuse(gen: Modules) -> None:
    from conftest import mypy_strict

    (gen.out / "user_code.py").write_text(USER_CODE, encoding="utf-8")
    try:
        done = mypy_strict(gen.out)
    finally:
        (gen.out / "user_code.py").unlink()
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    # exactly the two misuses: a NOT_VALIDATED name that is no validated method, and
    # `validate=` on a method whose request carries no rules
    assert len(errors) == 2, done.stdout
    assert errors[0].startswith("user_code.py:14:") and "plaec_order" in errors[0]
    assert errors[1].startswith("user_code.py:19:") and '"validate"' in errors[1]


def test_a_validating_client_stops_a_bidi_stream_at_its_first_bad_message(gen: Modules) -> None:
    with SyncServer(gen, sync_servicer(gen), validate=False) as server:
        target = f"127.0.0.1:{server.running.port}"
        with gen.client.ShopClient.connect(target, validate=True) as checking:
            stream = checking.exchange(iter([gen.line("abc"), gen.line("x"), gen.line("def")]))
            with pytest.raises(gen.rt.InvalidArgument) as caught:
                list(stream)
            assert violations(caught.value) == SHORT_SKU
            # per call: off for this one, and the server (not validating) echoes it
            unchecked = checking.exchange(iter([gen.line("x")]), validate=False)
            assert [line.sku for line in unchecked] == ["x"]
        sent = [line.sku for line in server.servicer.seen]
        assert "def" not in sent and sent.count("x") == 1  # only the unchecked call's


def test_an_asyncio_validating_client_stops_a_bidi_stream_at_its_first_bad_message(
    gen: Modules,
) -> None:
    async def scenario() -> None:
        servicer = async_servicer(gen)
        running = await gen.rt.start_async([servicer], "127.0.0.1:0", validate=False)
        client = gen.client.AsyncShopClient.connect(f"127.0.0.1:{running.port}", validate=True)
        try:
            lines = [gen.line("abc"), gen.line("x"), gen.line("def")]
            with pytest.raises(gen.rt.InvalidArgument) as caught:
                async for _ in client.exchange(lines):
                    pass
            assert violations(caught.value) == SHORT_SKU
            assert "def" not in [line.sku for line in servicer.seen]
            assert "x" not in [line.sku for line in servicer.seen]
        finally:
            await client.close()
            await running.server.stop(None)

    asyncio.run(scenario())
