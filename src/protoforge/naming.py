"""Every identifier rule in one place: proto paths to Python modules, snake_case, keywords and
collisions. Templates never invent a name; they receive one computed here."""

from __future__ import annotations

import keyword
import re

from protoforge.errors import Diagnostic, NamingError

_CAMEL_BOUNDARY_1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL_BOUNDARY_2 = re.compile(r"([a-z0-9])([A-Z])")


def proto_module_base(proto_name: str) -> str:
    """`acme/orders/v1/order-items.proto` -> `acme.orders.v1.order_items`, exactly as protoc's
    Python generator derives module names (hyphens become underscores, slashes become dots)."""
    stem = proto_name[: -len(".proto")] if proto_name.endswith(".proto") else proto_name
    return stem.replace("-", "_").replace("/", ".")


def pb2_module(proto_name: str) -> str:
    return proto_module_base(proto_name) + "_pb2"


def pb2_grpc_module(proto_name: str) -> str:
    return proto_module_base(proto_name) + "_pb2_grpc"


def module_to_path(module: str, suffix: str = ".py") -> str:
    return module.replace(".", "/") + suffix


def check_importable(proto_name: str, display: str) -> None:
    """A contract whose path cannot become a Python module is an error now, not a SyntaxError at
    import time in someone's service."""
    for part in proto_module_base(proto_name).split("."):
        problem = None
        if keyword.iskeyword(part):
            problem = f"{part!r} is a Python keyword"
        elif not part.isidentifier():
            problem = f"{part!r} is not a valid Python identifier"
        if problem:
            raise NamingError(
                f"{proto_name} cannot become a Python module",
                diagnostics=(
                    Diagnostic(
                        display,
                        0,
                        0,
                        "error",
                        f"module path {pb2_module(proto_name)} is not importable: {problem}",
                    ),
                ),
                hint="rename the directory or file (proto package names are not affected), "
                "or exclude the contract with `exclude`",
            )


def snake_case(name: str) -> str:
    """`GetOrder` -> `get_order`, `HTTPRequest` -> `http_request`, `ListV2` -> `list_v2`."""
    step = _CAMEL_BOUNDARY_1.sub(r"\1_\2", name)
    return _CAMEL_BOUNDARY_2.sub(r"\1_\2", step).lower()


def safe_identifier(name: str, taken: frozenset[str] = frozenset()) -> str:
    """A Python identifier that is not a keyword, a soft keyword or a name already `taken`
    (a trailing underscore, as PEP 8 recommends)."""
    candidate = name
    while keyword.iskeyword(candidate) or keyword.issoftkeyword(candidate) or candidate in taken:
        candidate += "_"
    return candidate


def method_name(rpc_name: str, taken: frozenset[str] = frozenset()) -> str:
    """The snake_case client method for an RPC, safe against keywords and the client's own API."""
    return safe_identifier(snake_case(rpc_name), taken)
