"""Every identifier rule in one place: proto paths to Python modules, snake_case, keywords and
collisions. Templates never invent a name; they receive one computed here."""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable

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


# Top-level names that generated code imports, or that tools next to it import: a generated
# top-level package of that name would hide the real module on sys.path. The standard library's
# names (sys.stdlib_module_names) are added where this is used.
RUNTIME_TOP_LEVEL = frozenset(
    {"google", "grpc", "grpc_tools", "grpc_health", "grpc_reflection", "grpc_status"}
    | {"protoforge", "typing_extensions", "mypy_protobuf"}
)
# Namespace packages that installed distributions share (`google.protobuf` is in the protobuf
# wheel, `google.api` in googleapis-common-protos): generated modules may join them.
NAMESPACE_ROOTS = frozenset({"google"})


def shadowing_problem(top: str) -> str | None:
    """Why a top-level package named `top` would break imports, or None."""
    if top in sys.stdlib_module_names:
        return f"{top!r} would shadow the standard library module of that name"
    if top in RUNTIME_TOP_LEVEL:
        return f"{top!r} would shadow the installed Python package of that name"
    return None


def module_part_problem(part: str) -> str | None:
    """Why one dotted part of a module path cannot be imported, or None. Judged on the name
    that will exist (`import` is a keyword, `import_pb2` is a fine module)."""
    if keyword.iskeyword(part):
        return f"{part!r} is a Python keyword"
    if not part.isidentifier():
        return f"{part!r} is not a valid Python identifier"
    if unicodedata.normalize("NFKC", part) != part:
        # Python normalizes identifiers (NFKC) before it looks for the file: an `import` of
        # this name would search for a file of another name.
        return f"{part!r} changes under Unicode NFKC normalization (use its NFC form)"
    return None


def check_importable(proto_name: str, display: str | Callable[[], str]) -> None:
    """A contract whose generated modules cannot be imported is an error now, not a
    SyntaxError at import time in someone's service. Each directory of the module path and the
    modules themselves (`<stem>_pb2`, `_pb2_grpc`, `_pf_server`, …; all share the stem's
    validity) are judged. `display` gives the path to show (computed only on error)."""
    parts = proto_module_base(proto_name).split(".")
    for index, part in enumerate(parts):
        is_module = index == len(parts) - 1
        problem = module_part_problem(part + "_pb2" if is_module else part)
        if problem is None:
            continue
        what = "file name" if is_module else "directory"
        raise NamingError(
            f"{proto_name} cannot become a Python module",
            diagnostics=(
                Diagnostic(
                    display if isinstance(display, str) else display(),
                    0,
                    0,
                    "error",
                    f"module {pb2_module(proto_name)} is not importable: the {what} {problem}",
                ),
            ),
            hint="rename the directory or file (proto package names are not affected), "
            "or exclude the contract with `exclude`",
        )


def check_distinct_modules(names: Iterable[str], display: Callable[[str], str]) -> None:
    """Two contracts that become the same module (`a-b/x.proto` and `a_b/x.proto`) would
    overwrite each other's output."""
    seen: dict[str, str] = {}
    for name in sorted(names):
        module = proto_module_base(name)
        if module in seen:
            raise NamingError(
                f"{seen[module]} and {name} become the same Python module",
                diagnostics=(
                    Diagnostic(
                        display(name),
                        0,
                        0,
                        "error",
                        f"module {module}_pb2 is also generated from {display(seen[module])}",
                    ),
                ),
                hint="rename one of the files, or exclude one with `exclude`",
            )
        seen[module] = name


