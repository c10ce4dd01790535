"""Compiled directory baselines, kept by content: a baseline that has not changed is not compiled
again.

A pull request is checked against the same baseline on every run (a checkout of main, a
release's tree), and on a small tree compiling it is a tenth of the check. protoc's output is
fixed by what it is asked to compile (the contracts, in order, below the same roots), the bytes
of every file it reads (the contracts and everything they import) and which root each of those
comes from, and by protoc itself (grpcio-tools' version; the well-known types ship with it). An
entry records exactly that: the key names the roots, the contracts and the tool versions, and
the entry holds a copy of every file in the compiled set next to the set. A lookup re-resolves
each file the way protoc does (the first root that has it, then the well-known types) and
compares its bytes with the copy: anything that differs, appears in front of it or is gone is a
miss. A set that needed the descriptors of installed distributions (a file on no root) is not
kept.

Entries live in `<cache>/breaking-directories/` (see `cachedir`); unreadable, truncated or
damaged entries (a CRC-32 guards the set) are misses, never errors; writes go through a temporary
file and `os.replace`; the 8 most recently used entries are kept. This module imports nothing
heavy: a lookup runs on every check against a directory.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

from protoforge.cachedir import cache_root, later
from protoforge.wire import LENGTH_DELIMITED, fields, length_delimited

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import (see protoforge/__init__.py)
if TYPE_CHECKING:
    from protoforge.source.discover import ContractFile

SUBDIR = "breaking-directories"
MAGIC = b"protoforge-directory-baseline 2\n"  # 2: header and key in marshal, not JSON
KEEP = 8  # entries kept (most recently used first)
WELL_KNOWN = -1  # "root index" of a file that protoc finds among the well-known types


def lookup(
    roots: Sequence[Path], contracts: Sequence[ContractFile], source_info: bool = False
) -> bytes | None:
    """The FileDescriptorSet (imports included, no source info) that compiling `contracts` below
    `roots` gives, if an entry shows that nothing it depends on has changed; else None."""
    key = _key(roots, contracts, source_info)
    path = _entry_path(key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    found = _parse(data, key, roots)
    if found is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used
    return found


def store(
    roots: Sequence[Path],
    contracts: Sequence[ContractFile],
    descriptor_set: bytes,
    source_info: bool = False,
) -> None:
    """Keep `descriptor_set`, compiled from `contracts` below `roots`, with copies of the files it
    was compiled from. Failing to write is not an error: the cache is an optimisation."""
    names = file_names(descriptor_set)
    if not names:
        return
    files: list[list[str | int]] = []
    contents: list[bytes] = []
    for name in names:
        where = _resolve(name, roots)
        if where is None:
            return  # from installed distributions' descriptors: nothing on disk to compare
        content = b""
        if where != WELL_KNOWN:
            try:
                content = (roots[where] / name).read_bytes()
            except OSError:
                return
        files.append([name, where, len(content)])
        contents.append(content)
    key = _key(roots, contracts, source_info)
    header = marshal.dumps(
        {"key": key, "files": files, "set": len(descriptor_set), "crc": zlib.crc32(descriptor_set)}
    )
    data = b"".join([MAGIC, b"%d\n" % len(header), header, *contents, descriptor_set])
    later(lambda: _write(_entry_path(key), data))  # the files are read above, as compiled


def _write(path: Path, data: bytes) -> None:
    from protoforge.paths import atomic_write

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
        _prune(path.parent)
    except OSError:
        return


def file_names(descriptor_set: bytes) -> list[str] | None:
    """The `name` of every file in a serialized FileDescriptorSet, read off the wire format (its
    field 1 holds each FileDescriptorProto, whose field 1 is the name) without the protobuf
    runtime; None if the bytes are not such a set."""
    names: list[str] = []
    try:
        for number, wire_type, value in fields(descriptor_set):
            if (number, wire_type) != (1, LENGTH_DELIMITED):
                return None
            file_start, file_end = length_delimited(descriptor_set, value)
            if file_end > len(descriptor_set):
                return None
            name = _first_name(descriptor_set, file_start, file_end)
            if name is None:
                return None
            names.append(name)
    except (IndexError, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    return names


def _first_name(data: bytes, start: int, end: int) -> str | None:
    for number, wire_type, value in fields(data, start, end):
        if (number, wire_type) == (1, LENGTH_DELIMITED):
            name_start, name_end = length_delimited(data, value)
            return data[name_start:name_end].decode("utf-8")
    return None


def _parse(data: bytes, key: str, roots: Sequence[Path]) -> bytes | None:
    if not data.startswith(MAGIC):
        return None
    size_line, _, rest = data[len(MAGIC) :].partition(b"\n")
    try:
        header_size = int(size_line)
        header = marshal.loads(rest[:header_size])
        if header["key"] != key:
            return None  # another entry with the same file name (a CRC-32 collision)
        position = header_size
        for name, where, size in header["files"]:
            if _resolve(name, roots) != where:
                return None
            copy = rest[position : position + size]
            if where != WELL_KNOWN and (roots[where] / name).read_bytes() != copy:
                return None
            position += size
        descriptor_set = rest[position:]
        if len(descriptor_set) != header["set"] or zlib.crc32(descriptor_set) != header["crc"]:
            return None
    except (OSError, EOFError, ValueError, KeyError, TypeError, IndexError):
        return None
    return descriptor_set


def _resolve(name: str, roots: Sequence[Path]) -> int | None:
    """Where protoc finds `name`: the index of the first root that has it, WELL_KNOWN for the
    well-known types that ship with grpcio-tools, None for neither."""
    for index, root in enumerate(roots):
        if (root / name).is_file():
            return index
    return WELL_KNOWN if (_well_known_types() / name).is_file() else None


def _well_known_types() -> Path:
    import grpc_tools

    return Path(grpc_tools.__file__).parent / "_proto"  # as inprocess.py passes it to protoc


def _key(roots: Sequence[Path], contracts: Sequence[ContractFile], source_info: bool) -> str:
    from grpc_tools import grpc_version

    from protoforge import __version__

    return repr(
        {
            "protoforge": __version__,
            "grpcio-tools": grpc_version.VERSION,
            "source_info": source_info,
            "roots": [str(root) for root in roots],
            "contracts": [contract.name for contract in contracts],
        }
    )


def _entry_path(key: str) -> Path:
    # CRC-32 names the file only; the entry repeats the whole key, so a collision is a miss
    return cache_root() / SUBDIR / f"{zlib.crc32(key.encode()):08x}.bin"


def _prune(directory: Path) -> None:
    entries = sorted(directory.glob("*.bin"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for stale in entries[KEEP:]:
        stale.unlink(missing_ok=True)
