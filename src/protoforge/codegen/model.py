"""model: the intermediate representation between protoc's descriptors and the templates.

    FileDescriptorSet --(index by full name)--> {".pkg.Msg": MessageRef}
                      --(resolve)-----------> Contract -> ProtoFile -> Service -> Method

Frozen dataclasses only. Every Python name here (modules, classes, methods) comes from `naming`,
and every module name respects the output `Layout` (the `package` prefix), so templates never
see a descriptor and never compute a name; they loop and branch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from protoforge import naming
from protoforge.codegen.layout import Layout
from protoforge.codegen.rules import VALIDATE_PROTO, messages_with_rules
from protoforge.errors import Diagnostic, NamingError, ProtoforgeError
from protoforge.source.descriptors import FILE_SERVICE, SERVICE_METHOD, clean_comment, file_messages

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto


class StreamingKind(Enum):
    """The four shapes of an RPC, as one table instead of two booleans scattered around.

    Columns: label (also the name of grpc's `Channel.<label>` and `<label>_rpc_method_handler`),
    whether the client sends a stream, whether the server sends a stream."""

    UNARY_UNARY = ("unary_unary", False, False)
    UNARY_STREAM = ("unary_stream", False, True)
    STREAM_UNARY = ("stream_unary", True, False)
    STREAM_STREAM = ("stream_stream", True, True)

    label: str
    request_streaming: bool
    response_streaming: bool

    def __init__(self, label: str, request_streaming: bool, response_streaming: bool) -> None:
        self.label = label
        self.request_streaming = request_streaming
        self.response_streaming = response_streaming

    @classmethod
    def of(cls, *, client_streaming: bool, server_streaming: bool) -> StreamingKind:
        for kind in cls:
            if (kind.request_streaming, kind.response_streaming) == (
                client_streaming,
                server_streaming,
            ):
                return kind
        raise AssertionError("unreachable: the table covers all four combinations")

    @property
    def channel_method(self) -> str:
        """`grpc.Channel.unary_stream` etc."""
        return self.label

    @property
    def handler_factory(self) -> str:
        """`grpc.unary_stream_rpc_method_handler` etc."""
        return f"{self.label}_rpc_method_handler"


@dataclass(frozen=True)
class MessageRef:
    """A message type as Python code refers to it: `module` is importable (layout applied) and
    `qualname` is the class inside it (`Feature.Tags` for a nested message)."""

    full_name: str  # routeguide.v1.Feature.Tags (no leading dot)
    proto_file: str  # the contract that declares it
    module: str  # rg_api.routeguide.v1.route_guide_pb2
    qualname: str  # Feature.Tags
    local: bool  # generated in this tree (False: provided by the protobuf runtime or a package)

    @property
    def stub_qualname(self) -> str:
        """The class as the typed stubs spell it: mypy-protobuf prefixes names that are Python
        keywords with `_r_` (a message `None` is `_r_None` in the `.pyi`; at run time it exists
        only as `getattr(module, "None")`)."""
        return ".".join(naming.stub_name(part) for part in self.qualname.split("."))


@dataclass(frozen=True)
class Method:
    name: str  # GetFeature (as in the contract)
    python_name: str  # get_feature (naming.method_name, unique within the service)
    kind: StreamingKind
    input: MessageRef
    output: MessageRef
    path: str  # /routeguide.v1.RouteGuide/GetFeature (the HTTP/2 path gRPC calls)
    comments: str  # leading comments from the contract, dedented; "" if none
    deprecated: bool
    # the input carries protovalidate rules (codegen/rules.py): servers validate each request
    validated: bool = False


@dataclass(frozen=True)
class Service:
    name: str  # RouteGuide
    full_name: str  # routeguide.v1.RouteGuide
    comments: str
    deprecated: bool
    methods: tuple[Method, ...]
    servicer_class: str  # RouteGuideServicer
    async_servicer_class: str  # AsyncRouteGuideServicer
    client_class: str  # RouteGuideClient
    async_client_class: str  # AsyncRouteGuideClient
    register_function: str  # add_route_guide_servicer_to_server
    async_register_function: str  # add_async_route_guide_servicer_to_server
    impl_class: str  # RouteGuide (the user's class in the scaffold)

    @property
    def kinds(self) -> frozenset[StreamingKind]:
        return frozenset(method.kind for method in self.methods)

    @property
    def validated(self) -> bool:
        return any(method.validated for method in self.methods)


@dataclass(frozen=True)
class ProtoFile:
    name: str  # routeguide/v1/route_guide.proto (import path)
    package: str  # routeguide.v1 (proto package)
    pb2_module: str  # rg_api.routeguide.v1.route_guide_pb2 (layout applied)
    server_module: str  # rg_api.routeguide.v1.route_guide_pf_server
    client_module: str  # rg_api.routeguide.v1.route_guide_pf_client
    impl_module: str  # routeguide_v1_route_guide_impl (top level, below impl_out)
    services: tuple[Service, ...]

    @property
    def methods(self) -> Iterator[Method]:
        for service in self.services:
            yield from service.methods

    @property
    def validated(self) -> bool:
        """Some method's input carries protovalidate rules."""
        return any(service.validated for service in self.services)

    @property
    def messages(self) -> tuple[MessageRef, ...]:
        """Every message type the services use, sorted by full name, each once."""
        refs = {ref.full_name: ref for m in self.methods for ref in (m.input, m.output)}
        return tuple(refs[name] for name in sorted(refs))


@dataclass(frozen=True)
class Contract:
    """All contracts of one `gen` run, sorted by import path."""

    files: tuple[ProtoFile, ...]

    @property
    def service_files(self) -> tuple[ProtoFile, ...]:
        return tuple(f for f in self.files if f.services)


def build_contract(
    descriptor_set: bytes | Iterable[FileDescriptorProto],
    contracts: Collection[str],
    layout: Layout,
    *,
    only: Collection[str] | None = None,
    reserved: frozenset[str] = frozenset(),
    display: Callable[[str], str] = str,
) -> Contract:
    """The model of the contracts named in `contracts` (import paths), from a serialized
    FileDescriptorSet or its already parsed files. Dependencies outside that set (the well-known
    types) are only indexed, so that messages from them can be referenced. With `only`, just
    those contracts are built (incremental gen); `contracts` must still name every contract,
    because it decides which modules live under the package prefix. `reserved` holds the names
    the generated classes define or use (codegen.reserved): no RPC may take one. Names
    that would clash are a NamingError located with `display(import path)`."""
    from google.protobuf import descriptor_pb2

    if isinstance(descriptor_set, bytes):
        files: Iterable[FileDescriptorProto] = (
            descriptor_pb2.FileDescriptorSet.FromString(descriptor_set).file
            if descriptor_set
            else []
        )
    else:
        files = list(descriptor_set)
    local = frozenset(contracts)
    files = list(files)
    index = _index_messages(files, local, layout)
    wanted = local if only is None else local & frozenset(only)
    # Only trees that import protovalidate can carry rules: the others skip the options scan.
    ruled = (
        messages_with_rules(files)
        if any(VALIDATE_PROTO in f.dependency for f in files)
        else frozenset()
    )
    built = [
        _build_file(f, index, layout, reserved, display, ruled) for f in files if f.name in wanted
    ]
    return Contract(tuple(sorted(built, key=lambda f: f.name)))


# --- pass 1: index -------------------------------------------------------------------------


def _index_messages(
    files: Iterable[FileDescriptorProto], local: frozenset[str], layout: Layout
) -> dict[str, MessageRef]:
    index: dict[str, MessageRef] = {}
    for proto_file in files:
        module = naming.pb2_module(proto_file.name)
        if proto_file.name in local:
            module = layout.module(module)
        for full_name, qualname, _ in file_messages(proto_file):
            index[f".{full_name}"] = MessageRef(
                full_name, proto_file.name, module, qualname, proto_file.name in local
            )
    return index


# --- pass 2: resolve -----------------------------------------------------------------------


def _build_file(
    proto_file: FileDescriptorProto,
    index: dict[str, MessageRef],
    layout: Layout,
    reserved: frozenset[str],
    display: Callable[[str], str],
    ruled: frozenset[str],
) -> ProtoFile:
    # Only services and methods carry comments into the model: skip the (costly) walk over the
    # source locations of files that declare none, most files of a big tree.
    sources = _sources_by_path(proto_file, display) if proto_file.service else {}
    services = tuple(
        _build_service(proto_file, number, service, index, sources, reserved, display, ruled)
        for number, service in enumerate(proto_file.service)
    )
    _check_distinct_services(proto_file, services, reserved, sources, display)
    name = proto_file.name
    return ProtoFile(
        name=name,
        package=proto_file.package,
        pb2_module=layout.module(naming.pb2_module(name)),
        server_module=layout.module(naming.server_module(name)),
        client_module=layout.module(naming.client_module(name)),
        impl_module=naming.impl_module(name),
        services=services,
    )


def _build_service(
    proto_file: FileDescriptorProto,
    number: int,
    service: Any,
    index: dict[str, MessageRef],
    sources: dict[tuple[int, ...], _Source],
    reserved: frozenset[str],
    display: Callable[[str], str],
    ruled: frozenset[str],
) -> Service:
    full_name = f"{proto_file.package}.{service.name}" if proto_file.package else service.name
    # Names of modules the generated module imports are in its class scopes too.
    used_modules = {
        part
        for method in service.method
        for type_name in (method.input_type, method.output_type)
        for part in _alias_candidates(index[type_name].module)
    }
    try:
        python_names = naming.method_names(
            [m.name for m in service.method], reserved | frozenset(used_modules)
        )
    except naming.NameClash as clash:
        numbers = {m.name: i for i, m in enumerate(service.method)}
        raise _clash_error(
            proto_file,
            (FILE_SERVICE, number, SERVICE_METHOD, numbers[clash.second]),
            sources,
            display,
            f"RPC {clash.first} of {full_name} {clash.reason}"
            if clash.reason
            else f"RPCs {clash.first} and {clash.second} of {full_name} would both become the "
            f"Python method {clash.python}",
            "rename one of the RPCs (their Python names must differ in snake_case)",
        ) from None
    comments = {path: source.comments for path, source in sources.items()}
    methods: list[Method] = []
    for method_number, method in enumerate(service.method):
        python_name = python_names[method.name]
        methods.append(
            Method(
                name=method.name,
                python_name=python_name,
                kind=StreamingKind.of(
                    client_streaming=method.client_streaming,
                    server_streaming=method.server_streaming,
                ),
                input=index[method.input_type],
                output=index[method.output_type],
                path=f"/{full_name}/{method.name}",
                comments=comments.get((FILE_SERVICE, number, SERVICE_METHOD, method_number), ""),
                deprecated=method.options.deprecated,
                validated=method.input_type in ruled,
            )
        )
    return Service(
        name=service.name,
        full_name=full_name,
        comments=comments.get((FILE_SERVICE, number), ""),
        deprecated=service.options.deprecated,
        methods=tuple(methods),
        servicer_class=naming.servicer_class(service.name, asyncio=False),
        async_servicer_class=naming.servicer_class(service.name, asyncio=True),
        client_class=naming.client_class(service.name, asyncio=False),
        async_client_class=naming.client_class(service.name, asyncio=True),
        register_function=naming.register_function(service.name, asyncio=False),
        async_register_function=naming.register_function(service.name, asyncio=True),
        impl_class=naming.impl_class(service.name, reserved),
    )


def _alias_candidates(module: str) -> tuple[str, str]:
    """The local names a generated module may import `module` under (naming.module_alias)."""
    return module.rsplit(".", 1)[-1], module.replace(".", "_")


def _check_distinct_services(
    proto_file: FileDescriptorProto,
    services: tuple[Service, ...],
    reserved: frozenset[str],
    sources: dict[tuple[int, ...], _Source],
    display: Callable[[str], str],
) -> None:
    """Module-level names of the generated modules (classes, register functions, the
    scaffold's class) must be distinct within a file and not hide a name the module uses."""
    owners: dict[str, str] = {}
    for number, service in enumerate(services):
        names = (
            service.servicer_class,
            service.async_servicer_class,
            service.client_class,
            service.async_client_class,
            service.register_function,
            service.async_register_function,
            service.impl_class,
        )
        for name in names:
            if name in owners:
                other = f"service {owners[name]}"
            elif name in reserved:
                other = "the generated code"
            else:
                owners[name] = service.name
                continue
            raise _clash_error(
                proto_file,
                (FILE_SERVICE, number),
                sources,
                display,
                f"service {service.full_name} would define {name!r}, which {other} "
                "also defines or uses",
                "rename the service",
            )


def _clash_error(
    proto_file: FileDescriptorProto,
    path: tuple[int, ...],
    sources: dict[tuple[int, ...], _Source],
    display: Callable[[str], str],
    message: str,
    hint: str,
) -> NamingError:
    source = sources.get(path)
    line, column = (source.line, source.column) if source else (0, 0)
    return NamingError(
        "a name in the contract cannot become a distinct Python name",
        diagnostics=(Diagnostic(display(proto_file.name), line, column, "error", message),),
        hint=hint,
    )


@dataclass(frozen=True)
class _Source:
    line: int  # 1-based, as editors and protoc count
    column: int
    comments: str


def _sources_by_path(
    proto_file: FileDescriptorProto, display: Callable[[str], str]
) -> dict[tuple[int, ...], _Source]:
    """Where each service and method is declared, and its comments."""
    found: dict[tuple[int, ...], _Source] = {}
    for location in proto_file.source_code_info.location:
        path = location.path
        if len(path) in (2, 4) and path[0] == FILE_SERVICE:
            raw = location.leading_comments or location.trailing_comments
            if isinstance(raw, bytes):  # protobuf hands back the bytes when they are not UTF-8
                raise _not_utf8(display(proto_file.name), location, raw)
            text = clean_comment(raw)
            span = location.span
            found[tuple(path)] = _Source(span[0] + 1, span[1] + 1, text)
    return found


def _not_utf8(name: str, location: Any, raw: bytes) -> ProtoforgeError:
    """A service or method comment that is not UTF-8 (it would end up in a docstring): the
    user's file to fix, located at the offending line (a leading comment ends on the line
    before the element, a trailing one starts on its line)."""
    try:
        raw.decode("utf-8")
        bad = 0
    except UnicodeDecodeError as error:
        bad = error.start
    element_line = location.span[0] + 1
    if location.leading_comments:
        line = element_line - raw.count(b"\n") + raw[:bad].count(b"\n")
    else:
        line = element_line + raw[:bad].count(b"\n")
    message = f"comment has a byte that is not UTF-8: {raw[bad : bad + 1]!r}"
    return ProtoforgeError(
        "a contract is not valid UTF-8",
        diagnostics=(Diagnostic(name, line, 0, "error", message),),
        hint="save the file as UTF-8 (comments become docstrings in the generated code)",
    )
