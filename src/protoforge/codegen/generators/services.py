"""The servers, clients and implementation scaffolds of the contracts that declare services:
one context per module, rendered through the templates (`render.environment`).

Templates receive views whose names, type expressions and docstrings are computed here, an
`imports` registry that they ask for every name they write from another module (the import block
is written from what they asked for), and `fit`/`fit_union` for the few bracketed expressions
whose layout depends on the line length (docs/templates.md lists it all).
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protoforge import naming
from protoforge.codegen.layout import Layout
from protoforge.codegen.model import Contract, MessageRef, Method, ProtoFile, Service, StreamingKind
from protoforge.codegen.pysource import Imports, docstring, fit, fit_union, py_literal
from protoforge.codegen.render import (
    CLIENT_TEMPLATE,
    IMPL_TEMPLATE,
    SERVER_TEMPLATE,
    environment,
    render,
    reported,
)
from protoforge.config import Config
from protoforge.output.ownership import header
from protoforge.output.plan import sorted_by_path
from protoforge.runtime import DEFAULT_ADDRESS

if TYPE_CHECKING:
    import jinja2


# --- views -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodView:
    name: str  # GetFeature
    python_name: str  # get_feature
    kind: StreamingKind
    path: str  # /routeguide.v1.RouteGuide/GetFeature
    label: str  # "RouteGuide.GetFeature", a Python string literal (UNIMPLEMENTED's message)
    deprecated: bool
    deprecation: str  # the message for @deprecated(...), as a Python string literal
    request_type: str  # route_guide_pb2.Point (valid inside the rendered module)
    response_type: str  # route_guide_pb2.Feature
    # The same classes as run-time expressions: they differ for a message whose name is a
    # Python keyword (`_r_None` in the stubs, `getattr(x_pb2, "None")` at run time).
    request_class: str
    response_class: str
    docstring: str  # a docstring statement indented for a method body, or ""
    validated: bool  # the request carries protovalidate rules: servers check it
    python_literal: str  # "get_feature", a Python string literal
    # the `_protoforge_validate` wrapper of a sync / asyncio servicer method of this kind
    validate_wrapper: str
    async_validate_wrapper: str


@dataclass(frozen=True)
class ServiceView:
    name: str
    name_literal: str  # "RouteGuide", a Python string literal
    full_name: str
    deprecated: bool
    deprecation: str  # the message for @deprecated(...), as a Python string literal
    docstring: str  # indented for a class body, or ""
    servicer_class: str
    async_servicer_class: str
    client_class: str
    async_client_class: str
    register_function: str
    async_register_function: str
    impl_class: str
    methods: tuple[MethodView, ...]
    # The local name of the pb2 module that declares the service (the servicers' DESCRIPTOR
    # is `<descriptor_file>.DESCRIPTOR.services_by_name[...]`); "" in the scaffold.
    descriptor_file: str

    @property
    def validated(self) -> bool:
        return any(method.validated for method in self.methods)

    @property
    def validated_method_type(self) -> str:
        """The Literal type of the validated methods' names (`NOT_VALIDATED`'s items)."""
        return f"{self.name}ValidatedMethod"

    @property
    def validated_literals(self) -> list[str]:
        """The Python names of the validated methods, as string literals."""
        return [json.dumps(m.python_name) for m in self.methods if m.validated]


def render_files(
    contract: Contract, config: Config, layout: Layout
) -> dict[Path, tuple[str, bool]]:
    """Every rendered file: absolute path -> (text, user_owned). A broken (user) template is a
    user error that names the template file and line."""
    try:
        return _render_files(contract, config, layout)
    except Exception as error:
        raise reported(error, config.templates_dir) from None


def _render_files(
    contract: Contract, config: Config, layout: Layout
) -> dict[Path, tuple[str, bool]]:
    env = environment(config.templates_dir)
    out: dict[Path, tuple[str, bool]] = {}
    for proto_file in contract.service_files:
        out.update(_render_service_file(env, proto_file, config, layout))
    return sorted_by_path(out)


def _render_service_file(
    env: jinja2.Environment, proto_file: ProtoFile, config: Config, layout: Layout
) -> dict[Path, tuple[str, bool]]:
    runtime = naming.runtime_module(layout.package)
    out: dict[Path, tuple[str, bool]] = {}
    for module, template in (
        (proto_file.server_module, SERVER_TEMPLATE),
        (proto_file.client_module, CLIENT_TEMPLATE),
    ):
        context = module_context(proto_file, module, runtime, config)
        path = config.out / naming.module_to_path(module)
        out[path] = (render(env, template, context), False)
    impl_dir = config.impl_out or config.project_dir
    impl_path = impl_dir / naming.module_to_path(proto_file.impl_module)
    out[impl_path] = (render(env, IMPL_TEMPLATE, impl_context(proto_file, runtime)), True)
    return out


class RuntimeRef:
    """The runtime module as templates use it: `{{ rt }}` writes its module alias (`_rt`, for
    helpers called in method bodies), `{{ rt.name("ResponseStream") }}` imports a public name
    by name (for types users see in signatures). Both register the import they need."""

    def __init__(self, imports: Imports, module: str, alias: str) -> None:
        self._imports, self._module, self._alias = imports, module, alias

    def __str__(self) -> str:
        alias: str = self._imports.module_alias(self._module, self._alias)
        return alias

    def name(self, name: str) -> str:
        return self._imports.name(self._module, name)


def _local_predicate(
    contract_modules: Iterable[str], runtime: str, siblings: Iterable[str] = ()
) -> Callable[[str], bool]:
    """Modules of the generated tree are imported relatively or absolutely in the last section.
    A top-level runtime module (no package prefix) cannot be imported relatively, and ruff's
    isort files an unknown top-level module under third party: it goes there (so do the
    runtime's `siblings`, the validate module)."""
    local = frozenset(contract_modules)
    runtimes = frozenset({runtime, *siblings})

    def is_local(module: str) -> bool:
        if module in runtimes:
            return "." in module
        return module in local

    return is_local


def module_context(
    proto_file: ProtoFile, module: str, runtime: str, config: Config
) -> dict[str, Any]:
    """The context of server.py.jinja and client.py.jinja (documented in docs/templates.md)."""
    is_client = module == proto_file.client_module
    # The server module imports the module that declares its services even when no message
    # lives there: importing it registers the service descriptors that reflection serves.
    aliases = _module_aliases(proto_file, declaring=not is_client)
    declaring = None if is_client else proto_file.pb2_module
    services = tuple(_service_view(s, aliases, declaring) for s in proto_file.services)
    any_deprecated = any(m.deprecated for s in services for m in s.methods) or any(
        s.deprecated for s in services
    )
    external = {ref.module for ref in proto_file.messages if not ref.local}
    local = {m for m in aliases if m not in external}
    validate_module = naming.validate_module(runtime.rpartition(".")[0] or None)
    imports = Imports(module, _local_predicate(local, runtime, (validate_module,)))
    for target, alias in aliases.items():
        imports.module_alias(target, alias)
    if _uses_cast(services):
        imports.name("typing", "cast")
    retry = config.client.retry
    service_config: dict[str, Any] | None = None
    if retry is not None:
        service_config = {
            "methodConfig": [
                {
                    "name": [{"service": s.full_name} for s in proto_file.services],
                    "retryPolicy": retry.service_config_entry(),
                }
            ]
        }
    return {
        **_layout_helpers(),
        "header": header(proto_file.name),
        "module": module,
        "file": proto_file,
        "module_docstring": _module_docstring(proto_file, is_client, runtime),
        "imports": imports,
        "rt": RuntimeRef(imports, runtime, "_rt"),
        # imported only by the modules that write `{{ pfv }}` (services with rules)
        "pfv": RuntimeRef(imports, validate_module, "_pfv"),
        "runtime_module": runtime,
        "services": services,
        "uses_deprecated": is_client and any_deprecated,
        "default_timeout": repr(config.client.timeout),
        "service_config": py_literal(service_config),
    }


def _layout_helpers() -> dict[str, Any]:
    return {"fit": fit, "fit_union": fit_union}


def _uses_cast(services: Iterable[ServiceView]) -> bool:
    return any(
        "cast(" in expr
        for s in services
        for m in s.methods
        for expr in (m.request_class, m.response_class)
    )


def impl_context(proto_file: ProtoFile, runtime: str) -> dict[str, Any]:
    """The context of impl.py.jinja: absolute imports (the module lives outside `out`)."""
    server_name = proto_file.server_module.rsplit(".", 1)[-1]
    taken = frozenset({server_name, "grpc", "sys", "runtime"})
    aliases = _module_aliases(proto_file, taken)
    services = tuple(_service_view(s, aliases, None) for s in proto_file.services)
    external = {ref.module for ref in proto_file.messages if not ref.local}
    generated = {proto_file.server_module, runtime} | {m for m in aliases if m not in external}
    imports = Imports(proto_file.impl_module, generated.__contains__, relative=False)
    imports.module_alias("grpc")
    imports.module_alias(proto_file.server_module, server_name)
    for target, alias in aliases.items():
        imports.module_alias(target, alias)
    return {
        **_layout_helpers(),
        "header": f"# Implementation of {proto_file.name}: created once by protoforge; yours.\n",
        "file": proto_file,
        "server_module": server_name,
        "runtime_module": runtime,
        "imports": imports,
        "runtime": RuntimeRef(imports, runtime, "runtime"),
        "services": services,
        "module_docstring": docstring(
            f"Your implementation of the services in {proto_file.name}.\n\n"
            f"Run the server with `python -m {proto_file.impl_module} [ADDRESS]`\n"
            f"(default {DEFAULT_ADDRESS}), with the generated package on PYTHONPATH.",
            0,
        ),
    }


def _service_view(
    service: Service, aliases: dict[str, str], declaring_module: str | None
) -> ServiceView:
    return ServiceView(
        descriptor_file=aliases[declaring_module] if declaring_module else "",
        name_literal=json.dumps(service.name),
        deprecation=json.dumps(f"{service.name} is deprecated in the contract"),
        name=service.name,
        full_name=service.full_name,
        deprecated=service.deprecated,
        docstring=docstring(service.comments, 4, reflow=True),
        servicer_class=service.servicer_class,
        async_servicer_class=service.async_servicer_class,
        client_class=service.client_class,
        async_client_class=service.async_client_class,
        register_function=service.register_function,
        async_register_function=service.async_register_function,
        impl_class=service.impl_class,
        methods=tuple(_method_view(service, m, aliases) for m in service.methods),
    )


def _method_view(service: Service, method: Method, aliases: dict[str, str]) -> MethodView:
    return MethodView(
        name=method.name,
        python_name=method.python_name,
        kind=method.kind,
        path=method.path,
        label=json.dumps(f"{service.name}.{method.name}"),
        deprecated=method.deprecated,
        deprecation=json.dumps(f"{service.name}.{method.name} is deprecated in the contract"),
        request_type=_type_expr(method.input, aliases),
        response_type=_type_expr(method.output, aliases),
        request_class=_runtime_expr(method.input, aliases),
        response_class=_runtime_expr(method.output, aliases),
        docstring=docstring(method.comments, 8, reflow=True),
        validated=method.validated,
        python_literal=json.dumps(method.python_name),
        validate_wrapper=_VALIDATE_WRAPPERS[method.kind],
        async_validate_wrapper="async_" + _VALIDATE_WRAPPERS[method.kind],
    )


# The `_protoforge_validate` function that wraps a servicer method of each kind.
_VALIDATE_WRAPPERS = {
    StreamingKind.UNARY_UNARY: "unary",
    StreamingKind.UNARY_STREAM: "unary_stream",
    StreamingKind.STREAM_UNARY: "stream",
    StreamingKind.STREAM_STREAM: "stream",
}


def _module_aliases(
    proto_file: ProtoFile, taken: frozenset[str] = frozenset(), *, declaring: bool = False
) -> dict[str, str]:
    """Module -> local name for every pb2 module the services use (and, with `declaring`, the
    module of the file that declares them)."""
    used = set(taken)
    aliases: dict[str, str] = {}
    modules = [ref.module for ref in proto_file.messages]
    if declaring:
        modules.append(proto_file.pb2_module)
    for module in modules:
        if module in aliases:
            continue
        alias = naming.module_alias(module, frozenset(used))
        used.add(alias)
        aliases[module] = alias
    return dict(sorted(aliases.items()))


def _type_expr(ref: MessageRef, aliases: dict[str, str]) -> str:
    return f"{aliases[ref.module]}.{ref.stub_qualname}"


def _runtime_expr(ref: MessageRef, aliases: dict[str, str]) -> str:
    """The message class at run time: attribute access, or getattr for a part that is a
    keyword (`x_pb2.None` would be a SyntaxError), cast to the stubs' class so that calls keep
    their types (module_context imports `cast` then)."""
    expr = aliases[ref.module]
    for part in ref.qualname.split("."):
        if keyword.iskeyword(part):
            expr = f"getattr({expr}, {json.dumps(part)})"
        else:
            expr = f"{expr}.{part}"
    if "getattr(" in expr:
        expr = f'cast("type[{_type_expr(ref, aliases)}]", {expr})'
    return expr


def _module_docstring(proto_file: ProtoFile, is_client: bool, runtime: str) -> str:
    names = ", ".join(s.name for s in proto_file.services)
    grpc_module = naming.pb2_grpc_module(proto_file.name).rsplit(".", 1)[-1]
    # grpc's own plugin output sits next to this module with classes of the same names
    # (`RouteGuideServicer`): say which one is meant, since autocomplete offers both.
    if is_client:
        text = (
            f"Typed gRPC clients (sync and asyncio) for {names}.\n\n"
            f"Failed calls raise the `GrpcError` subclasses of `{runtime}`. Use these clients,\n"
            f"not the stubs of `{grpc_module}` (grpc's own, untyped plugin output)."
        )
    else:
        text = (
            f"Servicer bases (sync and asyncio) for {names}.\n\n"
            "Subclass a base, override its methods (each defaults to UNIMPLEMENTED) and run it\n"
            f"with `{runtime}.serve` / `serve_async`, or register it with the matching\n"
            "`add_..._to_server` function. Subclass these, not the servicers of the same names\n"
            f"in `{grpc_module}` (grpc's own, untyped plugin output), which `serve` cannot run."
        )
    return docstring(text, 0)
