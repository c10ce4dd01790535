"""Every identifier rule in one place: proto paths to Python modules, snake_case, keywords and
collisions. Templates never invent a name; they receive one computed here."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable

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


def check_importable(proto_name: str, display: str | Callable[[], str]) -> None:
    """A contract whose path cannot become a Python module is an error now, not a SyntaxError at
    import time in someone's service. `display` gives the path to show (computed only on error)."""
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
                        display if isinstance(display, str) else display(),
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


# ---------------------------------------------------------------------------------------------
# Names of the modules and classes rendered from templates (servers, clients, runtime, impl).

RUNTIME_MODULE = "_protoforge_runtime"  # one per output package root; see layout.runtime_module
SERVER_SUFFIX = "_pf_server"
CLIENT_SUFFIX = "_pf_client"
IMPL_SUFFIX = "_impl"

# Attributes of the generated servicer bases and clients: an RPC must not shadow them.
RESERVED_METHOD_NAMES = frozenset({"add_to_server", "close", "connect", "channel"})


def server_module(proto_name: str) -> str:
    """`acme/orders/v1/orders.proto` -> `acme.orders.v1.orders_pf_server`."""
    return proto_module_base(proto_name) + SERVER_SUFFIX


def client_module(proto_name: str) -> str:
    """`acme/orders/v1/orders.proto` -> `acme.orders.v1.orders_pf_client`."""
    return proto_module_base(proto_name) + CLIENT_SUFFIX


def impl_module(proto_name: str) -> str:
    """The user's implementation module: one flat, top-level module per contract, so that it
    never shadows a generated package (`acme/orders/v1/orders.proto` ->
    `acme_orders_v1_orders_impl`)."""
    return proto_module_base(proto_name).replace(".", "_") + IMPL_SUFFIX


def servicer_class(service: str, *, asyncio: bool) -> str:
    """`RouteGuide` -> `RouteGuideServicer` / `AsyncRouteGuideServicer`."""
    return f"{'Async' if asyncio else ''}{service}Servicer"


def client_class(service: str, *, asyncio: bool) -> str:
    """`RouteGuide` -> `RouteGuideClient` / `AsyncRouteGuideClient`."""
    return f"{'Async' if asyncio else ''}{service}Client"


def register_function(service: str, *, asyncio: bool) -> str:
    """`RouteGuide` -> `add_route_guide_servicer_to_server` (`add_async_…` for asyncio)."""
    return f"add_{'async_' if asyncio else ''}{snake_case(service)}_servicer_to_server"


def impl_class(service: str) -> str:
    """The user's implementation class in the scaffold: the service name itself."""
    return safe_identifier(service)


def module_alias(module: str, taken: frozenset[str] = frozenset()) -> str:
    """A local name for an imported module: its last component, or the full dotted path with
    underscores when the last component is already taken (`a.v1.x_pb2` and `b.v1.x_pb2`)."""
    short = module.rsplit(".", 1)[-1]
    if short not in taken:
        return short
    return safe_identifier(module.replace(".", "_"), taken)


def relative_import(from_module: str, target: str) -> tuple[str, str] | None:
    """`from X import Y` parts that import module `target` from inside module `from_module`
    relatively (`a.b.c`, `a.d.e` -> (`..d`, `e`)), or None when they share no top-level package
    (a relative import cannot leave it)."""
    here = from_module.split(".")[:-1]
    there, name = target.split(".")[:-1], target.rsplit(".", 1)[-1]
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    if common == 0:
        return None
    dots = "." * (len(here) - common + 1)
    return dots + ".".join(there[common:]), name


def runtime_module(package: str | None, module: str) -> str:
    """The shared runtime module that the generated module `module` imports: at the package
    prefix (`acme_api._protoforge_runtime`), else at the top-level package of `module`
    (`acme._protoforge_runtime`), else (a top-level contract, or one under a namespace root
    such as `google/`) a top-level `_protoforge_runtime` module in `out`."""
    from protoforge.layout import NAMESPACE_ROOTS

    if package:
        return f"{package}.{RUNTIME_MODULE}"
    top = module.split(".")[0]
    if "." in module and top not in NAMESPACE_ROOTS:
        return f"{top}.{RUNTIME_MODULE}"
    return RUNTIME_MODULE
