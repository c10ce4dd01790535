"""A FileDescriptorSet's declarations as the breaking reports place them: each with its span
and raw comments (suppressions are read from those). The walk itself is source/descriptors.py's,
shared with gen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from protoforge.source.descriptors import FILE_PACKAGE, Span, elements, locations, span_of

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto, FileDescriptorSet


class Declaration(NamedTuple):
    file: str  # import path
    kind: str  # file (the package statement), message, field, enum, enum_value, service, rpc, ...
    name: str  # full name (for `file`: the package)
    span: Span
    comments: str  # leading + trailing comments


def load_set(data: bytes) -> FileDescriptorSet:
    from google.protobuf import descriptor_pb2

    return descriptor_pb2.FileDescriptorSet.FromString(data)


def declarations(proto_file: FileDescriptorProto) -> Iterator[Declaration]:
    by_path = locations(proto_file)
    package = by_path.get((FILE_PACKAGE,))
    if package is not None:
        yield Declaration(
            proto_file.name, "file", proto_file.package, span_of(package), _comments(package)
        )
    yield from _walk(proto_file, "file", (), proto_file.package, proto_file.name, by_path)


def _walk(
    element: Any,
    kind: str,
    path: tuple[int, ...],
    scope: str,
    file: str,
    by_path: dict[tuple[int, ...], Any],
) -> Iterator[Declaration]:
    for child_kind, full, _, child_path in elements(element, kind, path, scope):
        location = by_path.get(child_path)
        if location is not None:
            yield Declaration(file, child_kind, full, span_of(location), _comments(location))


def _comments(location: Any) -> str:
    return "\n".join(
        part for part in (location.leading_comments, location.trailing_comments) if part
    )


def line_of(proto_file: FileDescriptorProto, path: tuple[int, ...]) -> int:
    for location in proto_file.source_code_info.location:
        if tuple(location.path) == path:
            return int(location.span[0]) + 1
    return 0
