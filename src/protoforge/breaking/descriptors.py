"""Walk a FileDescriptorSet's declarations together with their SourceCodeInfo locations.

A SourceCodeInfo path is a list of (field number, index) pairs from the FileDescriptorProto down
to the element; the tables below say which field numbers hold declarations, so that comments and
spans can be joined to the element they belong to without touching descriptor internals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto, FileDescriptorSet

# field number in the parent -> kind of the child, per parent kind (descriptor.proto).
_CHILDREN: dict[str, dict[int, str]] = {
    "file": {4: "message", 5: "enum", 6: "service", 7: "extension"},
    "message": {2: "field", 3: "message", 4: "enum", 6: "extension", 8: "oneof"},
    "enum": {2: "enum_value"},
    "service": {2: "rpc"},
}
_PACKAGE = 2  # FileDescriptorProto.package


# NamedTuples, not dataclasses: see RawFinding in buf.py.


class Span(NamedTuple):
    start_line: int  # 1-based
    start_column: int  # 1-based
    end_line: int
    end_column: int

    def contains(self, line: int, column: int) -> bool:
        return (
            (self.start_line, self.start_column)
            <= (line, column)
            <= (
                self.end_line,
                self.end_column,
            )
        )


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
    by_path: dict[tuple[int, ...], Any] = {
        tuple(location.path): location for location in proto_file.source_code_info.location
    }
    package = by_path.get((_PACKAGE,))
    if package is not None:
        yield Declaration(
            proto_file.name,
            "file",
            proto_file.package,
            _span(list(package.span)),
            _comments(package),
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
            yield Declaration(
                file, child_kind, full, _span(list(location.span)), _comments(location)
            )


def elements(
    element: Any, kind: str = "file", path: tuple[int, ...] = (), scope: str | None = None
) -> Iterator[tuple[str, str, Any, tuple[int, ...]]]:
    """(kind, full name, descriptor proto, SourceCodeInfo path) of every declaration below
    `element`, parents before children. Enum values are named `Enum.VALUE` (not protobuf's
    sibling scoping), which reads better in reports."""
    if scope is None:
        scope = element.package if kind == "file" else ""
    for number, child_kind in _CHILDREN.get(kind, {}).items():
        field_name = element.DESCRIPTOR.fields_by_number[number].name
        for index, child in enumerate(getattr(element, field_name)):
            child_path = (*path, number, index)
            full = f"{scope}.{child.name}" if scope else child.name
            yield child_kind, full, child, child_path
            if child_kind in ("message", "enum", "service"):
                yield from elements(child, child_kind, child_path, full)


def _span(span: list[int]) -> Span:
    if len(span) == 3:
        return Span(span[0] + 1, span[1] + 1, span[0] + 1, span[2] + 1)
    if len(span) == 4:
        return Span(span[0] + 1, span[1] + 1, span[2] + 1, span[3] + 1)
    return Span(0, 0, 0, 0)


def _comments(location: Any) -> str:
    return "\n".join(
        part for part in (location.leading_comments, location.trailing_comments) if part
    )


def line_of(proto_file: FileDescriptorProto, path: tuple[int, ...]) -> int:
    for location in proto_file.source_code_info.location:
        if tuple(location.path) == path:
            return int(location.span[0]) + 1
    return 0
