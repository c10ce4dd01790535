"""render: the model turned into Python source through Jinja templates.

One `Environment` factory (`environment`): StrictUndefined (a typo in a template is an error, not
an empty string), keep_trailing_newline, trim_blocks/lstrip_blocks, no autoescape (this is Python,
not HTML), and a ChoiceLoader that puts the user's `templates_dir` in front of the built-ins: a
file there with the same name replaces the built-in one.

Templates receive views whose every name, type expression, import line and docstring has already
been computed here (docs/templates.md lists them); they only loop and branch.
"""

from __future__ import annotations

import ast
import functools
import json
import keyword
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protoforge import naming
from protoforge.codegen.layout import Layout
from protoforge.codegen.model import Contract, MessageRef, Method, ProtoFile, Service, StreamingKind
from protoforge.config import Config
from protoforge.errors import Diagnostic, ProtoforgeError
from protoforge.output.ownership import header
from protoforge.output.plan import sorted_by_path

if TYPE_CHECKING:
    import jinja2

LINE_LENGTH = 100  # the generated code passes `ruff check`/`ruff format --check` at this width

# Template names: copy one into your templates_dir to replace it.
RUNTIME_TEMPLATE = "runtime.py.jinja"
SERVER_TEMPLATE = "server.py.jinja"
CLIENT_TEMPLATE = "client.py.jinja"
IMPL_TEMPLATE = "impl.py.jinja"