def check_top_level(
    names: Iterable[str], package: str | None, display: Callable[[str], str]
) -> None:
    """Without a `package` prefix, each contract directory's first part becomes a top-level
    Python package in `out`: it must not hide a module the generated code (or its user) imports.
    Namespace roots such as `google/` are shared, not hidden."""
    if package:
        return  # the prefix itself is validated with the config
    for name in sorted(names):
        parts = proto_module_base(name).split(".")
        if len(parts) < 2 or parts[0] in NAMESPACE_ROOTS:
            continue
        problem = shadowing_problem(parts[0])
        if problem:
            raise NamingError(
                f"{name} would be generated into a top-level package {parts[0]!r}",
                diagnostics=(Diagnostic(display(name), 0, 0, "error", problem),),
                hint="set `package` in the config to generate under a prefix of your own, "
                "or move the contracts to another directory",
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


def method_names(rpc_names: Iterable[str], reserved: frozenset[str]) -> dict[str, str]:
    """The snake_case Python method of each RPC of one service, decided without regard to
    declaration order: an RPC whose name would be a keyword or a `reserved` name (every name the
    generated classes define or refer to, see codegen.reserved), or whose private stub
    attribute `_<name>` would be one, gets trailing underscores until it is none of those and
    no other RPC's name. Leading underscores are dropped (`__Foo` would be name-mangled inside
    the class). Two RPCs that still end up with one name raise `NameClash`."""
    names = list(rpc_names)
    for rpc in names:
        if rpc.startswith("__") and rpc.strip("_"):
            # grpc's own `_pb2_grpc` stub class assigns one attribute per RPC: a dunder name
            # redefines a special method, any other `__name` is mangled inside the class (and
            # mypy-protobuf's stubs carry ignore comments that `mypy --strict` rejects).
            raise NameClash(rpc, rpc, rpc, reason="starts with two underscores")
        if not rpc.strip("_"):
            # mypy-protobuf's `_pb2_grpc.pyi` types such an attribute with an ignore comment
            # that `mypy --strict` reports as unused.
            raise NameClash(rpc, rpc, rpc, reason="is made of underscores only")
    bases = {rpc: snake_case(rpc).lstrip("_") or "rpc" for rpc in names}
    plain = set(bases.values())
    chosen: dict[str, str] = {}
    for rpc, base in bases.items():
        candidate = base
        while (
            keyword.iskeyword(candidate)
            or keyword.issoftkeyword(candidate)
            or candidate in reserved
            or f"_{candidate}" in reserved
            or (candidate != base and candidate in plain)
        ):
            candidate += "_"
        chosen[rpc] = candidate
    owners: dict[str, str] = {}
    for rpc in sorted(chosen):
        python = chosen[rpc]
        if python in owners:
            raise NameClash(owners[python], rpc, python)
        owners[python] = rpc
    return chosen


class NameClash(Exception):
    """Two names of a contract that would become one Python name (or, with `reason`, one name
    that cannot become a Python name at all)."""

    def __init__(self, first: str, second: str, python: str, reason: str = "") -> None:
        super().__init__(reason or f"{first} and {second} both become {python!r}")
        self.first, self.second, self.python, self.reason = first, second, python, reason


# ---------------------------------------------------------------------------------------------
# Names of the modules and classes rendered from templates (servers, clients, runtime, impl).

RUNTIME_MODULE = "_protoforge_runtime"  # one per output tree; see runtime_module
WEB_MODULE = "_protoforge_web"  # the runtime's sibling; see web_module
VALIDATE_MODULE = "_protoforge_validate"  # the runtime's sibling; see validate_module
SERVER_SUFFIX = "_pf_server"
CLIENT_SUFFIX = "_pf_client"
IMPL_SUFFIX = "_impl"


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


def impl_class(service: str, reserved: frozenset[str] = frozenset()) -> str:
    """The user's implementation class in the scaffold: the service name itself, unless that
    is a keyword or a name the scaffold uses (`grpc`, `sys`, …)."""
    return safe_identifier(service, reserved)


def stub_name(part: str) -> str:
    """One part of a message's name as mypy-protobuf's stubs spell it (`None` -> `_r_None`)."""
    return f"_r_{part}" if keyword.iskeyword(part) else part


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


def runtime_module(package: str | None) -> str:
    """The runtime module of an output tree, which every generated module imports: one per
    tree, at the package prefix (`acme_api._protoforge_runtime`), else a top-level
    `_protoforge_runtime` module in `out`."""
    return f"{package}.{RUNTIME_MODULE}" if package else RUNTIME_MODULE


def web_module(package: str | None) -> str:
    """The web gateway module, always the runtime's sibling (the runtime imports it by that)."""
    return f"{package}.{WEB_MODULE}" if package else WEB_MODULE


def validate_module(package: str | None) -> str:
    """The protovalidate support module of a tree whose contracts have rules (the runtime's
    sibling)."""
    return f"{package}.{VALIDATE_MODULE}" if package else VALIDATE_MODULE


def former_runtime_module(module: str) -> str | None:
    """Where protoforge before one runtime per tree put the runtime of generated module
    `module` (no package prefix): in its top-level package (`acme._protoforge_runtime`); None
    for a top-level contract or one under a namespace root such as `google/`."""
    top = module.split(".")[0]
    if "." in module and top not in NAMESPACE_ROOTS:
        return f"{top}.{RUNTIME_MODULE}"
    return None
