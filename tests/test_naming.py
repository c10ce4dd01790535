"""Unit tests of the identifier rules (`protoforge.naming`): pure functions, no protoc. The
end-to-end consequences (generated code that imports and type-checks) are in
tests/codegen/test_hostile_names.py."""

from __future__ import annotations

import pytest

from protoforge import naming
from protoforge.errors import NamingError


@pytest.mark.parametrize(
    ("proto", "module"),
    [
        ("acme/orders/v1/order-items.proto", "acme.orders.v1.order_items_pb2"),
        ("import.proto", "import_pb2"),  # the module that will exist is not a keyword
        ("1.proto", "1_pb2"),
    ],
)
def test_pb2_module_is_protocs_name(proto: str, module: str) -> None:
    assert naming.pb2_module(proto) == module


@pytest.mark.parametrize("proto", ["import.proto", "v1/class.proto", "a/None.proto", "x/ok.proto"])
def test_files_named_like_keywords_are_importable(proto: str) -> None:
    naming.check_importable(proto, proto)  # does not raise


@pytest.mark.parametrize(
    ("proto", "reason"),
    [
        ("1.proto", "not a valid Python identifier"),
        ("import/x.proto", "is a Python keyword"),
        ("my dir/x.proto", "not a valid Python identifier"),
        ("\uff41/x.proto", "NFKC"),  # fullwidth a: imported as a file of another name
    ],
)
def test_unimportable_paths_are_refused_with_the_reason(proto: str, reason: str) -> None:
    with pytest.raises(NamingError) as raised:
        naming.check_importable(proto, f"proto/{proto}")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.path == f"proto/{proto}"
    assert reason in diagnostic.message


def test_two_contracts_that_become_one_module_are_refused() -> None:
    with pytest.raises(NamingError, match="become the same Python module"):
        naming.check_distinct_modules(["a-b/x.proto", "a_b/x.proto"], lambda name: name)
    naming.check_distinct_modules(["a/x.proto", "b/x.proto"], lambda name: name)


@pytest.mark.parametrize("top", ["os", "json", "grpc", "google"])
def test_a_prefix_or_top_level_directory_may_not_shadow_a_module(top: str) -> None:
    assert naming.shadowing_problem(top) is not None


def test_top_level_directories_are_checked_only_without_a_prefix() -> None:
    with pytest.raises(NamingError, match="top-level package 'json'"):
        naming.check_top_level(["json/v1/a.proto"], None, lambda name: name)
    naming.check_top_level(["json/v1/a.proto"], "acme_api", lambda name: name)
    naming.check_top_level(["google/api/x.proto"], None, lambda name: name)  # a namespace root


@pytest.mark.parametrize(
    ("name", "snake"),
    [("GetOrder", "get_order"), ("HTTPRequest", "http_request"), ("ListV2", "list_v2")],
)
def test_snake_case(name: str, snake: str) -> None:
    assert naming.snake_case(name) == snake


def test_method_names_avoid_keywords_reserved_names_and_each_other_in_any_order() -> None:
    reserved = frozenset({"close", "_channel"})
    rpcs = ["Close", "Close_", "Import", "Channel", "GetOrder"]
    expected = {
        "Close": "close__",  # `close_` is another RPC's plain name
        "Close_": "close_",
        "Import": "import_",
        "Channel": "channel_",  # its private attribute `_channel` would be taken
        "GetOrder": "get_order",
    }
    assert naming.method_names(rpcs, reserved) == expected
    assert naming.method_names(list(reversed(rpcs)), reserved) == expected


@pytest.mark.parametrize(
    ("rpcs", "reason"), [(["__Init"], "two underscores"), (["__"], "underscores only")]
)
def test_rpc_names_that_cannot_become_methods_are_refused(rpcs: list[str], reason: str) -> None:
    with pytest.raises(naming.NameClash, match=reason):
        naming.method_names(rpcs, frozenset())


def test_two_rpcs_with_one_python_name_clash() -> None:
    with pytest.raises(naming.NameClash) as raised:
        naming.method_names(["GetOrder", "getOrder"], frozenset())
    assert raised.value.python == "get_order"


def test_stub_names_follow_mypy_protobuf() -> None:
    assert naming.stub_name("None") == "_r_None"
    assert naming.stub_name("Point") == "Point"


def test_module_alias_falls_back_to_the_dotted_path() -> None:
    assert naming.module_alias("a.v1.x_pb2") == "x_pb2"
    assert naming.module_alias("b.v1.x_pb2", frozenset({"x_pb2"})) == "b_v1_x_pb2"


@pytest.mark.parametrize(
    ("here", "target", "parts"),
    [
        ("a.b.c", "a.d.e", ("..d", "e")),
        ("a.b.c", "a.b.x", (".", "x")),
        ("a.b", "c.d", None),  # another top-level package: absolute import
    ],
)
def test_relative_import(here: str, target: str, parts: tuple[str, str] | None) -> None:
    assert naming.relative_import(here, target) == parts
