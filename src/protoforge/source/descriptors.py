"""The one walker over FileDescriptorProto trees: declarations with their full names, the
SourceCodeInfo location of each (span and comments), and the comment cleaner.

A SourceCodeInfo path is a list of (field number, index) pairs from the FileDescriptorProto down
to the element; `CHILDREN` says which field numbers hold declarations (descriptor.proto), so
comments and spans are joined to the element they belong to without descriptor internals.

Two walks, one for each cost: `messages` visits only (nested) messages, which the model's index
needs for every file of a big tree; `elements` visits every declaration with its path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import DescriptorProto, FileDescriptorProto

# Field numbers of FileDescriptorProto, DescriptorProto, ... (descriptor.proto) in paths.
FILE_PACKAGE = 2
FILE_MESSAGE = 4
FILE_ENUM = 5
FILE_SERVICE = 6
FILE_EXTENSION = 7
SERVICE_METHOD = 2

# field number in the parent -> kind of the child, per parent kind.
CHILDREN: dict[str, dict[int, str]] = {
    "file": {
        FILE_MESSAGE: "message",
        FILE_ENUM: "enum",
        FILE_SERVICE: "service",
        FILE_EXTENSION: "extension",
    },
    "message": {2: "field", 3: "message", 4: "enum", 6: "extension", 8: "oneof"},
    "enum": {2: "enum_value"},
    "service": {SERVICE_METHOD: "rpc"},
}

LocationPath = tuple[int, ...]  # a SourceCodeInfo path


def messages(
    message_types: Iterable[DescriptorProto], scope: str = "", outer: str = ""
) -> Iterator[tuple[str, str, DescriptorProto]]:
    """(full name, Python qualname, descriptor) of every message in `message_types` and
    nested in them, parents first. `scope` is the package (`acme.v1`): full names are
    `acme.v1.Outer.Inner`, qualnames `Outer.Inner` (the class path in the `_pb2` module)."""
    for message in message_types:
        qualname = f"{outer}.{message.name}" if outer else message.name
        full_name = f"{scope}.{message.name}" if scope else message.name
        yield full_name, qualname, message
        yield from messages(message.nested_type, full_name, qualname)


def file_messages(proto_file: FileDescriptorProto) -> Iterator[tuple[str, str, DescriptorProto]]:
    """`messages` of a whole file, in its package."""
    return messages(proto_file.message_type, proto_file.package)


def elements(
    element: Any, kind: str = "file", path: LocationPath = (), scope: str | None = None
) -> Iterator[tuple[str, str, Any, LocationPath]]:
    """(kind, full name, descriptor proto, SourceCodeInfo path) of every declaration below
    `element` (a FileDescriptorProto by default), parents before children. Enum values are
    named `Enum.VALUE` (not protobuf's sibling scoping), which reads better in reports."""
    if scope is None:
        scope = element.package if kind == "file" else ""
    for number, child_kind in CHILDREN.get(kind, {}).items():
        field_name = element.DESCRIPTOR.fields_by_number[number].name
        for index, child in enumerate(getattr(element, field_name)):
            child_path = (*path, number, index)
            full = f"{scope}.{child.name}" if scope else child.name
            yield child_kind, full, child, child_path
            if child_kind in ("message", "enum", "service"):
                yield from elements(child, child_kind, child_path, full)


def locations(proto_file: FileDescriptorProto) -> dict[LocationPath, Any]:
    """SourceCodeInfo locations by path (empty without source info)."""
    return {tuple(location.path): location for location in proto_file.source_code_info.location}


class Span(NamedTuple):  # a NamedTuple: check-breaking builds many, and imports this early
    start_line: int  # 1-based, as editors and protoc count
    start_column: int  # 1-based
    end_line: int
    end_column: int

    def contains(self, line: int, column: int) -> bool:
        start = (self.start_line, self.start_column)
        return start <= (line, column) <= (self.end_line, self.end_column)


def span_of(location: Any) -> Span:
    """A location's span, 1-based (protoc stores 0-based `[line, col, end_col]` for one line,
    `[line, col, end_line, end_col]` otherwise)."""
    span = list(location.span)
    if len(span) == 3:
        return Span(span[0] + 1, span[1] + 1, span[0] + 1, span[2] + 1)
    if len(span) == 4:
        return Span(span[0] + 1, span[1] + 1, span[2] + 1, span[3] + 1)
    return Span(0, 0, 0, 0)


def clean_comment(raw: str) -> str:
    """protoc keeps the space after `//` and the line ends: dedent by the common indent, drop
    trailing whitespace and blank lines around the text."""
    lines = [line.rstrip() for line in raw.replace("\r\n", "\n").split("\n")]
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    lines = [line[cut:] for line in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)
