"""The two small images the fast path hands buf: each side's compiled targets, completed with
the untouched files the other side compiled, shaped the same on both sides (whole files and
stubs), serialised dependencies first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto


def closure(
    names: Iterable[str], files: Mapping[str, FileDescriptorProto]
) -> dict[str, FileDescriptorProto] | None:
    """`names` and everything they import, from `files`; None when any of them is missing."""
    found: dict[str, FileDescriptorProto] = {}
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in found:
            continue
        proto_file = files.get(name)
        if proto_file is None:
            return None
        found[name] = proto_file
        stack.extend(proto_file.dependency)
    return found


def complete(
    side: Mapping[str, FileDescriptorProto],
    other: Mapping[str, FileDescriptorProto],
    targets: set[str],
    side_contracts: set[str],
    other_contracts: set[str],
    imports_of: Callable[[str], tuple[str, ...]],
) -> dict[str, FileDescriptorProto]:
    """`side`'s compiled files plus the untouched files that only the other side compiled (as
    imports) and that the full image of this side holds as well: an unchanged contract always,
    another file (a well-known type, an excluded file) when some contract of this side reaches it
    through imports."""
    result = dict(side)
    reachable: set[str] | None = None
    for name, proto_file in other.items():
        if name in result or name in targets:
            continue
        if name in side_contracts:
            result[name] = proto_file
            continue
        if name in other_contracts:
            continue  # only the other side has it: a change, and so a target
        if reachable is None:
            reachable = _reachable(side_contracts, imports_of)
        if name in reachable:
            result[name] = proto_file
    return result


def _reachable(roots: set[str], imports_of: Callable[[str], tuple[str, ...]]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(imports_of(name))
    return seen


def shape(
    targets: set[str], *sides: Mapping[str, FileDescriptorProto]
) -> tuple[set[str], set[str]]:
    """Which files buf gets whole and which as stubs, the same on both sides.

    Whole: the targets and the files they can see (direct imports and `import public` chains),
    because buf's rules look at what a target's field refers to (an enum's values for a default,
    whether a message is a map entry). Stubs: the imports of those, which only have to make the
    image link: buf needs every import in the image, but nothing looks two references away from
    a target. A stub keeps a file's name, package, options, messages (names, nesting, extension
    ranges) and enums; it drops fields, services, extensions and its own imports, so the chain of
    imports (on a large tree most of it) ends there."""
    kept = set(targets)
    frontier = [name for name in targets]
    for name in frontier:  # direct imports of the targets
        for files in sides:
            if name in files:
                kept.update(files[name].dependency)
    grew = True
    while grew:  # and what those re-export
        grew = False
        for files in sides:
            for name in list(kept):
                proto_file = files.get(name)
                if proto_file is None:
                    continue
                for index in proto_file.public_dependency:
                    public = proto_file.dependency[index]
                    if public not in kept:
                        kept.add(public)
                        grew = True
    stubbed: set[str] = set()
    for files in sides:
        for name in kept:
            if name in files:
                stubbed.update(d for d in files[name].dependency if d not in kept)
    return kept, stubbed


def _stub(proto_file: FileDescriptorProto) -> FileDescriptorProto:
    from google.protobuf import descriptor_pb2

    stub = descriptor_pb2.FileDescriptorProto()
    stub.CopyFrom(proto_file)
    for name in (
        "dependency",
        "public_dependency",
        "weak_dependency",
        "service",
        "extension",
        "source_code_info",
    ):
        stub.ClearField(name)

    def strip(message: descriptor_pb2.DescriptorProto) -> None:
        for name in ("field", "extension", "oneof_decl", "options"):
            message.ClearField(name)
        nested = [n for n in message.nested_type if not n.options.map_entry]
        del message.nested_type[:]
        message.nested_type.extend(nested)
        for child in message.nested_type:
            strip(child)

    for message in stub.message_type:
        strip(message)
    return stub


def serialize(
    files: Mapping[str, FileDescriptorProto],
    targets: set[str],
    kept: set[str],
    stubbed: set[str],
) -> bytes:
    """A FileDescriptorSet of the kept files and the stubs, dependencies first. Files other than
    the targets are the same on both sides, so buf finds nothing in them and their source info is
    dropped."""
    if not files:
        return b""
    from google.protobuf import descriptor_pb2

    ordered: list[FileDescriptorProto] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        stack: list[tuple[str, bool]] = [(name, False)]
        while stack:
            current, expanded = stack.pop()
            if current in done or current not in files:
                continue
            if expanded:
                done.add(current)
                if current in kept:
                    ordered.append(files[current])
                elif current in stubbed:
                    ordered.append(_stub(files[current]))
                continue
            stack.append((current, True))
            if current in kept:
                stack.extend((dep, False) for dep in reversed(files[current].dependency))

    for name in sorted(files):
        if name in kept or name in stubbed:
            visit(name)
    result = descriptor_pb2.FileDescriptorSet()
    result.file.extend(ordered)
    for proto_file in result.file:
        if proto_file.name not in targets:
            proto_file.ClearField("source_code_info")
    return result.SerializeToString()