def builtin_templates_dir() -> Path:
    """The templates shipped with protoforge: `protoforge/templates` inside an installed wheel,
    else the repository's top-level `templates/` (editable installs)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "templates", package.parents[1] / "templates"):
        if (candidate / RUNTIME_TEMPLATE).is_file():
            return candidate
    raise ProtoforgeError(
        "protoforge's built-in templates are missing from this installation",
        hint="reinstall protoforge (pip install --force-reinstall protoforge)",
    )


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(builtin_templates_dir())))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


# --- views -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodView:
    name: str  # GetFeature
    python_name: str  # get_feature
    kind: StreamingKind
    path: str  # /routeguide.v1.RouteGuide/GetFeature
    deprecated: bool
    deprecation: str  # the message for @deprecated(...), as a Python string literal
    request_type: str  # route_guide_pb2.Point (valid inside the rendered module)
    response_type: str  # route_guide_pb2.Feature
    # The same classes as run-time expressions: they differ for a message whose name is a
    # Python keyword (`_r_None` in the stubs, `getattr(x_pb2, "None")` at run time).
    request_class: str
    response_class: str
    docstring: str  # a docstring statement indented for a method body, or ""
    sync_wrapper: str  # name of the runtime function wrapping a sync behaviour
    async_wrapper: str  # name of the runtime function wrapping an asyncio behaviour
    # Whole lines (indented, no newline) that may need wrapping to the line length:
    async_context_param: str  # `context: grpc.aio.ServicerContext[Req, Resp],`
    sync_request_iterator_param: str  # `request_iterator: Iterator[Req],`
    async_request_iterator_param: str  # `request_iterator: AsyncIterator[Req],`
    async_requests_param: str  # `requests: AsyncIterable[Req] | Iterable[Req],`
    sync_unimplemented: str  # `_rt.unimplemented(context, "Service.Method")`
    async_unimplemented: str  # `await _rt.unimplemented_async(...)` or `return ..._stream(...)`


@dataclass(frozen=True)
class ServiceView:
    name: str
    full_name: str
    deprecated: bool
    docstring: str  # indented for a class body, or ""
    servicer_class: str
    async_servicer_class: str
    client_class: str
    async_client_class: str
    register_function: str
    async_register_function: str
    impl_class: str
    methods: tuple[MethodView, ...]
    # `DESCRIPTOR: ClassVar[ServiceDescriptor] = x_pb2.DESCRIPTOR.services_by_name["S"]`, the
    # service's descriptor as a class attribute of the servicer bases ("" in the scaffold).
    descriptor: str


@dataclass(frozen=True)
class ImportBlock:
    """Import lines in isort/ruff order, one list per section (stdlib, third party, local)."""

    stdlib: tuple[str, ...]
    third_party: tuple[str, ...]
    local: tuple[str, ...]


def render_files(
    contract: Contract, config: Config, layout: Layout
) -> dict[Path, tuple[str, bool]]:
    """Every rendered file: absolute path -> (text, user_owned). A broken (user) template is a
    user error that names the template file and line."""
    try:
        return _render_files(contract, config, layout)
    except Exception as error:
        raise _reported(error, config.templates_dir) from None


def _reported(error: Exception, templates_dir: Path | None) -> Exception:
    """What a rendering failure is reported as: a Jinja error (syntax, undefined name) in any
    template, or any exception a *user's* template raised (`{{ 1 // 0 }}`, a filter applied to
    the wrong type), is the user's to fix: a ProtoforgeError naming the template's file and
    line. An exception raised inside a built-in template is a bug and stays as it is."""
    import jinja2

    if isinstance(error, jinja2.TemplateSyntaxError):
        return _template_error(error, error.filename or error.name, error.lineno)
    filename, line = _template_location(error)
    if isinstance(error, jinja2.TemplateError):
        return _template_error(error, filename, line)
    if filename is not None and templates_dir is not None and _inside(filename, templates_dir):
        return _template_error(error, filename, line, f"{type(error).__name__}: {error}")
    return error


def _inside(filename: str, directory: Path) -> bool:
    return Path(filename).resolve().is_relative_to(directory.resolve())


def _template_error(
    error: Exception, filename: str | None, line: int, message: str | None = None
) -> ProtoforgeError:
    from protoforge.paths import display_path

    where = display_path(Path(filename)) if filename else "template"
    return ProtoforgeError(
        "a template failed to render",
        diagnostics=(Diagnostic(where, line, 0, "error", message or str(error)),),
        hint="templates see only the context listed in docs/templates.md",
    )


def _template_location(error: BaseException) -> tuple[str | None, int]:
    """The innermost template frame of a rendering error (Jinja compiles templates to Python
    code whose frames carry the template's file name)."""
    found: tuple[str | None, int] = (None, 0)
    traceback = error.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith(".jinja"):
            found = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


def _render_files(
    contract: Contract, config: Config, layout: Layout
) -> dict[Path, tuple[str, bool]]:
    env = environment(config.templates_dir)
    out: dict[Path, tuple[str, bool]] = {}
    runtimes: set[str] = set()
    for proto_file in contract.service_files:
        out.update(_render_service_file(env, proto_file, config, layout))
        runtimes.add(naming.runtime_module(layout.package, proto_file.pb2_module))
    out.update(_render_runtimes(env, runtimes, config))
    return sorted_by_path(out)


def render_runtimes(modules: Iterable[str], config: Config) -> dict[Path, str]:
    """The shared runtime modules (they depend on nothing but their own name): the incremental
    generator renders them for every package root with a service, whichever contracts changed."""
    try:
        env = environment(config.templates_dir)
        return {path: text for path, (text, _) in _render_runtimes(env, modules, config).items()}
    except Exception as error:
        raise _reported(error, config.templates_dir) from None


def _render_service_file(
    env: jinja2.Environment, proto_file: ProtoFile, config: Config, layout: Layout
) -> dict[Path, tuple[str, bool]]:
    runtime = naming.runtime_module(layout.package, proto_file.pb2_module)
    out: dict[Path, tuple[str, bool]] = {}
    for module, template in (
        (proto_file.server_module, SERVER_TEMPLATE),
        (proto_file.client_module, CLIENT_TEMPLATE),
    ):
        context = module_context(proto_file, module, runtime, config)
        path = config.out / naming.module_to_path(module)
        out[path] = (env.get_template(template).render(context), False)
    impl_dir = config.impl_out or config.project_dir
    impl_path = impl_dir / naming.module_to_path(proto_file.impl_module)
    out[impl_path] = (
        env.get_template(IMPL_TEMPLATE).render(impl_context(proto_file, runtime)),
        True,
    )
    return out


def _render_runtimes(
    env: jinja2.Environment, modules: Iterable[str], config: Config
) -> dict[Path, tuple[str, bool]]:
    out: dict[Path, tuple[str, bool]] = {}
    for runtime in sorted(set(modules)):
        text = env.get_template(RUNTIME_TEMPLATE).render(header=header(None), module=runtime)
        out[config.out / naming.module_to_path(runtime)] = (text, False)
    return out


# --- names the generated code takes ---------------------------------------------------------

_PROBE = "pfprobe"  # a name no template uses: what contains it came from the probe contract


@functools.lru_cache(maxsize=8)
def reserved_names(config: Config) -> frozenset[str]:
    """Every name that the generated server, client and scaffold modules define or refer to,
    apart from the per-RPC ones: class attributes and methods, instance attributes, module-level
    names, and the free names their code reads (`grpc`, `type`, `Iterator`, …). An RPC's Python
    method must be none of them (naming.method_names). Derived from a rendering of a probe
    contract with the templates in use, so a user's template is covered as well as ours."""

    probe = _probe_file()
    env = environment(config.templates_dir)
    runtime = naming.runtime_module(None, probe.pb2_module)
    try:
        texts = [
            env.get_template(template).render(module_context(probe, module, runtime, config))
            for module, template in (
                (probe.server_module, SERVER_TEMPLATE),
                (probe.client_module, CLIENT_TEMPLATE),
            )
        ]
        texts.append(env.get_template(IMPL_TEMPLATE).render(impl_context(probe, runtime)))
    except Exception as error:
        raise _reported(error, config.templates_dir) from None
    names: set[str] = set()
    for text in texts:
        try:
            names |= _names_taken(ast.parse(text))
        except SyntaxError:
            continue  # a broken user template: rendering the real contract reports it
    return frozenset(name for name in names if _PROBE not in name.lower())


def _probe_file() -> ProtoFile:
    """A contract with one method of each streaming kind, deprecated (so that every optional
    part of the templates is rendered)."""
    name = f"{_PROBE}/v1/{_PROBE}.proto"
    message = MessageRef(
        f"{_PROBE}.v1.Msg{_PROBE}", name, f"{_PROBE}.v1.{_PROBE}_pb2", f"Msg{_PROBE}", True
    )
    methods = tuple(
        Method(
            name=f"M{_PROBE}{index}",
            python_name=f"m{_PROBE}{index}",
            kind=kind,
            input=message,
            output=message,
            path=f"/{_PROBE}.v1.S{_PROBE}/M{_PROBE}{index}",
            comments="",
            deprecated=True,
        )
        for index, kind in enumerate(StreamingKind)
    )
    service = f"S{_PROBE}"
    return ProtoFile(
        name=name,
        package=f"{_PROBE}.v1",
        pb2_module=naming.pb2_module(name),
        server_module=naming.server_module(name),
        client_module=naming.client_module(name),
        impl_module=naming.impl_module(name),
        services=(
            Service(
                name=service,
                full_name=f"{_PROBE}.v1.{service}",
                comments="",
                deprecated=True,
                methods=methods,
                servicer_class=naming.servicer_class(service, asyncio=False),
                async_servicer_class=naming.servicer_class(service, asyncio=True),
                client_class=naming.client_class(service, asyncio=False),
                async_client_class=naming.client_class(service, asyncio=True),
                register_function=naming.register_function(service, asyncio=False),
                async_register_function=naming.register_function(service, asyncio=True),
                impl_class=naming.impl_class(service),
            ),
        ),
    )


def _names_taken(tree: ast.Module) -> set[str]:
    """Names an RPC method or a generated class would hide, or be hidden by: module-level
    definitions and imports, class-body definitions, `self.X` attributes, and every name read
    in a class scope (signatures' annotations, defaults and decorators are evaluated there, so
    a method `type` would replace the builtin in `type[BaseException]`). Reads inside method
    bodies skip the class scope and are not affected."""
    taken: set[str] = set()
    for statement in tree.body:
        taken |= _defined(statement)
        if isinstance(statement, ast.ClassDef):
            for member in statement.body:
                taken |= _defined(member)
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    taken |= _signature_reads(member)
                    taken |= _self_attributes(member)
                else:
                    taken |= _reads(member)
    return taken


def _defined(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    targets: list[ast.expr] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    return {target.id for target in targets if isinstance(target, ast.Name)}


def _signature_reads(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    arguments = function.args
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    outer: list[ast.expr | None] = [a.annotation for a in every]
    outer += [*arguments.defaults, *arguments.kw_defaults, function.returns]
    outer += function.decorator_list
    return {name for expression in outer if expression is not None for name in _reads(expression)}


def _self_attributes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {
        node.attr
        for node in ast.walk(function)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
    }


def _reads(node: ast.AST) -> set[str]:
    return {
        name.id
        for name in ast.walk(node)
        if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Load)
    }


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
    kinds = {m.kind for s in proto_file.services for m in s.methods}
    any_deprecated = any(m.deprecated for s in services for m in s.methods) or any(
        s.deprecated for s in services
    )
    stdlib: dict[str, set[str]] = {}
    if is_client:
        stdlib.setdefault("collections.abc", set()).add("Sequence")
        stdlib.setdefault("types", set()).add("TracebackType")
        stdlib.setdefault("typing", set()).update({"Any", "Self"})
        if any(k.request_streaming for k in kinds):
            stdlib["collections.abc"].update({"AsyncIterable", "Iterable"})
    else:
        stdlib.setdefault("typing", set()).add("ClassVar")
        descriptor_import = "from google.protobuf.descriptor import ServiceDescriptor"
        if any(k.request_streaming or k.response_streaming for k in kinds):
            stdlib.setdefault("collections.abc", set()).update({"AsyncIterator", "Iterator"})
    if any(
        "getattr(" in expr
        for s in services
        for m in s.methods
        for expr in (m.request_class, m.response_class)
    ):
        stdlib.setdefault("typing", set()).add("cast")
    plain = ["sys"] if is_client and any_deprecated else []
    external = {ref.module for ref in proto_file.messages if not ref.local}
    imports = ImportBlock(
        stdlib=tuple(_import_lines(plain, stdlib)),
        third_party=_isort_section(
            [
                "import grpc",
                *_absolute_imports((m, a) for m, a in aliases.items() if m in external),
                *([] if is_client else [descriptor_import]),
            ]
        ),
        local=tuple(
            _local_imports(module, runtime, {m: a for m, a in aliases.items() if m not in external})
        ),
    )
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
        "header": header(proto_file.name),
        "module": module,
        "file": proto_file,
        "module_docstring": _module_docstring(proto_file, is_client),
        "imports": imports,
        "services": services,
        "uses_deprecated": is_client and any_deprecated,
        "default_timeout": repr(config.client.timeout),
        "service_config": py_literal(service_config),
    }


def impl_context(proto_file: ProtoFile, runtime: str) -> dict[str, Any]:
    """The context of impl.py.jinja: absolute imports (the module lives outside `out`)."""
    server_name = proto_file.server_module.rsplit(".", 1)[-1]
    taken = frozenset({server_name, "grpc", "sys"})
    aliases = _module_aliases(proto_file, taken)
    services = tuple(_service_view(s, aliases, None) for s in proto_file.services)
    kinds = {m.kind for s in proto_file.services for m in s.methods}
    stdlib: dict[str, set[str]] = {}
    if any(k.request_streaming or k.response_streaming for k in kinds):
        stdlib["collections.abc"] = {"Iterator"}
    external = {ref.module for ref in proto_file.messages if not ref.local}
    targets = [(proto_file.server_module, server_name), (runtime, "runtime")]
    targets += [(m, a) for m, a in aliases.items() if m not in external]
    return {
        "header": f"# Implementation of {proto_file.name}: created once by protoforge; yours.\n",
        "file": proto_file,
        "server_module": server_name,
        "runtime_module": runtime,
        "imports": ImportBlock(
            stdlib=tuple(_import_lines(["sys"], stdlib)),
            third_party=(
                "import grpc",
                *_absolute_imports((m, a) for m, a in aliases.items() if m in external),
            ),
            local=tuple(_absolute_imports(targets)),
        ),
        "services": services,
        "module_docstring": docstring(
            f"Your implementation of the services in {proto_file.name}.\n\n"
            "protoforge created this file once and never overwrites it. Run the server with\n"
            f"`python -m {proto_file.impl_module} [ADDRESS]` (default {DEFAULT_ADDRESS}),\n"
            "with the generated package on PYTHONPATH.",
            0,
        ),
    }


DEFAULT_ADDRESS = "[::]:50051"


def _service_view(
    service: Service, aliases: dict[str, str], declaring_module: str | None
) -> ServiceView:
    descriptor = ""
    if declaring_module is not None:
        descriptor = fit(
            4,
            "DESCRIPTOR: ClassVar[ServiceDescriptor] = "
            f"{aliases[declaring_module]}.DESCRIPTOR.services_by_name[",
            [json.dumps(service.name)],
            "]",
        )
    return ServiceView(
        descriptor=descriptor,
        name=service.name,
        full_name=service.full_name,
        deprecated=service.deprecated,
        docstring=docstring(service.comments, 4),
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
    unary = not method.kind.response_streaming
    request, response = _type_expr(method.input, aliases), _type_expr(method.output, aliases)
    request_class = _runtime_expr(method.input, aliases)
    response_class = _runtime_expr(method.output, aliases)
    label = json.dumps(f"{service.name}.{method.name}")
    return MethodView(
        name=method.name,
        python_name=method.python_name,
        kind=method.kind,
        path=method.path,
        deprecated=method.deprecated,
        deprecation=json.dumps(f"{service.name}.{method.name} is deprecated in the contract"),
        request_type=request,
        response_type=response,
        request_class=request_class,
        response_class=response_class,
        docstring=docstring(method.comments, 8),
        sync_wrapper="sync_unary_response" if unary else "sync_stream_response",
        async_wrapper="async_unary_response" if unary else "async_stream_response",
        async_context_param=fit(8, "context: grpc.aio.ServicerContext[", [request, response], "],"),
        sync_request_iterator_param=fit(8, "request_iterator: Iterator[", [request], "],"),
        async_request_iterator_param=fit(8, "request_iterator: AsyncIterator[", [request], "],"),
        async_requests_param=fit_union(
            8, "requests: ", [f"AsyncIterable[{request}]", f"Iterable[{request}]"], ","
        ),
        sync_unimplemented=fit(8, "_rt.unimplemented(", ["context", label], ")"),
        async_unimplemented=fit(
            8,
            "await _rt.unimplemented_async(" if unary else "return _rt.unimplemented_stream(",
            ["context", label],
            ")",
        ),
    )


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


def _import_lines(plain: Iterable[str], from_imports: dict[str, set[str]]) -> list[str]:
    """Straight imports first, then from-imports, each sorted (ruff's isort defaults)."""
    lines = [f"import {module}" for module in sorted(plain)]
    for module in sorted(from_imports):
        names = sorted(from_imports[module], key=_member_key)
        lines.append(f"from {module} import {', '.join(names)}")
    return lines


def _member_key(name: str) -> tuple[int, str]:
    # isort's order-by-type: CONSTANTS, then Classes, then everything else.
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _local_imports(module: str, runtime: str, aliases: dict[str, str]) -> list[str]:
    """Relative imports where possible (they sort the same for every isort configuration),
    furthest package first; absolute ones (another top-level package) before them."""
    absolute: list[str] = []
    relative: dict[str, list[str]] = {}
    targets = [(runtime, "_rt"), *sorted(aliases.items())]
    for target, alias in targets:
        parts = naming.relative_import(module, target)
        if parts is None:
            absolute.append(f"import {target} as {alias}")
            continue
        base, name = parts
        relative.setdefault(base, []).append(name if name == alias else f"{name} as {alias}")
    lines = sorted(absolute)
    for base in sorted(relative, key=lambda b: (-(len(b) - len(b.lstrip("."))), b)):
        plain = sorted(n for n in relative[base] if " as " not in n)
        if plain:
            lines.append(f"from {base} import {', '.join(plain)}")
        for aliased in sorted(n for n in relative[base] if " as " in n):
            lines.append(f"from {base} import {aliased}")
    return lines


def _isort_section(lines: Iterable[str]) -> tuple[str, ...]:
    """One import section as ruff's isort orders it: `import x` lines, then `from x import y`
    lines, each by module name."""

    def key(line: str) -> tuple[bool, str, str]:
        words = line.split()
        return (words[0] == "from", words[1].lower(), line)

    return tuple(sorted(lines, key=key))


def _absolute_imports(targets: Iterable[tuple[str, str]]) -> list[str]:
    """`import m as a` for top-level modules, then `from p import n[, …]` grouped by `p`."""
    plain: list[str] = []
    grouped: dict[str, list[str]] = {}
    for module, alias in targets:
        if "." not in module:
            plain.append(f"import {module}" + (f" as {alias}" if alias != module else ""))
            continue
        parent, name = module.rsplit(".", 1)
        grouped.setdefault(parent, []).append(name if name == alias else f"{name} as {alias}")
    lines = sorted(plain)
    for parent in sorted(grouped):
        names = sorted(n for n in grouped[parent] if " as " not in n)
        if names:
            lines.append(f"from {parent} import {', '.join(names)}")
        lines += [f"from {parent} import {n}" for n in sorted(grouped[parent]) if " as " in n]
    return lines


def _module_docstring(proto_file: ProtoFile, is_client: bool) -> str:
    names = ", ".join(s.name for s in proto_file.services)
    if is_client:
        text = (
            f"Typed gRPC clients (sync and asyncio) for {names}.\n\n"
            "Failed calls raise the `GrpcError` subclasses of the generated runtime module."
        )
    else:
        text = (
            f"Servicer bases (sync and asyncio) for {names}.\n\n"
            "Subclass a base, override its methods (each defaults to UNIMPLEMENTED) and run it\n"
            "with the runtime's `serve` / `serve_async`, or register it with the matching\n"
            "`add_..._to_server` function."
        )
    return docstring(text, 0)


# --- Python source helpers -------------------------------------------------------------------


def docstring(text: str, indent: int) -> str:
    """A docstring statement, indented, formatted the way `ruff format` formats it, and wrapped
    to the line length. "" for no text."""
    if not text.strip():
        return ""
    pad = " " * indent
    width = LINE_LENGTH - indent
    lines: list[str] = []
    for raw in text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').split("\n"):
        line = raw.rstrip()
        if len(line) + 6 > width and line.strip():
            lead = line[: len(line) - len(line.lstrip())]
            lines += textwrap.wrap(
                line,
                width=width - 6,
                subsequent_indent=lead,
                break_long_words=False,
                break_on_hyphens=False,
            )
        else:
            lines.append(line)
    if lines[-1].endswith('"'):
        lines[-1] += " "
    if len(lines) == 1:
        return f'{pad}"""{lines[0]}"""\n'
    body = "\n".join(f"{pad}{line}" if line else "" for line in lines[1:])
    return f'{pad}"""{lines[0]}\n{body}\n{pad}"""\n'


def fit(indent: int, head: str, items: list[str], tail: str) -> str:
    """`head` + comma-separated `items` + `tail` as `ruff format` lays out a bracketed sequence
    at LINE_LENGTH: on one line; else the items together on one indented line; else one item
    per line with a trailing comma."""
    pad, inner = " " * indent, " " * (indent + 4)
    joined = ", ".join(items)
    if len(pad) + len(head) + len(joined) + len(tail) <= LINE_LENGTH:
        return f"{pad}{head}{joined}{tail}"
    if len(inner) + len(joined) <= LINE_LENGTH:
        return f"{pad}{head}\n{inner}{joined}\n{pad}{tail}"
    exploded = "".join(f"{inner}{item},\n" for item in items)
    return f"{pad}{head}\n{exploded}{pad}{tail}"


def fit_union(indent: int, head: str, members: list[str], tail: str) -> str:
    """An annotation `A | B` as `ruff format` splits it when too long: one member per line."""
    pad = " " * indent
    line = f"{pad}{head}{' | '.join(members)}{tail}"
    if len(line) <= LINE_LENGTH:
        return line
    rest = "".join(f"\n{pad}| {member}" for member in members[1:])
    return f"{pad}{head}{members[0]}{rest}{tail}"


def py_literal(value: Any, indent: int = 0) -> str:
    """A Python literal for JSON-like data, in the exploded style `ruff format` keeps (one item
    per line, magic trailing comma), so that it never depends on line length."""
    pad = " " * (indent + 4)
    if isinstance(value, dict) and value:
        items = "".join(
            f"{pad}{json.dumps(key)}: {py_literal(item, indent + 4)},\n"
            for key, item in value.items()
        )
        return "{\n" + items + " " * indent + "}"
    if isinstance(value, list | tuple) and value:
        items = "".join(f"{pad}{py_literal(item, indent + 4)},\n" for item in value)
        return "[\n" + items + " " * indent + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)
