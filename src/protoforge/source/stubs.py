"""mypy-protobuf's typed stubs from a protoc shard's descriptors:

    python -m protoforge.source.stubs stubs-from-set NAMES_FILE OUT_ZIP < descriptors.binpb

protoforge does not run mypy-protobuf as a protoc plugin: this builds the plugin request from the
FileDescriptorSet a protoc shard wrote, after that protoc has exited. That keeps protoc's and the
plugin's memory from adding up, and lets the stubs be generated while protoforge renders servers
and clients from the same descriptors (see compile.py).

Why not mypy-protobuf's own entry points: mypy-protobuf registers its option extensions on
`google.protobuf.FieldOptions` (numbers 1151-1154) before it parses the request. Real contract
trees define their own FieldOptions extensions, some with those very numbers; mypy-protobuf then
decodes somebody else's option as its own and either crashes or emits a wrong cast type. We build
the request before those extensions exist and, when a contract claims one of their numbers, drop
the unknown option fields from FieldOptions (they have no meaning for typed stubs) before handing
the request to mypy-protobuf's generator.
"""

from __future__ import annotations

import sys
import zipfile
from typing import Any

from protoforge.source.descriptors import messages

MYPY_PROTOBUF_FIELD_OPTION_NUMBERS = frozenset({1151, 1152, 1153, 1154})
_FIELD_OPTIONS = ".google.protobuf.FieldOptions"


def _claims_mypy_numbers(request: Any) -> bool:
    for proto_file in request.proto_file:
        if proto_file.package == "mypy_protobuf":
            continue
        extensions = list(proto_file.extension)
        for _, _, message in messages(proto_file.message_type):
            extensions.extend(message.extension)
        for extension in extensions:
            if (
                extension.extendee == _FIELD_OPTIONS
                and extension.number in MYPY_PROTOBUF_FIELD_OPTION_NUMBERS
            ):
                return True
    return False


def _drop_unknown_field_options(request: Any) -> None:
    for proto_file in request.proto_file:
        fields = list(proto_file.extension)
        for _, _, message in messages(proto_file.message_type):
            fields.extend(message.field)
            fields.extend(message.extension)
        for field in fields:
            if field.HasField("options"):
                field.options.DiscardUnknownFields()


def request_from_descriptor_set(descriptor_set: bytes, names: list[str], parameter: str) -> bytes:
    """The CodeGeneratorRequest protoc would send a plugin for `names`, built from a
    FileDescriptorSet written with --include_imports --include_source_info (dependencies first,
    source-retention options stripped: the same files a plugin request carries), with colliding
    custom field options removed. Must run before mypy_protobuf is imported: its import registers
    the extensions."""
    from google.protobuf import descriptor_pb2
    from google.protobuf.compiler import plugin_pb2

    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set).file
    request = plugin_pb2.CodeGeneratorRequest(parameter=parameter, file_to_generate=names)
    request.proto_file.extend(files)
    if _claims_mypy_numbers(request):
        _drop_unknown_field_options(request)
    return request.SerializeToString()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "stubs-from-set":
        raise SystemExit("usage: python -m protoforge.source.stubs stubs-from-set NAMES OUT_ZIP")
    with open(args[1], encoding="utf-8") as handle:
        names = handle.read().split()
    request = request_from_descriptor_set(sys.stdin.buffer.read(), names, "quiet")
    _write_archive(args[2], _run_stubs(request))


def _run_stubs(request_data: bytes) -> Any:
    """The CodeGeneratorResponse of both stub kinds for a (cleaned) request. It is parsed again
    after mypy_protobuf's import, so that mypy-protobuf's own options decode as extensions."""
    from google.protobuf.compiler import plugin_pb2
    from mypy_protobuf import main as mypy_protobuf

    request = plugin_pb2.CodeGeneratorRequest.FromString(request_data)
    response = plugin_pb2.CodeGeneratorResponse()
    _both_stubs(mypy_protobuf, request, response)
    return response


def _write_archive(path: str, response: Any) -> None:
    """The response's files into a zip archive, the way protoc writes a `.zip` out path."""
    if response.error:
        raise SystemExit(f"mypy-protobuf: {response.error}")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as bundle:
        for generated in response.file:
            bundle.writestr(generated.name, generated.content)


def _both_stubs(mypy_protobuf: Any, request: Any, response: Any) -> None:
    """`_pb2.pyi` and `_pb2_grpc.pyi` from one plugin run: the same output as mypy-protobuf's two
    plugins, but the request is parsed and indexed once instead of twice (on big trees that is a
    good part of the plugin's time). These internals (GRPCType, the seven-argument generators)
    exist from mypy-protobuf 4.0, the floor in pyproject.toml: 3.7 fails with a TypeError."""
    parameter = request.parameter
    flags = (
        "quiet" in parameter,
        "readable_stubs" in parameter,
        "relax_strict_optional_primitives" in parameter,
        "use_default_deprecation_warnings" in parameter,
        "generate_concrete_servicer_stubs" in parameter,
    )
    descriptors = mypy_protobuf.Descriptors(request)
    mypy_protobuf.generate_mypy_stubs(descriptors, response, *flags)
    grpc_type = mypy_protobuf.GRPCType.from_parameter(parameter)
    mypy_protobuf.generate_mypy_grpc_stubs(descriptors, response, *flags, grpc_type)


if __name__ == "__main__":
    main()
