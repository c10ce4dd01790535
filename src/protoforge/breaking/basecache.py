"""The compiled-baseline cache: per-file descriptors of a git baseline, keyed by commit.

A file's FileDescriptorProto depends only on its own text and on the files it can see (its
imports and their `import public`s), all fixed by the commit. So whatever part of a baseline one
run compiled (the touched packages and their imports) stays valid for every later run against the
same commit, and the cache grows file by file: a later check that needs only cached files (and
their cached imports) does not run protoc for the baseline at all.

The key covers the commit id, the proto roots (relative to the repository), the exclude globs and
the tool versions (protoforge, grpcio-tools, protobuf). An entry is one file,
`<cache>/breaking-baselines/<key>.binpb`: a header line with a SHA-256 of the payload, then a
FileDescriptorSet. `<cache>` is the user's cache directory, not the project (see `cachedir`).
Anything unreadable, of another format or with a wrong checksum is a miss, never an error;
writes go through a temporary file and `os.replace`. Only the most recently used entries are
kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from protoforge.cachedir import cache_root
from protoforge.config import Config
from protoforge.paths import atomic_write

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

SUBDIR = "breaking-baselines"
MAGIC = b"protoforge-baseline-cache 1 "
KEEP = 8  # entries kept (most recently used first)


def directory(config: Config) -> Path:
    return cache_root() / SUBDIR


def key(config: Config, repo: Path, commit: str, source_info: bool = False) -> str:
    from importlib.metadata import PackageNotFoundError, version

    from protoforge import __version__

    versions = {"protoforge": __version__}
    for distribution in ("grpcio-tools", "protobuf"):
        try:
            versions[distribution] = version(distribution)
        except PackageNotFoundError:
            versions[distribution] = "absent"
    roots = [
        root.relative_to(repo).as_posix() if root.is_relative_to(repo) else str(root)
        for root in config.proto_roots
    ]
    payload = json.dumps(
        {
            "commit": commit,
            "roots": roots,
            "exclude": list(config.exclude),
            "tools": versions,
            "source_info": source_info,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def load(config: Config, cache_key: str) -> dict[str, FileDescriptorProto]:
    """The cached files of `cache_key` by import path; {} on a miss or a damaged entry."""
    from google.protobuf import descriptor_pb2
    from google.protobuf.message import DecodeError

    path = directory(config) / f"{cache_key}.binpb"
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    header, _, payload = data.partition(b"\n")
    if not header.startswith(MAGIC):
        return {}
    if header[len(MAGIC) :].decode("ascii", "replace") != hashlib.sha256(payload).hexdigest():
        return {}
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(payload)
    except (DecodeError, ValueError, RuntimeError):
        return {}
    found = {f.name: f for f in files.file}
    if "" in found:
        return {}
    with contextlib.suppress(OSError):
        os.utime(path)  # most recently used
    return found


def store(
    config: Config,
    cache_key: str,
    known: Mapping[str, FileDescriptorProto],
    new: Iterable[FileDescriptorProto],
) -> None:
    """Add `new` files to the entry (which already held `known`). Failing to write is not an
    error: the cache is an optimisation."""
    from google.protobuf import descriptor_pb2

    merged = dict(known)
    added = False
    for proto_file in new:
        if proto_file.name not in merged:
            merged[proto_file.name] = proto_file
            added = True
    if not added:
        return
    files = descriptor_pb2.FileDescriptorSet()
    for name in sorted(merged):
        files.file.append(merged[name])
    payload = files.SerializeToString()
    data = MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    target_dir = directory(config)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(target_dir / f"{cache_key}.binpb", data)
        _prune(target_dir)
    except OSError:
        return


def _prune(target_dir: Path) -> None:
    entries = sorted(target_dir.glob("*.binpb"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for stale in entries[KEEP:]:
        stale.unlink(missing_ok=True)
