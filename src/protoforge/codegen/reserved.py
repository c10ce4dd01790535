"""Names an RPC's Python method may not take: what the generated modules define or read in a
class scope (from a rendering of a probe contract with the templates in use, a user's included)
and every member of the runtime's base classes (read from the runtime's source)."""

from __future__ import annotations

import ast
import functools

from protoforge import naming, runtime
from protoforge.codegen.generators.services import impl_context, module_context
from protoforge.codegen.model import MessageRef, Method, ProtoFile, Service, StreamingKind
from protoforge.codegen.render import (
    CLIENT_TEMPLATE,
    IMPL_TEMPLATE,
    SERVER_TEMPLATE,
    environment,
    render,
    reported,
)
from protoforge.config import Config

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
    runtime = naming.runtime_module(None)
    try:
        texts = [
            render(env, template, module_context(probe, module, runtime, config))
            for module, template in (
                (probe.server_module, SERVER_TEMPLATE),
                (probe.client_module, CLIENT_TEMPLATE),
            )
        ]
        texts.append(render(env, IMPL_TEMPLATE, impl_context(probe, runtime)))
    except Exception as error:
        raise reported(error, config.templates_dir) from None
    names: set[str] = set()
    for text in texts:
        try:
            names |= _names_taken(ast.parse(text))
        except SyntaxError:
            continue  # a broken user template: rendering the real contract reports it
    names |= base_class_names()
    return frozenset(name for name in names if _PROBE not in name.lower())


@functools.cache
def base_class_names() -> frozenset[str]:
    """Every attribute and method that the runtime's base classes (and their bases inside the
    runtime) define, read from the runtime's source: a generated client or servicer inherits
    them, so no RPC method may take one."""
    classes = runtime.classes()
    names: set[str] = set()
    pending = list(runtime.BASE_CLASSES)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in classes:
            continue
        seen.add(name)
        cls = classes[name]
        pending += [base.id for base in cls.bases if isinstance(base, ast.Name)]
        for member in cls.body:
            names |= _defined(member)
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                names |= _self_attributes(member)
    return frozenset(names)


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
